import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  MAX_TIME,
  MIN_TIME,
  floorToSecond,
  formatDateTime,
  formatDateTimeMs,
  parseDateTime,
} from "../../../src/protocol/datetime.ts";

describe("parseDateTime", () => {
  const valid: [string, string][] = [
    ["1469-07-21T02:56:15Z", "1469-07-21T02:56:15.000Z"],
    ["1469-07-21T02:56:15.000Z", "1469-07-21T02:56:15.000Z"],
    ["1469-07-21T02:56:15.5Z", "1469-07-21T02:56:15.500Z"],
    ["1469-07-21T02:56:15.123Z", "1469-07-21T02:56:15.123Z"],
    ["1469-07-21T02:56:15.123456Z", "1469-07-21T02:56:15.123Z"],
    ["1469-07-21T02:56:15.999999999Z", "1469-07-21T02:56:15.999Z"],
    ["1469-07-21T02:56:15+00:00", "1469-07-21T02:56:15.000Z"],
    ["1469-07-21T02:56:15-00:00", "1469-07-21T02:56:15.000Z"],
    ["1469-07-21T04:56:15+02:00", "1469-07-21T02:56:15.000Z"],
    ["1469-07-20T21:26:15-05:30", "1469-07-21T02:56:15.000Z"],
    ["2024-02-29T23:59:59Z", "2024-02-29T23:59:59.000Z"],
    ["2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"],
    ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"],
    ["0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"],
    ["0000-02-29T12:00:00Z", "0000-02-29T12:00:00.000Z"],
    ["0099-12-31T23:59:59Z", "0099-12-31T23:59:59.000Z"],
    ["0100-01-01T00:00:00Z", "0100-01-01T00:00:00.000Z"],
    ["0100-01-01T00:30:00+01:00", "0099-12-31T23:30:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    ["2038-01-01T00:00:00Z", "2038-01-01T00:00:00.000Z"],
    ["2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00.000Z"],
  ];
  it.each(valid)("%s", (input, iso) => {
    expect(parseDateTime(input)).toBe(Date.parse(iso));
  });

  it("year 0000 is not mapped to 1900", () => {
    expect(parseDateTime("0000-01-01T00:00:00Z")).toBe(MIN_TIME);
    expect(parseDateTime("0050-06-01T00:00:00Z")).toBeLessThan(Date.parse("0100-01-01T00:00:00Z"));
  });

  it("truncates fractions so instants stay in their second (also before 1970)", () => {
    expect(parseDateTime("1969-12-31T23:59:59.9999Z")).toBe(-1);
    expect(floorToSecond(parseDateTime("1469-07-21T02:56:15.9999Z") ?? 0)).toBe(Date.parse("1469-07-21T02:56:15Z"));
  });

  const invalid = [
    "",
    "garbage",
    "1469-07-21",
    "02:56:15Z",
    "1469-07-21T02:56:15",
    "1469-07-21T02:56Z",
    "1469-07-21 02:56:15Z",
    "1469-07-21t02:56:15Z",
    "1469-07-21T02:56:15z",
    "1469-07-21T02:56:15.Z",
    "1469-07-21T02:56:15,5Z",
    "1469-7-21T02:56:15Z",
    "69-07-21T02:56:15Z",
    "+1469-07-21T02:56:15Z",
    "-0001-01-01T00:00:00Z",
    "11469-07-21T02:56:15Z",
    "1469-13-01T00:00:00Z",
    "1469-00-01T00:00:00Z",
    "1469-01-00T00:00:00Z",
    "1469-01-32T00:00:00Z",
    "1469-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "1469-04-31T00:00:00Z",
    "1469-07-21T24:00:00Z",
    "1469-07-21T23:60:00Z",
    "1469-07-21T23:59:60Z",
    "1469-07-21T02:56:15+0200",
    "1469-07-21T02:56:15+02",
    "1469-07-21T02:56:15+24:00",
    "1469-07-21T02:56:15+02:60",
    "1469-07-21T02:56:15ZZ",
    " 1469-07-21T02:56:15Z",
    "1469-07-21T02:56:15Z ",
    "１４６９-07-21T02:56:15Z",
    "0000-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-00:01",
  ];
  it.each(invalid)("rejects %j", (input) => {
    expect(parseDateTime(input)).toBeNull();
  });
});

describe("formatDateTime", () => {
  it("emits whole-second UTC with Z", () => {
    expect(formatDateTime(Date.parse("1469-07-21T02:56:15.789Z"))).toBe("1469-07-21T02:56:15Z");
    expect(formatDateTime(0)).toBe("1970-01-01T00:00:00Z");
    expect(formatDateTime(-1)).toBe("1969-12-31T23:59:59Z");
    expect(formatDateTime(MIN_TIME)).toBe("0000-01-01T00:00:00Z");
    expect(formatDateTime(MAX_TIME)).toBe("9999-12-31T23:59:59Z");
  });
  it("millisecond variant", () => {
    expect(formatDateTimeMs(Date.parse("2024-05-06T07:08:09.012Z"))).toBe("2024-05-06T07:08:09.012Z");
    expect(formatDateTimeMs(0)).toBe("1970-01-01T00:00:00.000Z");
  });
  it("format ∘ parse is the identity on whole seconds (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_TIME / 1000, max: Math.floor(MAX_TIME / 1000) }), (secs) => {
        const ms = secs * 1000;
        const s = formatDateTime(ms);
        expect(s).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        expect(parseDateTime(s)).toBe(ms);
        expect(formatDateTime(parseDateTime(s) ?? Number.NaN)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
  it("millisecond format round-trips (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_TIME, max: MAX_TIME }), (ms) => {
        expect(parseDateTime(formatDateTimeMs(ms))).toBe(ms);
      }),
      { numRuns: 1000 },
    );
  });
});
