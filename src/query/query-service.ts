import type { Element } from "@xmpp/xml";
import { changeCursor, collectionCursor, type ChangeKey } from "../archive/cursors.ts";
import type { ArchiveRequest, Change, CollectionMeta, Page, StanzaError } from "../archive/model.ts";
import { clampMax, pageFromRange, pageOfPositions, pageOfSorted, type PagingLimits } from "../archive/paging.ts";
import { timeItems } from "../archive/secs.ts";
import { itemNotFound } from "../protocol/errors.ts";
import { chatHeader, renderChat, renderChatItem, renderChange, renderList, renderModified } from "../protocol/render.ts";
import { byteLength, fitToBudget } from "../protocol/size.ts";
import type { ArchiveStore } from "../store/archive-store.ts";
import { matchCollections } from "../actors/collection-filter.ts";

export interface QueryLimits extends PagingLimits {
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
  constructor(
    private readonly store: ArchiveStore,
    private readonly limits: QueryLimits,
  ) {}

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

  private async list(owner: string, req: Extract<ArchiveRequest, { op: "list" }>): Promise<Result> {
    const all = await matchCollections(this.store, owner, req);
    const max = clampMax(req.rsm, this.limits);
    const paged = pageOfSorted(all, { ...collectionCursor, keyOf: (c: CollectionMeta) => ({ with: c.with, start: c.start }) }, req.rsm, max);
    if (!paged.ok) return { error: paged.error };
    const page = cut(paged.value, (c) => chatHeader(c), this.budget(), isBackward(req.rsm), (c) =>
      collectionCursor.encode({ with: c.with, start: c.start }),
    );
    return { payload: renderList(page) };
  }

  private async retrieve(owner: string, req: Extract<ArchiveRequest, { op: "retrieve" }>): Promise<Result> {
    const meta = await this.store.getCollection(owner, { with: req.with, start: req.start });
    if (!meta) return { error: itemNotFound() };
    const max = clampMax(req.rsm, this.limits);
    const range = pageOfPositions(meta.count, req.rsm, max);
    if (!range.ok) return { error: range.error };
    const { from, to } = range.value;
    const items = await this.store.readItems(owner, meta, from, to);
    const backward = isBackward(req.rsm);
    const headerBytes = byteLength(renderChat(meta, { items: [], count: meta.count }, from === 0));
    const timedAll = timeItems(meta.start, items);
    const ordered = backward ? [...timedAll].reverse() : timedAll;
    const n = items.length === 0 ? 0 : Math.max(1, fitToBudget(ordered, renderChatItem, this.budget() - headerBytes));
    const keepFrom = backward ? from + (items.length - n) : from;
    const kept = backward ? items.slice(items.length - n) : items.slice(0, n);
    // D5: every page's first element counts from the collection's start.
    const page = pageFromRange({ from: keepFrom, to: keepFrom + n, count: meta.count }, timeItems(meta.start, kept));
    // D15: links and form lead the first page only.
    return { payload: renderChat(meta, page, keepFrom === 0) };
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

function isBackward(rsm: { before?: string; after?: string; index?: number }): boolean {
  return rsm.before !== undefined && (rsm.after === undefined || rsm.after === "") && rsm.index === undefined;
}

/** Cuts a page short so its items fit the byte budget (D8), keeping the end nearest the cursor. */
function cut<T>(page: Page<T>, render: (item: T) => Element, budget: number, backward: boolean, uid: ((item: T) => string) | undefined): Page<T> {
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

