import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { anyUtf16 } from "../support/arbitraries.ts";
import {
  MAX_CURSOR_LENGTH,
  changeCursor,
  collectionCursor,
  compareCodePoints,
  compareCollectionKeys,
  decodeChangeCursor,
  decodeCollectionCursor,
  decodeMessageCursor,
  encodeChangeCursor,
  encodeCollectionCursor,
  encodeMessageCursor,
  messageCursor,
} from "../../../src/archive/cursors.ts";


const SAFE = /^[A-Za-z0-9_-]+$/;

describe("round trips", () => {
  it.each([
    { with: "juliet@capulet.com", start: Date.UTC(1469, 6, 21, 2, 56, 15) },
    { with: "romeo@montague.net/with space/and@at", start: 0 },
    { with: "日本@例え.jp", start: Date.UTC(2024, 1, 29) },
    { with: "a@b", start: -62_135_596_800_000 },
  ])("collection %o", (key) => {
    const c = encodeCollectionCursor(key);
    expect(c).toMatch(SAFE);
    expect(decodeCollectionCursor(c)).toEqual(key);
  });

  it.each([0, 1, 99, 2 ** 31, Number.MAX_SAFE_INTEGER])("message %d", (n) => {
    const c = encodeMessageCursor(n);
    expect(c).toMatch(SAFE);
    expect(decodeMessageCursor(c)).toBe(n);
  });

  it("change", () => {
    const key = { changedAt: 1_700_000_000_123, with: "nurse@capulet.com", start: 1_600_000_000_000 };
    expect(decodeChangeCursor(encodeChangeCursor(key))).toEqual(key);
  });

  it("property: round trips for arbitrary keys", () => {
    const jid = fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
    const int = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(jid, int, int, (w, start, changedAt) => {
        expect(decodeCollectionCursor(encodeCollectionCursor({ with: w, start }))).toEqual({ with: w, start });
        expect(decodeChangeCursor(encodeChangeCursor({ with: w, start, changedAt }))).toEqual({ with: w, start, changedAt });
      }),
    );
  });
});

/** Sets the unused low bits of the last character: the same bytes, but not the canonical text. */
function nonCanonical(cursor: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (cursor.length % 4 === 0) throw new Error("no spare bits");
  const last = alphabet.indexOf(cursor.slice(-1));
  return cursor.slice(0, -1) + alphabet[last + 1];
}

describe("garbage decodes to undefined", () => {
  const coll = encodeCollectionCursor({ with: "a@b", start: 1000 });
  it("the non-canonical case really aliases the same bytes", () => {
    expect(Buffer.from(nonCanonical(coll), "base64url")).toEqual(Buffer.from(coll, "base64url"));
  });
  it.each([
    ["empty", ""],
    ["plain text", "hello"],
    ["spec-style uid", "1469-07-21T02:56:15Zjuliet@capulet.com"],
    ["integer", "99"],
    ["padding", `${coll}=`],
    ["non-canonical trailing bits", nonCanonical(coll)],
    ["too long", "A".repeat(MAX_CURSOR_LENGTH + 4)],
    ["wrong kind", encodeMessageCursor(5)],
    ["standard base64", Buffer.from("1c0 a@b").toString("base64").replace(/=+$/, "") + "+/"],
  ])("collection: %s", (_n, s) => {
    expect(decodeCollectionCursor(s)).toBeUndefined();
  });

  const raw = (text: string): string => Buffer.from(text, "utf8").toString("base64url");
  it.each([
    ["wrong version", raw("2c0 a@b")],
    ["no separator", raw("1c0")],
    ["empty with", raw("1c0 ")],
    ["bad int", raw("1czz!z a@b")],
    ["leading zero", raw("1c01 a@b")],
    ["minus zero", raw("1c-0 a@b")],
    ["too big int", raw("1czzzzzzzzzzz a@b")],
    ["control char", raw("1c0 a@b\u0001")],
    ["invalid utf-8", Buffer.from([0x31, 0x63, 0x30, 0x20, 0xff, 0xfe]).toString("base64url")],
  ])("collection body: %s", (_n, s) => {
    expect(decodeCollectionCursor(s)).toBeUndefined();
  });

  it("message cursors reject negatives and other kinds", () => {
    expect(decodeMessageCursor(raw("1m-1"))).toBeUndefined();
    expect(decodeMessageCursor(coll)).toBeUndefined();
    expect(decodeMessageCursor("0")).toBeUndefined();
    expect(decodeChangeCursor(coll)).toBeUndefined();
    expect(decodeChangeCursor(raw("1h1 a@b"))).toBeUndefined();
  });

  it("property: decoders never throw", () => {
    const anyString = fc.oneof(
      fc.string({ maxLength: 200 }),
      anyUtf16(200),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,80}$/),
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString("base64url")),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(`1c${s}`).toString("base64url")),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(`1h${s}`).toString("base64url")),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(`1m${s}`).toString("base64url")),
    );
    fc.assert(
      fc.property(anyString, (s) => {
        expect(() => decodeCollectionCursor(s)).not.toThrow();
        expect(() => decodeMessageCursor(s)).not.toThrow();
        expect(() => decodeChangeCursor(s)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it("non-string input is undefined too", () => {
    expect(decodeMessageCursor(undefined as unknown as string)).toBeUndefined();
  });
});

describe("ordering", () => {
  it("collections: start, then with", () => {
    expect(compareCollectionKeys({ with: "b", start: 1 }, { with: "a", start: 2 })).toBeLessThan(0);
    expect(compareCollectionKeys({ with: "a", start: 2 }, { with: "b", start: 2 })).toBeLessThan(0);
    expect(compareCollectionKeys({ with: "a", start: 2 }, { with: "a", start: 2 })).toBe(0);
  });
  it("strings compare in code-point (UTF-8 byte) order", () => {
    const pairs: [string, string][] = [
      ["a", "b"],
      ["a", "ab"],
      ["\uffff", "\u{10000}"], // code-unit order would say the opposite
      ["\ue000", "\u{1f600}"],
      ["z", "\u00e9"],
    ];
    for (const [x, y] of pairs) {
      expect(compareCodePoints(x, y)).toBeLessThan(0);
      expect(compareCodePoints(y, x)).toBeGreaterThan(0);
      expect(Buffer.compare(Buffer.from(x), Buffer.from(y))).toBeLessThan(0);
    }
  });
  it("property: agrees with UTF-8 byte order", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });
  it("codecs expose the same compare", () => {
    expect(messageCursor.compare(1, 2)).toBeLessThan(0);
    expect(collectionCursor.compare({ with: "a", start: 1 }, { with: "a", start: 1 })).toBe(0);
    expect(changeCursor.compare({ changedAt: 1, with: "z", start: 9 }, { changedAt: 2, with: "a", start: 0 })).toBeLessThan(0);
    expect(changeCursor.compare({ changedAt: 1, with: "a", start: 9 }, { changedAt: 1, with: "a", start: 10 })).toBeLessThan(0);
  });
});
