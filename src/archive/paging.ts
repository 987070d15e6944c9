// XEP-0059 arithmetic independent of storage (D7, D8): page size, which way to read, and
// pages over dense positions (messages 0..count-1) or small sorted in-memory sets.
import type { CursorCodec } from "./cursors.ts";
import { messageCursor } from "./cursors.ts";
import type { Page, Parsed, RsmRequest, StanzaError } from "./model.ts";

export interface PagingLimits {
  /** Page size when the request has no `<max/>` (D8, default 100). */
  defaultMax: number;
  /** Largest page served; larger `max` is clamped (D8, default 1000). */
  maxPageSize: number;
}

/** Effective page size: no `max` → defaultMax; above maxPageSize → clamped; 0 → count only; negative → 0. */
export function clampMax(req: RsmRequest, limits: PagingLimits): number {
  const cap = Math.max(0, Math.floor(limits.maxPageSize));
  const wanted = req.max === undefined || !Number.isFinite(req.max) ? limits.defaultMax : Math.floor(req.max);
  return Math.min(cap, Math.max(0, wanted));
}

/**
 * How to read one page. `after`/`before` read `limit` rows strictly after/before the key
 * (a `before` page is read backwards and returned in forward order); `last` is the empty
 * `<before/>`; `count` is `max=0` (no rows, only the count).
 */
export type PagePlan<K> =
  | { kind: "count" }
  | { kind: "first"; limit: number }
  | { kind: "after"; key: K; limit: number }
  | { kind: "before"; key: K; limit: number }
  | { kind: "last"; limit: number }
  | { kind: "index"; index: number; limit: number };

export const itemNotFound = (): StanzaError => ({
  type: "cancel",
  condition: "item-not-found",
  text: "unknown result set UID",
});

/**
 * Chooses the reading from the request. When a request combines several, a non-empty `after`
 * wins, then a non-empty `before`, then `index`, then the empty `<before/>` (XEP-0059 defines
 * no combination; cursors are the precise form, index the explicit jump). An empty `<after/>`
 * is no cursor. A cursor that does not decode is item-not-found (D7); with `max=0` cursors are
 * not looked at.
 */
export function planPage<K>(req: RsmRequest, max: number, decode: (cursor: string) => K | undefined): Parsed<PagePlan<K>> {
  const limit = Math.max(0, Math.floor(max));
  if (limit === 0) return { ok: true, value: { kind: "count" } };
  const withKey = (cursor: string, kind: "after" | "before"): Parsed<PagePlan<K>> => {
    const key = decode(cursor);
    if (key === undefined) return { ok: false, error: itemNotFound() };
    return { ok: true, value: { kind, key, limit } };
  };
  if (req.after !== undefined && req.after !== "") return withKey(req.after, "after");
  if (req.before !== undefined && req.before !== "") return withKey(req.before, "before");
  if (req.index !== undefined) return { ok: true, value: { kind: "index", index: Math.max(0, Math.floor(req.index)), limit } };
  if (req.before === "") return { ok: true, value: { kind: "last", limit } };
  return { ok: true, value: { kind: "first", limit } };
}

/** Half-open range of positions [from, to) in a result set of `count` items. */
export interface PositionRange {
  from: number;
  to: number;
  count: number;
}

/**
 * The range a plan selects, given where the cursor key falls: for `after`, `afterFrom` is the
 * position of the first item greater than the key; for `before`, `beforeTo` is the position of
 * the first item not less than the key. Both work for keys whose item no longer exists.
 */
function rangeOf<K>(plan: PagePlan<K>, count: number, locate: (plan: PagePlan<K>) => number): PositionRange {
  const empty = { from: count, to: count, count };
  switch (plan.kind) {
    case "count":
      return empty;
    case "first":
      return { from: 0, to: Math.min(count, plan.limit), count };
    case "index":
      return plan.index >= count ? empty : { from: plan.index, to: Math.min(count, plan.index + plan.limit), count };
    case "last":
      return { from: Math.max(0, count - plan.limit), to: count, count };
    case "after": {
      const from = Math.min(count, locate(plan));
      return { from, to: Math.min(count, from + plan.limit), count };
    }
    case "before": {
      const to = Math.min(count, locate(plan));
      return { from: Math.max(0, to - plan.limit), to, count };
    }
  }
}

/**
 * Dense positions (a collection's messages numbered 0..count-1), O(1). Message cursors encode
 * the position, so a cursor past the end gives an empty page, never an error.
 */
export function pageOfPositions(count: number, req: RsmRequest, max: number): Parsed<PositionRange> {
  const planned = planPage(req, max, messageCursor.decode);
  if (!planned.ok) return planned;
  const n = Math.max(0, Math.floor(count));
  const range = rangeOf(planned.value, n, (p) => (p.kind === "after" ? p.key + 1 : p.kind === "before" ? p.key : 0));
  return { ok: true, value: range };
}

/** RSM metadata for a position range whose rows were read: first/last UIDs and index only when non-empty. */
export function pageFromRange<T>(range: PositionRange, items: T[]): Page<T> {
  const page: Page<T> = { items, count: range.count };
  if (items.length > 0) {
    page.first = messageCursor.encode(range.from);
    page.last = messageCursor.encode(range.from + items.length - 1);
    page.firstIndex = range.from;
  }
  return page;
}

export interface KeyedCodec<T, K> extends CursorCodec<K> {
  keyOf(item: T): K;
}

/** First index whose key is greater than (`strict`) or not less than `key`. */
function bound<T, K>(sorted: readonly T[], key: K, codec: KeyedCodec<T, K>, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = codec.compare(codec.keyOf(sorted[mid] as T), key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A page of a small set sorted by `codec.compare` (e.g. a user's collections filtered in memory).
 * Cursors of deleted items continue from the position their key encodes (D7).
 */
export function pageOfSorted<T, K>(
  sortedAll: readonly T[],
  codec: KeyedCodec<T, K>,
  req: RsmRequest,
  max: number,
): Parsed<Page<T>> {
  const planned = planPage(req, max, (c) => codec.decode(c));
  if (!planned.ok) return planned;
  const range = rangeOf(planned.value, sortedAll.length, (p) =>
    p.kind === "after" ? bound(sortedAll, p.key, codec, true) : p.kind === "before" ? bound(sortedAll, p.key, codec, false) : 0,
  );
  const items = sortedAll.slice(range.from, range.to);
  const page: Page<T> = { items, count: range.count };
  const firstItem = items[0];
  const lastItem = items[items.length - 1];
  if (firstItem !== undefined && lastItem !== undefined) {
    page.first = codec.encode(codec.keyOf(firstItem));
    page.last = codec.encode(codec.keyOf(lastItem));
    page.firstIndex = range.from;
  }
  return { ok: true, value: page };
}

/**
 * Which positions to read before the collection's count is known, so the item read can run
 * beside the count read: the page's range if the request fixes it (first, index, cursors),
 * the highest `limit` positions for the last page, nothing for a count-only request. The
 * range is a superset of the final one (which {@link pageOfPositions} gives once the count is
 * in); a cursor past the end can make it miss, which {@link readCovers} detects.
 */
export type SpeculativeRead = { kind: "none" } | { kind: "range"; from: number; to: number } | { kind: "tail"; limit: number };

export function speculativeRead(req: RsmRequest, max: number): SpeculativeRead {
  const planned = planPage(req, max, messageCursor.decode);
  if (!planned.ok) return { kind: "none" };
  const p = planned.value;
  switch (p.kind) {
    case "count":
      return { kind: "none" };
    case "first":
      return { kind: "range", from: 0, to: p.limit };
    case "index":
      return { kind: "range", from: p.index, to: p.index + p.limit };
    case "after":
      return { kind: "range", from: p.key + 1, to: p.key + 1 + p.limit };
    case "before":
      return { kind: "range", from: Math.max(0, p.key - p.limit), to: p.key };
    case "last":
      return { kind: "tail", limit: p.limit };
  }
}

/** Whether positions read (ascending or not) include every position of `range`. */
export function readCovers(positions: readonly number[], range: { from: number; to: number }): boolean {
  if (range.to <= range.from) return true;
  const have = new Set(positions);
  for (let p = range.from; p < range.to; p++) if (!have.has(p)) return false;
  return true;
}
