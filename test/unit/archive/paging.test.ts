import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { collectionCursor, encodeMessageCursor, messageCursor } from "../../../src/archive/cursors.ts";
import type { CollectionKey, Page, Parsed, RsmRequest } from "../../../src/archive/model.ts";
import {
  clampMax,
  pageFromRange,
  pageOfPositions,
  pageOfSorted,
  planPage,
  readCovers,
  speculativeRead,
} from "../../../src/archive/paging.ts";
import type { KeyedCodec, PositionRange } from "../../../src/archive/paging.ts";

const limits = { defaultMax: 100, maxPageSize: 1000 };
const ok = <T>(r: Parsed<T>): T => {
  if (!r.ok) throw new Error(`unexpected error ${r.error.condition}`);
  return r.value;
};
const pos = (count: number, req: RsmRequest, max: number): PositionRange => ok(pageOfPositions(count, req, max));
const m = encodeMessageCursor;

describe("clampMax (D8)", () => {
  it.each([
    [{}, 100],
    [{ max: 10 }, 10],
    [{ max: 0 }, 0],
    [{ max: 1000 }, 1000],
    [{ max: 5000 }, 1000],
    [{ max: -3 }, 0],
    [{ max: 2.7 }, 2],
  ] as [RsmRequest, number][])("%o → %d", (req, want) => {
    expect(clampMax(req, limits)).toBe(want);
  });
  it("a default above the cap is clamped too", () => {
    expect(clampMax({}, { defaultMax: 50, maxPageSize: 20 })).toBe(20);
  });
});

describe("planPage", () => {
  const dec = (s: string): number | undefined => messageCursor.decode(s);
  it.each([
    [{}, 10, { kind: "first", limit: 10 }],
    [{ max: 0, after: "garbage" }, 0, { kind: "count" }],
    [{ after: m(3) }, 10, { kind: "after", key: 3, limit: 10 }],
    [{ after: "" }, 10, { kind: "first", limit: 10 }],
    [{ before: m(3) }, 10, { kind: "before", key: 3, limit: 10 }],
    [{ before: "" }, 10, { kind: "last", limit: 10 }],
    [{ index: 7 }, 10, { kind: "index", index: 7, limit: 10 }],
    [{ index: 7, before: "" }, 10, { kind: "index", index: 7, limit: 10 }],
    [{ index: 7, after: m(1) }, 10, { kind: "after", key: 1, limit: 10 }],
    [{ after: m(1), before: m(9) }, 10, { kind: "after", key: 1, limit: 10 }],
  ] as [RsmRequest, number, unknown][])("%o", (req, max, want) => {
    expect(ok(planPage(req, max, dec))).toEqual(want);
  });
  it("an undecodable cursor is item-not-found, cancel (D7)", () => {
    for (const req of [{ after: "nope" }, { before: "nope" }]) {
      const r = planPage(req, 10, dec);
      expect(r.ok ? undefined : r.error).toMatchObject({ type: "cancel", condition: "item-not-found" });
    }
  });
});

describe("pageOfPositions", () => {
  it.each([
    ["first page", 217, {}, 100, [0, 100]],
    ["middle page", 217, { after: m(99) }, 100, [100, 200]],
    ["last partial page", 217, { after: m(199) }, 100, [200, 217]],
    ["after the last item", 217, { after: m(216) }, 100, [217, 217]],
    ["after a stale position past the end", 217, { after: m(5000) }, 100, [217, 217]],
    ["empty before: last page", 217, { before: "" }, 100, [117, 217]],
    ["before a position", 217, { before: m(117) }, 100, [17, 117]],
    ["before near the start", 217, { before: m(17) }, 100, [0, 17]],
    ["before the first", 217, { before: m(0) }, 100, [0, 0]],
    ["before past the end", 217, { before: m(999) }, 10, [207, 217]],
    ["index", 217, { index: 50 }, 10, [50, 60]],
    ["index at count", 217, { index: 217 }, 10, [217, 217]],
    ["index beyond count", 217, { index: 300 }, 10, [217, 217]],
    ["max=0", 217, { max: 0 }, 0, [217, 217]],
    ["empty set", 0, {}, 10, [0, 0]],
    ["empty set, last page", 0, { before: "" }, 10, [0, 0]],
    ["small set, last page", 3, { before: "" }, 10, [0, 3]],
  ] as [string, number, RsmRequest, number, [number, number]][])("%s", (_n, count, req, max, [from, to]) => {
    const r = pos(count, req, max);
    expect([r.from, r.to]).toEqual([from, to]);
    expect(r.count).toBe(count);
  });

  it("garbage cursor is item-not-found", () => {
    expect(pageOfPositions(10, { after: "x" }, 5).ok).toBe(false);
  });

  it("pageFromRange: UIDs and index only when non-empty", () => {
    const r = pos(217, { after: m(99) }, 100);
    const page = pageFromRange(r, Array.from({ length: r.to - r.from }, (_, i) => r.from + i));
    expect(page).toMatchObject({ first: m(100), last: m(199), firstIndex: 100, count: 217 });
    expect(messageCursor.decode(page.last!)).toBe(199);
    expect(pageFromRange(pos(217, { index: 300 }, 10), [])).toEqual({ items: [], count: 217 });
    const one = pageFromRange(pos(1, {}, 10), ["x"]);
    expect(one.first).toBe(one.last);
  });

  it("property: walking forward with after visits every position once, in order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 60 }), (count, max) => {
        const seen: number[] = [];
        let req: RsmRequest = {};
        for (let guard = 0; guard <= count + 1; guard++) {
          const r = pos(count, req, max);
          const page = pageFromRange(r, Array.from({ length: r.to - r.from }, (_, i) => r.from + i));
          if (page.items.length === 0) break;
          expect(page.items.length).toBeLessThanOrEqual(max);
          expect(page.firstIndex).toBe(page.items[0]);
          seen.push(...page.items);
          req = { after: page.last! };
        }
        expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
      }),
    );
  });

  it("property: walking backward with before from the empty before visits every position once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 60 }), (count, max) => {
        const pages: number[][] = [];
        let req: RsmRequest = { before: "" };
        for (let guard = 0; guard <= count + 1; guard++) {
          const r = pos(count, req, max);
          const page = pageFromRange(r, Array.from({ length: r.to - r.from }, (_, i) => r.from + i));
          if (page.items.length === 0) break;
          pages.unshift(page.items);
          req = { before: page.first! };
        }
        expect(pages.flat()).toEqual(Array.from({ length: count }, (_, i) => i));
      }),
    );
  });
});

describe("pageOfSorted", () => {
  type Coll = CollectionKey & { version: number };
  const codec: KeyedCodec<Coll, CollectionKey> = { ...collectionCursor, keyOf: (c) => ({ with: c.with, start: c.start }) };
  const all: Coll[] = Array.from({ length: 25 }, (_, i) => ({
    with: `peer${i % 3}@example.com`,
    start: 1000 * Math.floor(i / 2), // pairs share a start: the tie-break by with matters
    version: i,
  })).sort((a, b) => collectionCursor.compare(a, b));
  const page = (req: RsmRequest, max: number): Page<Coll> => ok(pageOfSorted(all, codec, req, max));

  it("first page", () => {
    const p = page({}, 10);
    expect(p.items).toEqual(all.slice(0, 10));
    expect(p).toMatchObject({ firstIndex: 0, count: 25 });
    expect(collectionCursor.decode(p.last!)).toEqual(codec.keyOf(all[9]!));
  });
  it("middle, last and empty pages", () => {
    const p1 = page({}, 10);
    expect(page({ after: p1.last! }, 10).items).toEqual(all.slice(10, 20));
    expect(page({ before: "" }, 10)).toMatchObject({ items: all.slice(15), firstIndex: 15 });
    const end = page({ after: collectionCursor.encode(codec.keyOf(all[24]!)) }, 10);
    expect(end).toEqual({ items: [], count: 25 });
    expect(page({ index: 30 }, 10)).toEqual({ items: [], count: 25 });
    expect(page({ index: 20 }, 10)).toMatchObject({ items: all.slice(20), firstIndex: 20 });
    expect(page({ max: 0 }, 0)).toEqual({ items: [], count: 25 });
  });
  it("a cursor of a deleted item continues from its position (D7)", () => {
    const gone = all[12]!;
    const rest = all.filter((c) => c !== gone);
    const cursor = collectionCursor.encode(codec.keyOf(gone));
    const after = ok(pageOfSorted(rest, codec, { after: cursor }, 3));
    expect(after.items).toEqual(all.slice(13, 16));
    expect(after.firstIndex).toBe(12);
    const before = ok(pageOfSorted(rest, codec, { before: cursor }, 3));
    expect(before.items).toEqual(all.slice(9, 12));
    // A key between existing ones (never present) works the same way.
    const between = collectionCursor.encode({ with: "peer0@example.com", start: 5500 });
    expect(ok(pageOfSorted(all, codec, { after: between }, 100)).items.every((c) => c.start >= 6000)).toBe(true);
  });
  it("a garbage cursor is item-not-found", () => {
    const r = pageOfSorted(all, codec, { before: "garbage" }, 3);
    expect(r.ok ? undefined : r.error.condition).toBe("item-not-found");
  });
  it("property: forward and backward walks visit everything once, in order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), (max) => {
        const fwd: Coll[] = [];
        let req: RsmRequest = {};
        for (;;) {
          const p = page(req, max);
          if (p.items.length === 0) break;
          fwd.push(...p.items);
          req = { after: p.last! };
        }
        expect(fwd).toEqual(all);
        const back: Coll[][] = [];
        req = { before: "" };
        for (;;) {
          const p = page(req, max);
          if (p.items.length === 0) break;
          back.unshift(p.items);
          req = { before: p.first! };
        }
        expect(back.flat()).toEqual(all);
      }),
    );
  });
});

describe("speculativeRead: positions read before the count is known", () => {
  const rsm = fc.record(
    {
      max: fc.integer({ min: -5, max: 50 }),
      index: fc.integer({ min: 0, max: 80 }),
      after: fc.oneof(fc.constant(""), fc.integer({ min: 0, max: 80 }).map(encodeMessageCursor)),
      before: fc.oneof(fc.constant(""), fc.integer({ min: 0, max: 80 }).map(encodeMessageCursor)),
    },
    { requiredKeys: [] },
  );

  it("reads nothing for a count-only request and the tail for the last page", () => {
    expect(speculativeRead({ max: 0 }, 0)).toEqual({ kind: "none" });
    expect(speculativeRead({ before: "" }, 10)).toEqual({ kind: "tail", limit: 10 });
    expect(speculativeRead({}, 10)).toEqual({ kind: "range", from: 0, to: 10 });
    expect(speculativeRead({ after: encodeMessageCursor(4) }, 10)).toEqual({ kind: "range", from: 5, to: 15 });
  });

  it("covers the final range whenever the count does not cut the request short", () => {
    fc.assert(
      fc.property(rsm, fc.integer({ min: 0, max: 100 }), (req: RsmRequest, count) => {
        const max = clampMax(req, limits);
        const final = pageOfPositions(count, req, max);
        if (!final.ok) return;
        const guess = speculativeRead(req, max);
        const positions =
          guess.kind === "range"
            ? range(guess.from, Math.min(guess.to, count))
            : guess.kind === "tail"
              ? range(Math.max(0, count - guess.limit), count)
              : [];
        const { from, to } = final.value;
        // Whenever the guess misses, readCovers says so and the caller reads again.
        const covered = readCovers(positions, { from, to });
        const needed = range(from, to);
        expect(covered).toBe(needed.every((p) => positions.includes(p)));
        // A cursor inside the collection never needs the second read.
        const cursor = req.after || req.before;
        if (!cursor || Number(messageCursor.decode(cursor)) <= count) expect(covered).toBe(true);
      }),
    );
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
