import type { Element } from "@xmpp/xml";
import { changeCursor, collectionCursor, type ChangeKey } from "../archive/cursors.ts";
import type { ArchiveRequest, Change, CollectionKey, CollectionMeta, Page, Parsed, StanzaError } from "../archive/model.ts";
import {
  clampMax,
  pageFromRange,
  pageOfPositions,
  pageOfSorted,
  readCovers,
  speculativeRead,
  type PagingLimits,
} from "../archive/paging.ts";
import { timeItems } from "../archive/secs.ts";
import { itemNotFound } from "../protocol/errors.ts";
import { chatHeader, chatHeaderSizeBound, chatItemSizeBound, renderChat, renderChatItem, renderChange, renderList, renderModified } from "../protocol/render.ts";
import { byteLength, fitToBudget } from "../protocol/size.ts";
import type { ArchiveStore, CollectionRows, PositionedItem } from "../store/archive-store.ts";
import { STORAGE_LEVEL } from "../store/storage-level.ts";
import type { ClusterLevel } from "../cluster/levels.ts";
import { selectKeys } from "../actors/collection-filter.ts";
import { compareCollectionKeys } from "../archive/cursors.ts";
import { ListKeyCache } from "./list-key-cache.ts";

export interface QueryLimits extends PagingLimits {
  /** Collection keys kept in memory over all users (0 turns the cache off). */
  listCacheKeys?: number;
  /** Longest a user's cached keys are used (bounds how long TTL-expired collections still count). */
  listCacheMaxAgeMs?: number;
  /** Largest answer payload in bytes (the page is cut short before it). */
  maxReplyBytes: number;
  changeRetentionMs: number;
}

type Result = { payload: Element } | { error: StanzaError };

// Room left for the IQ and delegation envelopes and the RSM <set/> around a page.
const ENVELOPE_BYTES = 2048;

/**
 * Answers list, retrieve and modified straight from Cassandra on whichever node holds
 * the XMPP stream. Retrieve pages cost O(page) at any depth (dense positions).
 */
export class QueryService {
  private readonly listKeys: ListKeyCache;

  constructor(
    private readonly store: ArchiveStore,
    private readonly limits: QueryLimits,
    /** The cluster's storage level (a service on its own assumes every writer is current). */
    private readonly clusterLevel: () => ClusterLevel = () => ({ level: STORAGE_LEVEL, generation: 0 }),
  ) {
    this.listKeys = new ListKeyCache(limits.listCacheKeys ?? 1_000_000, limits.listCacheMaxAgeMs ?? 60_000);
  }

  async answer(owner: string, req: ArchiveRequest): Promise<Result> {
    switch (req.op) {
      case "list":
        return this.list(owner, req);
      case "retrieve":
        return this.retrieve(owner, req);
      case "modified":
        return this.modified(owner, req);
      default:
        return { error: { type: "modify", condition: "bad-request" } };
    }
  }

  private budget(): number {
    return this.limits.maxReplyBytes - ENVELOPE_BYTES;
  }

  /**
   * The user's collection keys (to count the list and find the page) come from memory while
   * the user's list stamp is unchanged, else from one key scan; the page's rows are read by key
   * range. Once every node keeps the stamp in the collections partition, the page's read
   * returns it with the rows, and a page from cached keys is one read; before that (or for a
   * user whose stamp no node of this version has written yet) the stamp's own row is read
   * side by side with the page.
   */
  private async list(owner: string, req: Extract<ArchiveRequest, { op: "list" }>): Promise<Result> {
    const max = clampMax(req.rsm, this.limits);
    const locate = (all: readonly CollectionKey[]) =>
      pageOfSorted(selectKeys(req, all), { ...collectionCursor, keyOf: (k: CollectionKey) => k }, req.rsm, max);
    const cluster = this.clusterLevel();
    const stampsShared = cluster.level >= 1;
    const cached = this.listKeys.get(owner);
    const oneRead = stampsShared && cached?.generation !== undefined && cached.generation === cluster.generation;
    const version = cached && !oneRead ? settle(this.store.listVersion(owner)) : undefined;
    const guess = cached ? locate(cached.keys) : undefined;
    const early = guess?.ok && guess.value.items.length > 0 ? settle(this.pageRows(owner, req, guess.value.items)) : undefined;
    let paged: Parsed<Page<CollectionKey>> | undefined;
    let metas: CollectionMeta[] | undefined;
    if (cached && guess) {
      const got = early ? await early : undefined;
      let current: string;
      if (oneRead) {
        // No rows read (an empty page, or the read failed) or no stamp in them: the stamp alone.
        current = (got?.ok ? got.value.stamp : undefined) ?? (await this.store.listStamp(owner));
      } else {
        current = unwrap(await version!);
      }
      if (current === cached.version) {
        paged = guess;
        if (got?.ok) metas = got.value.metas;
      }
    }
    if (!paged) {
      // The stamp is read before the keys, so the keys are at least as new as the stamp.
      let stamp = stampsShared ? await this.store.listStamp(owner) : "";
      const inPartition = stamp !== "";
      if (!inPartition) stamp = version ? unwrap(await version) : await this.store.listVersion(owner);
      const all = await this.store.scanCollectionKeys(owner, {});
      all.sort(compareCollectionKeys);
      this.listKeys.set(owner, stamp, all, inPartition ? cluster.generation : undefined);
      paged = locate(all);
    }
    if (!paged.ok) return { error: paged.error };
    metas ??= (await this.pageRows(owner, req, paged.value.items)).metas;
    const page: Page<CollectionMeta> = { ...paged.value, items: metas };
    const [m0, mN] = [metas[0], metas[metas.length - 1]];
    if (metas.length < paged.value.items.length && m0 && mN) {
      page.first = collectionCursor.encode({ with: m0.with, start: m0.start });
      page.last = collectionCursor.encode({ with: mN.with, start: mN.start });
    }
    const out = cut(page, (c) => chatHeader(c), this.budget(), isBackward(req.rsm), (c) => collectionCursor.encode({ with: c.with, start: c.start }), chatHeaderSizeBound);
    return { payload: renderList(out) };
  }

  /**
   * The rows of the page's keys, in order, with the partition's list stamp; a collection
   * removed since the key scan is left out. Without `with` the page's keys are consecutive and
   * read as one range; with it they may be far apart among other peers' collections, and are
   * read by key.
   */
  private async pageRows(owner: string, req: Extract<ArchiveRequest, { op: "list" }>, keys: CollectionKey[]): Promise<CollectionRows> {
    const first = keys[0];
    const last = keys[keys.length - 1];
    if (!first || !last) return { metas: [], stamp: undefined };
    const got = req.with !== undefined ? await this.store.readCollections(owner, keys) : await this.store.readCollectionRange(owner, first, last);
    const byKey = new Map(got.metas.map((m) => [`${m.start}|${m.with}`, m]));
    return { metas: keys.map((k) => byKey.get(`${k.start}|${k.with}`)).filter((m): m is CollectionMeta => m !== undefined), stamp: got.stamp };
  }

  /**
   * The collection row and the page's items are read side by side: the items' positions follow
   * from the request alone, except near the end, where the count decides and a second read
   * may follow.
   */
  private async retrieve(owner: string, req: Extract<ArchiveRequest, { op: "retrieve" }>): Promise<Result> {
    const key = { with: req.with, start: req.start };
    const max = clampMax(req.rsm, this.limits);
    const guess = speculativeRead(req.rsm, max);
    const early: Promise<PositionedItem[]> =
      guess.kind === "range"
        ? this.store.readPositioned(owner, key, guess)
        : guess.kind === "tail"
          ? this.store.readPositioned(owner, key, { last: guess.limit })
          : Promise.resolve([]);
    const earlySettled = settle(early);
    const meta = await this.store.getCollection(owner, key);
    if (!meta) return { error: itemNotFound() };
    const range = pageOfPositions(meta.count, req.rsm, max);
    if (!range.ok) return { error: range.error };
    const { from, to } = range.value;
    const got = await earlySettled;
    let positioned = got.ok ? got.value.filter((p) => p.pos >= from && p.pos < to) : [];
    if (!got.ok || !readCovers(positioned.map((p) => p.pos), { from, to })) {
      positioned = await this.store.readPositioned(owner, meta, { from, to });
    }
    const items = positioned.map((p) => p.item);
    const backward = isBackward(req.rsm);
    const headerBytes = byteLength(renderChat(meta, { items: [], count: meta.count }, from === 0));
    // Each item is rendered once: its size decides the cut, and the same element is sent.
    const timed = timeItems(meta.start, items);
    const rendered = timed.map(renderChatItem);
    const room = this.budget() - headerBytes;
    // Serializing every item just to measure it is skipped when a generous bound fits.
    const bound = items.reduce((sum, it) => sum + chatItemSizeBound(it), 0);
    const sizes = bound <= room ? undefined : rendered.map((el) => byteLength(el));
    const n = items.length === 0 ? 0 : !sizes ? items.length : Math.max(1, fitSizes(backward ? [...sizes].reverse() : sizes, room));
    const keepFrom = backward ? from + (items.length - n) : from;
    const lo = keepFrom - from;
    // D5: every page's first element counts from the collection's start, so a page cut at its
    // front is timed again; a page cut at its end keeps its elements.
    const keptTimed = lo === 0 ? timed.slice(0, n) : timeItems(meta.start, items.slice(lo, lo + n));
    const keptEls = lo === 0 ? rendered.slice(0, n) : keptTimed.map(renderChatItem);
    const page = pageFromRange({ from: keepFrom, to: keepFrom + n, count: meta.count }, keptTimed);
    // D15: links and form lead the first page only.
    return { payload: renderChat(meta, page, keepFrom === 0, keptEls) };
  }

  private async modified(owner: string, req: Extract<ArchiveRequest, { op: "modified" }>): Promise<Result> {
    // D16: changes older than the retention window are gone; a cursor from then cannot be served.
    const horizon = Date.now() - this.limits.changeRetentionMs;
    const cursors = [req.rsm.after, req.rsm.before].filter((c): c is string => !!c);
    for (const c of cursors) {
      const k = changeCursor.decode(c);
      if (k && k.changedAt < horizon) return { error: itemNotFound("replication cursor expired") };
    }
    const all = await this.store.scanChanges(owner, req.start);
    const max = clampMax(req.rsm, this.limits);
    const keyOf = (c: Change): ChangeKey => ({ changedAt: c.changedAt, with: c.with, start: c.start });
    const paged = pageOfSorted(all, { ...changeCursor, keyOf }, req.rsm, max);
    if (!paged.ok) return { error: paged.error };
    const page = cut(paged.value, renderChange, this.budget(), isBackward(req.rsm), (c) => changeCursor.encode(keyOf(c)));
    return { payload: renderModified(page) };
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A read started ahead of need, settled either way so that a failure is never left unobserved. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The value of a settled read whose failure the caller cannot do without. */
function unwrap<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

/** How many leading sizes fit in `budget` bytes. */
function fitSizes(sizes: readonly number[], budget: number): number {
  let used = 0;
  let n = 0;
  for (const size of sizes) {
    used += size;
    if (used > budget) break;
    n++;
  }
  return n;
}

function isBackward(rsm: { before?: string; after?: string; index?: number }): boolean {
  return rsm.before !== undefined && (rsm.after === undefined || rsm.after === "") && rsm.index === undefined;
}

/**
 * Cuts a page short so its items fit the byte budget (D8), keeping the end nearest the cursor.
 * With `bound` (more bytes than an item can take), items are only rendered to be measured when
 * the bounds together exceed the budget.
 */
function cut<T>(
  page: Page<T>,
  render: (item: T) => Element,
  budget: number,
  backward: boolean,
  uid: ((item: T) => string) | undefined,
  bound?: (item: T) => number,
): Page<T> {
  if (bound && page.items.reduce((sum, it) => sum + bound(it), 0) <= budget) return page;
  const ordered = backward ? [...page.items].reverse() : page.items;
  const n = Math.max(1, fitToBudget(ordered, render, budget));
  if (n >= page.items.length) return page;
  const items = backward ? page.items.slice(page.items.length - n) : page.items.slice(0, n);
  const out: Page<T> = { items, count: page.count };
  if (uid) {
    out.first = uid(items[0]!);
    out.last = uid(items[items.length - 1]!);
  }
  if (page.firstIndex !== undefined) out.firstIndex = backward ? page.firstIndex + (page.items.length - n) : page.firstIndex;
  return out;
}

