// Shared settings and generators of the property/fuzz tests.
//
// CI runs a fixed, seeded number of cases so failures reproduce; `FUZZ_SEED` and `FUZZ_RUNS`
// change both (`npm run test:fuzz` runs many more). fast-check prints the seed and the
// shrunk counterexample of a failing property.
import fc from "fast-check";
import type { Parameters } from "fast-check";

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === "") return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

export const FUZZ_SEED = envInt("FUZZ_SEED", 20260136);
export const FUZZ_RUNS = Math.max(1, envInt("FUZZ_RUNS", 500));

/** Assertion parameters: the shared seed and `FUZZ_RUNS` scaled for properties of different cost. */
export function params<T>(scale = 1): Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)) };
}

/** Generous test timeout that grows with the run count (the defaults fit in vitest's 5 s). */
export const TIMEOUT_MS = Math.max(20_000, FUZZ_RUNS * 50);

// ---------------------------------------------------------------------------
// Strings. fast-check's unicode string arbitraries are slow here; these draw from small pools
// that still reach every interesting class: ASCII, XML metacharacters, controls, whitespace,
// combining marks, case-folding letters, astral characters and lone surrogates.

const ASCII = "abcxyzABCXYZ0189-._~";
const META = `<>&"'/@:;=#%[]\\`;
const WHITE = " \t\n\r\u00a0\u2028";
const CONTROL = "\u0000\u0001\u0008\u000b\u000c\u001f\u007f\ufffe\uffff";
const UNICODE = ["é", "e\u0301", "ß", "İ", "ſ", "Ω", "Ω", "中", "ﬁ", "\u200d", "😀", "𝔘"];
const SURROGATES = ["\ud800", "\udfff", "\udc00\ud800"];

const chars = (s: string): string[] => [...s];

/** Characters legal in XML 1.0 (what a server can deliver in a parsed stanza). */
export const legalChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...chars(ASCII)) },
  { weight: 2, arbitrary: fc.constantFrom(...chars(META)) },
  { weight: 1, arbitrary: fc.constantFrom(...chars("\t\n\r \u00a0")) },
  { weight: 2, arbitrary: fc.constantFrom(...UNICODE) },
);

/** Any UTF-16 text, including what XML cannot carry (controls, lone surrogates, U+FFFE). */
export const anyChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: legalChar },
  { weight: 1, arbitrary: fc.constantFrom(...chars(WHITE)) },
  { weight: 1, arbitrary: fc.constantFrom(...chars(CONTROL)) },
  { weight: 1, arbitrary: fc.constantFrom(...SURROGATES) },
);

export const text = (ch: fc.Arbitrary<string>, maxLength = 12, minLength = 0): fc.Arbitrary<string> =>
  fc.array(ch, { minLength, maxLength }).map((a) => a.join(""));

export const legalText = (maxLength = 12, minLength = 0): fc.Arbitrary<string> => text(legalChar, maxLength, minLength);
export const anyText = (maxLength = 12, minLength = 0): fc.Arbitrary<string> => text(anyChar, maxLength, minLength);

// ---------------------------------------------------------------------------
// Values of attributes and RSM elements

const pad = (n: number, w: number): string => String(n).padStart(w, "0");

/** Every XEP-0082 DateTime form: fractions of any length, `Z` or any offset, years 0000 to 9999. */
export const validDate: fc.Arbitrary<string> = fc
  .record({
    y: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1469, 1970, 2000, 2024, 9999)),
    mo: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 31 }),
    h: fc.integer({ min: 0, max: 23 }),
    mi: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    frac: fc.option(fc.stringMatching(/^\d{1,15}$/), { nil: undefined }),
    zone: fc.oneof(
      fc.constant("Z"),
      fc.constantFrom("+00:00", "-00:00", "+05:30", "-05:30", "+14:00", "-12:00", "+23:59", "-23:59"),
      fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(
        ([sg, h, m]) => `${sg}${pad(h, 2)}:${pad(m, 2)}`,
      ),
    ),
  })
  .map(({ y, mo, d, h, mi, s, frac, zone }) => {
    const f = frac === undefined ? "" : `.${frac}`;
    return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${f}${zone}`;
  });

export const garbageDate: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "yesterday",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T23:60:00Z",
    "2024-01-01T23:59:60Z",
    "2024-01-01T00:00:00",
    "2024-01-01t00:00:00z",
    "2024-01-01T00:00:00z",
    "2024-01-01 00:00:00Z",
    "2024-01-01",
    "00:00:00Z",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00+0530",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00+05:60",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "+2024-01-01T00:00:00Z",
    "0000-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-00:01",
    "٢٠٢٤-01-01T00:00:00Z",
    "2024-01-01T00:00:00.123456789012345678901234567890Z",
    "2024-01-01T00:00:00Z\u0000",
    "1e3",
  ),
  anyText(24),
);

export const date: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: validDate },
  { weight: 1, arbitrary: validDate.map((d) => ` ${d}\n`) },
  { weight: 2, arbitrary: garbageDate },
);

export const boolValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("1", "0", "true", "false", " true ") },
  { weight: 1, arbitrary: fc.constantFrom("TRUE", "False", "yes", "no", "", "2", "tru") },
);

export const intValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5000 }).map(String) },
  fc.constantFrom(
    "0", "1", "10", "-1", "-0", "+5", "00", " 7 ", "\t3\n", "1.0", "2.5", "1e3", "0x10", "", "abc", "NaN", "Infinity",
    "2147483647", "2147483648", "4294967296", "9007199254740991", "9007199254740993", "99999999999999999999", "١٢",
  ),
  fc.integer({ min: -1000, max: 100_000 }).map(String),
);

const bigText = (n: number, ch: string): string => ch.repeat(n);

/** RSM `after`/`before` contents: empty, garbage, very long, plausible base64url. */
export const cursorText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", " ", "0", "MW0w", "MWMw", "MWgw", "====", "MW0w\n", bigText(5000, "A"), bigText(4201, "M")),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
  anyText(30),
);

/** JIDs: valid ones in any case, malformed ones, very long parts, unicode, `@` only, empty. */
export const jidValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("juliet@capulet.com", "romeo@montague.net/orchard", "Nurse@Capulet.com", "capulet.com") },
  fc.constantFrom(
    "juliet@capulet.com",
    "juliet@capulet.com/balcony",
    "Juliet@Capulet.COM/Balcony",
    "capulet.com",
    "capulet.com.",
    "[::1]",
    "romeo@[2001:db8::1]/r",
    "é@例え.テスト",
    "e\u0301@x.org",
    "@",
    "",
    "@capulet.com",
    "juliet@",
    "juliet@capulet.com/",
    "a@b@c",
    "a b@c",
    "a@b..c",
    "a@.b",
    "a\\@b",
    "a/b@c",
    "x@y/\u0001",
    "x@y/\ud800",
    "\ud800@y",
    `${bigText(1024, "a")}@x.org`,
    `a@${bigText(1024, "b")}`,
    `a@b/${bigText(1024, "r")}`,
    `${bigText(1023, "a")}@x.org`,
  ),
  fc.tuple(legalText(6, 1), legalText(6, 1), fc.option(legalText(6, 1), { nil: undefined })).map(([l, d, r]) =>
    r === undefined ? `${l}@${d}` : `${l}@${d}/${r}`,
  ),
  anyText(16),
);
