// XEP-0082 DateTime parsing and formatting. Times are epoch milliseconds (UTC).

/** 0000-01-01T00:00:00Z: XEP-0136 Ex. 51 uses year 0000 as "before everything". */
export const MIN_TIME = yearZero();
/** 9999-12-31T23:59:59.999Z, the last instant a four-digit year can express. */
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function yearZero(): number {
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
  const d = new Date(0);
  d.setUTCFullYear(0, 0, 1);
  d.setUTCHours(0, 0, 0, 0);
  return d.getTime();
}

const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Parses `CCYY-MM-DDThh:mm:ss[.s+]TZD` (TZD `Z` or `±hh:mm`) into epoch ms.
 * Fractions beyond milliseconds are truncated, so an instant never moves into the next second.
 * Returns null for anything else: other XEP-0082 profiles (Date, Time), a missing zone,
 * out-of-range fields (month 13, hour 24, Feb 30, second 60) and results outside
 * 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z.
 */
export function parseDateTime(s: string): number | null {
  const m = DATETIME_RE.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] !== "Z") {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const frac = m[7] ?? "";
  const ms = frac === "" ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
  const t = utcMs(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  if (t < MIN_TIME || t > MAX_TIME) return null;
  return t;
}

/** Epoch ms of a UTC date and time whose fields are in range (month 1-12). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  // Date.UTC maps years 0..99 to 1900..1999, so those years go through setUTCFullYear; every other
  // year takes the direct path, which allocates nothing (this runs for every archived copy).
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** Whole-second UTC form `YYYY-MM-DDThh:mm:ssZ` (D2); fractions are dropped (floor). */
export function formatDateTime(ms: number): string {
  const iso = new Date(floorToSecond(ms)).toISOString();
  return iso.slice(0, -5) + "Z";
}

/** Millisecond UTC form `YYYY-MM-DDThh:mm:ss.sssZ`, for delay stamps. */
export function formatDateTimeMs(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/** Rounds an instant down to its whole second (also for times before 1970). */
export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
