// Walks over random result sets with a page size that changes on every request, over keys that
// tie on `start` and JIDs whose UTF-16 and code-point orders differ, and with items removed
// while the walk is under way (test/unit/archive/paging.test.ts covers fixed sets and sizes).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { changeCursor, collectionCursor, type ChangeKey } from "../../../src/archive/cursors.ts";
import type { CollectionKey, Page, RsmRequest } from "../../../src/archive/model.ts";
import { clampMax, pageFromRange, pageOfPositions, pageOfSorted, type KeyedCodec } from "../../../src/archive/paging.ts";
import { params, TIMEOUT_MS } from "./support.ts";

const LIMITS = { defaultMax: 7, maxPageSize: 40 };

const peer = fc.constantFrom("a@x", "b@x", "B@x", "a@x/r", "\uffee@x", "😀@x", "𝔘@x", "中@x", "x", "é@x", "e\u0301@x");
const collections = fc
  .array(fc.record({ with: peer, start: fc.integer({ min: -5, max: 30 }).map((s) => s * 1000) }), { maxLength: 80, size: "max" })
  .map((ks) => dedupe(ks, collectionCursor.compare));
const changes = fc
  .array(fc.record({ with: peer, start: fc.integer({ min: 0, max: 5 }).map((s) => s * 1000), changedAt: fc.integer({ min: 0, max: 20 }) }), {
    maxLength: 80,
    size: "max",
  })
  .map((ks) => dedupe(ks, changeCursor.compare));

function dedupe<K>(keys: K[], compare: (a: K, b: K) => number): K[] {
  const sorted = [...keys].sort(compare);
  return sorted.filter((k, i) => i === 0 || compare(sorted[i - 1] as K, k) !== 0);
}

/** One request's `max`: absent, in range, zero-free (a zero page ends nothing), or above the cap. */
const maxes = fc.array(fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }), { minLength: 1, maxLength: 20 });

function walk<K>(all: K[], codec: KeyedCodec<K, K>, sizes: (number | undefined)[], backward: boolean, removeAt?: (step: number, set: K[]) => K[]): K[][] {
  const pages: K[][] = [];
  let set = all;
  let req: RsmRequest = backward ? { before: "" } : {};
  for (let step = 0; step <= all.length + 1; step++) {
    const size = sizes[step % sizes.length];
    const r: RsmRequest = size === undefined ? req : { ...req, max: size };
    const res = pageOfSorted(set, codec, r, clampMax(r, LIMITS));
    if (!res.ok) throw new Error(`cursor of a page was refused: ${res.error.condition}`);
    const page: Page<K> = res.value;
    expect(page.count).toBe(set.length);
    if (page.items.length === 0) return pages;
    expect(page.items.length).toBeLessThanOrEqual(clampMax(r, LIMITS));
    expect(codec.decode(page.first ?? "")).toEqual(page.items[0]);
    expect(codec.decode(page.last ?? "")).toEqual(page.items[page.items.length - 1]);
    expect(page.items).toEqual(set.slice(page.firstIndex, (page.firstIndex ?? 0) + page.items.length));
    if (backward) pages.unshift(page.items);
    else pages.push(page.items);
    req = backward ? { before: page.first ?? "" } : { after: page.last ?? "" };
    if (removeAt) set = removeAt(step, set);
  }
  throw new Error("walk did not end");
}

const collCodec: KeyedCodec<CollectionKey, CollectionKey> = { ...collectionCursor, keyOf: (k) => ({ with: k.with, start: k.start }) };
const changeCodec: KeyedCodec<ChangeKey, ChangeKey> = {
  ...changeCursor,
  keyOf: (k) => ({ changedAt: k.changedAt, with: k.with, start: k.start }),
};

describe("RSM walks over random sorted sets (fuzz)", () => {
  it(
    "forward with <after/> and backward from the empty <before/> visit every collection once, in order",
    () => {
      fc.assert(
        fc.property(collections, maxes, fc.boolean(), (all, sizes, backward) => {
          expect(walk(all, collCodec, sizes, backward).flat()).toEqual(all);
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "the same for the replication log",
    () => {
      fc.assert(
        fc.property(changes, maxes, fc.boolean(), (all, sizes, backward) => {
          expect(walk(all, changeCodec, sizes, backward).flat()).toEqual(all);
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "items removed during a walk: no duplicates, order kept, and everything that stayed is visited",
    () => {
      fc.assert(
        fc.property(collections, maxes, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (all, sizes, backward, removals) => {
          const removed: CollectionKey[] = [];
          const seen = walk(all, collCodec, sizes, backward, (step, set) => {
            const pick = removals[step];
            if (pick === undefined || set.length === 0) return set;
            removed.push(set[pick % set.length] as CollectionKey);
            return set.filter((_, i) => i !== pick % set.length);
          }).flat();
          for (let i = 1; i < seen.length; i++) expect(collectionCursor.compare(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
          const stayed = all.filter((k) => !removed.includes(k));
          for (const k of stayed) expect(seen).toContainEqual(k);
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "message positions: changing page sizes still visit 0..count-1 once, both ways",
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 300 }), maxes, fc.boolean(), (count, sizes, backward) => {
          const pages: number[][] = [];
          let req: RsmRequest = backward ? { before: "" } : {};
          for (let step = 0; step <= count + 1; step++) {
            const size = sizes[step % sizes.length];
            const r: RsmRequest = size === undefined ? req : { ...req, max: size };
            const range = pageOfPositions(count, r, clampMax(r, LIMITS));
            if (!range.ok) throw new Error("position cursor refused");
            const page = pageFromRange(range.value, Array.from({ length: range.value.to - range.value.from }, (_, i) => range.value.from + i));
            if (page.items.length === 0) break;
            if (backward) pages.unshift(page.items);
            else pages.push(page.items);
            req = backward ? { before: page.first ?? "" } : { after: page.last ?? "" };
          }
          expect(pages.flat()).toEqual(Array.from({ length: count }, (_, i) => i));
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it("cursors round-trip for every key, and garbage never decodes to something that re-encodes differently", () => {
    fc.assert(
      fc.property(collections, changes, fc.string({ maxLength: 40 }), (cs, hs, garbage) => {
        for (const k of cs) expect(collectionCursor.decode(collectionCursor.encode(k))).toEqual(k);
        for (const k of hs) expect(changeCursor.decode(changeCursor.encode(k))).toEqual(k);
        const c = collectionCursor.decode(garbage);
        if (c !== undefined) expect(collectionCursor.encode(c)).toBe(garbage);
        const h = changeCursor.decode(garbage);
        if (h !== undefined) expect(changeCursor.encode(h)).toBe(garbage);
      }),
      params(),
    );
  }, TIMEOUT_MS);
});
