import { randomBytes } from "node:crypto";
import cassandra from "cassandra-driver";
import pLimit, { type LimitFunction } from "p-limit";
import type {
  ArchivedItem,
  Change,
  CollectionKey,
  CollectionMeta,
  ItemKind,
  Prefs,
} from "../archive/model.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { bareJid } from "../protocol/jid.ts";
import type { CassandraClient } from "./cassandra-client.ts";
import { clientWriter, type BatchWriter } from "./write-thread.ts";
import { META_COLS, statementsOf, type Statements } from "./statements.ts";
import type { BatchOptions, BatchQuery } from "./write-wire.ts";

type Row = cassandra.types.Row;

/** Every write carries the writer's fenced timestamp (microseconds), see the README's safety argument. */
export interface WriteStamp {
  timestamp: cassandra.types.Long;
}

export interface PositionedItem {
  pos: number;
  item: ArchivedItem;
}

export interface CollectionScan {
  start?: number;
  end?: number;
}

/** What the owner's partition records about the collections with one bare peer. */
export interface PeerState {
  /** The automatic collection that new messages with this peer may join, if any. */
  open?: CollectionMeta;
  /** No collection whose `with` is this bare JID starts later than this (epoch ms). */
  latestStart?: number;
}

/** A collection's state change to persist with its items. */
export interface CollectionWrite {
  meta: CollectionMeta;
  /** Items appended at positions meta.count - items.length .. meta.count - 1. */
  items: ArchivedItem[];
  /** Seconds until the items (and the collection row) expire; undefined keeps them. */
  ttlSeconds?: number;
  /** Feed copy ids applied by this write (recorded for de-duplication). */
  copyIds?: string[];
  /** Record it as its peer's open collection too (the row the next automatic message reads). */
  open?: boolean;
  /** Record this as the latest start of any collection with the peer. */
  latestStart?: number;
  /** The key was never used before: it has no change-log entry to look up and replace. */
  fresh?: boolean;
  /**
   * Fields the meta lacks are left as stored instead of cleared. For writers that never clear
   * a field (automatic archiving): writing nulls would leave a tombstone per field per write.
   */
  sparse?: boolean;
}


const keyText = (k: CollectionKey | undefined): string | null =>
  k ? JSON.stringify([k.with, k.start]) : null;

function parseKey(s: unknown): CollectionKey | undefined {
  if (typeof s !== "string") return undefined;
  const v = JSON.parse(s) as [string, number];
  return { with: v[0], start: v[1] };
}

type Query = BatchQuery;

const ITEMS_PER_BATCH = 200;
const ITEM_BATCH_BYTES = 1024 * 1024;
/** Statements in one batch of the owner's partition, about: more only for one collection's own. */
const OWNER_BATCH_STATEMENTS = 1000;

/**
 * Packs groups of statements into batches of about `max` statements without splitting a group;
 * `first` goes with the first batch and `last` with the last.
 */
export function packed<Q>(groups: readonly Q[][], first: readonly Q[], last: readonly Q[], max: number): Q[][] {
  const out: Q[][] = [];
  let cur: Q[] = [...first];
  for (const g of groups) {
    if (cur.length > 0 && cur.length + g.length > max) {
      out.push(cur);
      cur = [];
    }
    cur.push(...g);
  }
  cur.push(...last);
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Consecutive runs of `queries` of at most `maxCount` items and, beyond a single item, `maxBytes` of payload. */
export function chunksOf<Q>(queries: Q[], items: ArchivedItem[], maxCount: number, maxBytes: number): Q[][] {
  const out: Q[][] = [];
  let cur: Q[] = [];
  let bytes = 0;
  queries.forEach((q, i) => {
    const it = items[i]!;
    const size = Buffer.byteLength(it.payload) + Buffer.byteLength(it.name ?? "") + Buffer.byteLength(it.jid ?? "") + 64;
    if (cur.length > 0 && (cur.length >= maxCount || bytes + size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(q);
    bytes += size;
  });
  if (cur.length > 0) out.push(cur);
  return out;
}

// A time-based value is unique per process through its clock ticks; the node and clock parts
// are drawn once per process rather than from random bytes on every call.
const UUID_NODE = randomBytes(6);
const UUID_CLOCK = randomBytes(2);

/**
 * A new stamp for the user's set of collections. Any value it never had before will do; the
 * same value goes into the list_versions row (read by nodes of earlier versions) and into the
 * static column of the owner's collections partition, which a list page reads with its rows.
 */
const listVersionQueries = (q: Statements, owner: string) => {
  // As text, which the driver encodes for a timeuuid column and which crosses threads as it is.
  const stamp = cassandra.types.TimeUuid.now(UUID_NODE, UUID_CLOCK).toString();
  return [
    { query: q.listVersionPut, params: [owner, stamp] },
    { query: q.listStampPut, params: [stamp, owner] },
  ];
};

/** Rows of the owner's collections partition with the partition's list stamp (undefined: none was read). */
export interface CollectionRows {
  metas: CollectionMeta[];
  stamp: string | undefined;
}

function withStamp(rows: Row[]): CollectionRows {
  const v = rows[0]?.get("list_version") as cassandra.types.Uuid | null | undefined;
  return { metas: rows.map(rowToMeta), stamp: v ? v.toString() : undefined };
}

/** The WHERE clause of a collection scan over the owner's partition. */
function scanWhere(owner: string, scan: CollectionScan): { where: string; params: unknown[] } {
  const params: unknown[] = [owner];
  let where = "owner = ?";
  if (scan.start !== undefined) {
    where += " AND start >= ?";
    params.push(new Date(scan.start));
  }
  if (scan.end !== undefined) {
    where += " AND start < ?";
    params.push(new Date(scan.end));
  }
  return { where, params };
}

// The write path gives timestamp columns epoch milliseconds as numbers: the driver encodes them
// as it does Dates, and a number costs no allocation and crosses to the write thread as it is.

/** A collection's state in META_COLS order; `absent` for a field it lacks (null clears, undefined leaves as stored). */
function metaParams(meta: CollectionMeta, changedAt: number, absent: null | undefined): unknown[] {
  return [
    meta.thread ?? absent,
    meta.subject ?? absent,
    meta.version,
    meta.count,
    meta.lastAt ?? absent,
    keyText(meta.previous) ?? absent,
    keyText(meta.next) ?? absent,
    meta.form ?? absent,
    changedAt,
  ];
}

const ms = (d: unknown): number | undefined => (d instanceof Date ? d.getTime() : undefined);

function rowToMeta(r: Row): CollectionMeta {
  const meta: CollectionMeta = {
    with: r.get("with_jid") as string,
    start: (r.get("start") as Date).getTime(),
    version: (r.get("version") as number | null) ?? 0,
    count: (r.get("count") as number | null) ?? 0,
  };
  const thread = r.get("thread") as string | null;
  const subject = r.get("subject") as string | null;
  const lastAt = ms(r.get("last_at"));
  const previous = parseKey(r.get("previous"));
  const next = parseKey(r.get("next"));
  const form = r.get("form") as string | null;
  const changedAt = ms(r.get("changed_at"));
  if (changedAt !== undefined) meta.changedAt = changedAt;
  if (thread !== null) meta.thread = thread;
  if (subject !== null) meta.subject = subject;
  if (lastAt !== undefined) meta.lastAt = lastAt;
  if (previous) meta.previous = previous;
  if (next) meta.next = next;
  if (form !== null) meta.form = form;
  return meta;
}

function rowToPeerState(r: Row): PeerState {
  const state: PeerState = {};
  if (r.get("with_jid") !== null && r.get("start") !== null) state.open = rowToMeta(r);
  const latest = ms(r.get("latest_start"));
  if (latest !== undefined) state.latestStart = latest;
  return state;
}

function rowToItem(r: Row): ArchivedItem {
  const item: ArchivedItem = {
    kind: r.get("kind") as ItemKind,
    at: (r.get("at") as Date).getTime(),
    payload: (r.get("payload") as string | null) ?? "",
  };
  const name = r.get("name") as string | null;
  const jid = r.get("jid") as string | null;
  if (name !== null) item.name = name;
  if (jid !== null) item.jid = jid;
  return item;
}

/**
 * Cassandra access for one keyspace. Reads serve queries on any node; writes are
 * issued only by the owner of the user's shard, each stamped with its fenced timestamp.
 */
export class ArchiveStore {
  private readonly limit: LimitFunction;
  private readonly writer: BatchWriter;
  private readonly q: Statements;

  /**
   * `maxInFlight` bounds the requests this store has at Cassandra at once; the rest wait here in
   * order. Unbounded, a backlog of jobs turns into thousands of concurrent requests: the
   * driver refuses them once its connections are full, and the database spends itself on
   * contention. The node gives its writers and its queries a store each, so queries never
   * wait behind a write backlog. `writer` runs the batches (the write path's statements): the
   * same client unless the node gives its writers' store a write thread. Every statement names
   * `keyspace` (by default the client's), so the client need not be bound to one (statements.ts).
   */
  constructor(
    private readonly client: CassandraClient,
    private readonly metrics: Metrics,
    maxInFlight = 128,
    writer?: BatchWriter,
    keyspace: string | undefined = client.keyspace,
  ) {
    if (!keyspace) throw new Error("ArchiveStore needs a keyspace: the client is bound to none");
    this.limit = pLimit(maxInFlight);
    this.writer = writer ?? clientWriter(client);
    this.q = statementsOf(keyspace);
  }

  private exec(name: string, cql: string, params: unknown[], opts: cassandra.QueryOptions = {}) {
    return this.limit(() => this.metrics.timeCassandra(name, () => this.client.execute(cql, params, { prepare: true, ...opts })));
  }

  private batch(name: string, queries: Query[], opts: BatchOptions) {
    return this.limit(() => this.metrics.timeCassandra(name, () => this.writer.batch(queries, opts)));
  }

  /** Reads every row of a query, page by page. */
  private async all(name: string, cql: string, params: unknown[], fetchSize = 2000): Promise<Row[]> {
    const out: Row[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.exec(name, cql, params, { fetchSize, pageState });
      out.push(...rs.rows);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  // ---- preferences ----

  async loadPrefs(owner: string): Promise<Prefs | undefined> {
    const rs = await this.exec("prefs_get", this.q.prefsGet, [owner]);
    const doc = rs.first()?.get("doc") as string | undefined;
    return doc ? (JSON.parse(doc) as Prefs) : undefined;
  }

  async savePrefs(owner: string, prefs: Prefs, w: WriteStamp): Promise<void> {
    await this.exec("prefs_put", this.q.prefsPut, [owner, JSON.stringify(prefs)], {
      timestamp: w.timestamp,
    });
  }

  // ---- collections ----

  async getCollection(owner: string, key: CollectionKey): Promise<CollectionMeta | undefined> {
    const rs = await this.exec(
      "collection_get",
      this.q.collectionGet,
      [owner, new Date(key.start), key.with],
    );
    const r = rs.first();
    return r ? rowToMeta(r) : undefined;
  }

  /** What the owner's partition records about a bare peer (undefined: no collection with it yet). */
  async peerState(owner: string, peerBare: string): Promise<PeerState | undefined> {
    const rs = await this.exec("peer_state_get", this.q.peerStateGet, [owner, peerBare]);
    const r = rs.first();
    return r ? rowToPeerState(r) : undefined;
  }

  /** Every peer's record, by bare JID. */
  async peerStates(owner: string): Promise<Map<string, PeerState>> {
    const rows = await this.all("peer_states_scan", this.q.peerStatesScan, [owner]);
    return new Map(rows.map((r) => [r.get("peer") as string, rowToPeerState(r)]));
  }

  /**
   * The first `limit` peer records of the owner's partition, in one read. `complete`: these are
   * all of them, so a peer not among them has no record.
   */
  async somePeerStates(owner: string, limit: number): Promise<{ states: Map<string, PeerState>; complete: boolean }> {
    const rs = await this.exec("peer_states_get", this.q.peerStatesSome, [owner, limit + 1]);
    const rows = rs.rows.slice(0, limit);
    return { states: new Map(rows.map((r) => [r.get("peer") as string, rowToPeerState(r)])), complete: rs.rows.length <= limit };
  }

  /** Collections in [start, end), ordered by (start, with). */
  async scanCollections(owner: string, scan: CollectionScan): Promise<CollectionMeta[]> {
    const { where, params } = scanWhere(owner, scan);
    const rows = await this.all("collections_scan", `SELECT with_jid, start, ${META_COLS} FROM ${this.q.tables.collections} WHERE ${where}`, params);
    return rows.map(rowToMeta);
  }

  /**
   * Only the keys of the collections in [start, end), in (start, with) order: enough to count
   * a list and find where any page of it begins, at a fraction of the cost of whole rows.
   */
  async scanCollectionKeys(owner: string, scan: CollectionScan): Promise<CollectionKey[]> {
    const { where, params } = scanWhere(owner, scan);
    const rows = await this.all("collection_keys", `SELECT start, with_jid FROM ${this.q.tables.collections} WHERE ${where}`, params, 5000);
    return rows.map((r) => ({ with: r.get("with_jid") as string, start: (r.get("start") as Date).getTime() }));
  }

  /**
   * Whole rows of the collections from `first` to `last` (both included), in (start, with)
   * order, with the list stamp of the same read.
   */
  async readCollectionRange(owner: string, first: CollectionKey, last: CollectionKey): Promise<CollectionRows> {
    const rows = await this.all(
      "collection_range",
      this.q.collectionRange,
      [owner, new Date(first.start), first.with, new Date(last.start), last.with],
    );
    return withStamp(rows);
  }

  /**
   * Whole rows of these collections (those that exist), in (start, with) order, with the list
   * stamp: one read of the owner's partition.
   */
  async readCollections(owner: string, keys: readonly CollectionKey[]): Promise<CollectionRows> {
    if (keys.length === 0) return { metas: [], stamp: undefined };
    const rows = await this.all(
      "collection_keys_get",
      this.q.collectionsIn,
      [owner, keys.map((k) => new cassandra.types.Tuple(new Date(k.start), k.with))],
    );
    return withStamp(rows);
  }

  /** Items at positions [from, to) of a collection. */
  async readItems(owner: string, key: CollectionKey, from: number, to: number): Promise<ArchivedItem[]> {
    return (await this.readPositioned(owner, key, { from, to })).map((p) => p.item);
  }

  /**
   * Items with their positions: those in [from, to), or the `last` highest (returned in
   * ascending order). One partition slice either way.
   */
  async readPositioned(
    owner: string,
    key: CollectionKey,
    at: { from: number; to: number } | { last: number },
  ): Promise<PositionedItem[]> {
    const tail = "last" in at;
    const limit = tail ? at.last : at.to - at.from;
    if (limit <= 0) return [];
    const rs = tail
      ? await this.exec(
          "items_page",
          this.q.itemsLast,
          [owner, key.with, new Date(key.start), limit],
          { fetchSize: limit },
        )
      : await this.exec(
          "items_page",
          this.q.itemsRange,
          [owner, key.with, new Date(key.start), at.from, at.to],
          { fetchSize: limit },
        );
    const out = rs.rows.map((r) => ({ pos: r.get("pos") as number, item: rowToItem(r) }));
    return tail ? out.reverse() : out;
  }

  /**
   * Persists items, then the collection row with its change-log entry, peer state and
   * de-duplication marks. Items go first: if the second step fails, a retry recomputes the same
   * positions from the unchanged collection row and rewrites the same item rows (idempotent).
   * Everything of the second step sits in the owner's partition, so it goes as one unlogged
   * batch: a single mutation, applied whole or not at all, with no batch log to write.
   */
  async writeCollection(owner: string, write: CollectionWrite, changedAt: number, w: WriteStamp): Promise<void> {
    await this.writeCollections(owner, [write], changedAt, w);
  }

  /**
   * `writeCollection` for several collections of one owner at once: every collection's items
   * (side by side, each its own partition), then what all of them change in the owner's
   * partition as one batch. Written as a batch each, they would reach the same partition at the
   * same moment and contend for it in Cassandra (the replica retries a contended partition update),
   * and cost a request each.
   *
   * A batch carries one timestamp, so where two of the writes set the same row (their peer's
   * record, the list stamp), only the one the later write would have left goes into it: the
   * peer record of a peer's last collection in `writes` (the newest), the highest latest start.
   */
  async writeCollections(owner: string, writes: readonly CollectionWrite[], changedAt: number, w: WriteStamp): Promise<void> {
    await Promise.all(writes.map((write) => this.writeItems(owner, write, w)));
    const lastOfPeer = new Map<string, CollectionWrite>();
    const latestOfPeer = new Map<string, number>();
    for (const write of writes) {
      const peer = bareJid(write.meta.with);
      if (write.open) lastOfPeer.set(peer, write);
      if (write.latestStart !== undefined) latestOfPeer.set(peer, Math.max(write.latestStart, latestOfPeer.get(peer) ?? write.latestStart));
    }
    const perWrite = await Promise.all(writes.map((write) => this.collectionQueries(owner, write, changedAt, lastOfPeer.get(bareJid(write.meta.with)) === write)));
    // A peer's latest start goes up no later than its collections appear (it is an upper bound).
    const first: Query[] = [];
    for (const [peer, latest] of latestOfPeer) {
      // No TTL: the mark must outlive expired collections, or a new one could take an old key.
      first.push({ query: this.q.latest, params: [latest, owner, peer] });
    }
    // A collection written for the first time (or again after a removal) changes the user's
    // set of collections: query nodes must reload their copy of its keys, once all are there.
    const last = writes.some((write) => write.meta.changedAt === undefined) ? listVersionQueries(this.q, owner) : [];
    // Each collection's statements stay in one batch, so each is applied whole or not at all.
    for (const chunk of packed(perWrite, first, last, OWNER_BATCH_STATEMENTS)) {
      await this.batch("collection_write", chunk, { logged: false, timestamp: w.timestamp });
    }
    // The caller's copies now know where their change-log entries sit.
    for (const write of writes) write.meta.changedAt = changedAt;
  }

  /** A collection's new items, as same-partition unlogged batches. */
  private async writeItems(owner: string, write: CollectionWrite, w: WriteStamp): Promise<void> {
    const { meta, items } = write;
    if (items.length === 0) return;
    const ttl = write.ttlSeconds && write.ttlSeconds > 0 ? write.ttlSeconds : 0;
    const start = meta.start;
    const firstPos = meta.count - items.length;
    // Undefined leaves a column as it is (the driver's reading of it in a prepared statement).
    const none = write.sparse ? undefined : null;
    const queries = items.map((it, i) => ({
      query: this.q.item,
      params: [owner, meta.with, start, firstPos + i, it.kind, it.at, it.payload, it.name ?? none, it.jid ?? none, ttl],
    }));
    // Same-partition unlogged batches: one round trip, applied atomically by the replica.
    // Bounded by bytes as well as count: Cassandra refuses a mutation over half a commit-log
    // segment, and a refused batch retried forever would stall the whole shard.
    for (const chunk of chunksOf(queries, items, ITEMS_PER_BATCH, ITEM_BATCH_BYTES)) {
      await this.batch("items_write", chunk, { logged: false, timestamp: w.timestamp });
    }
  }

  /** What one collection's write changes in the owner's partition, its peer record included if `withOpen`. */
  private async collectionQueries(owner: string, write: CollectionWrite, changedAt: number, withOpen: boolean): Promise<Query[]> {
    const { meta } = write;
    const ttl = write.ttlSeconds && write.ttlSeconds > 0 ? write.ttlSeconds : 0;
    const start = meta.start;
    const none = write.sparse ? undefined : null;
    const queries: Query[] = [
      { query: this.q.collection, params: [owner, start, meta.with, ...metaParams(meta, changedAt, none), ttl] },
      ...(await this.changeQueries(owner, meta, false, changedAt, write.fresh === true)),
    ];
    if (withOpen) {
      // The peer's record held another collection before this one's first write: clear its fields.
      const openNone = meta.changedAt === undefined ? null : none;
      queries.push({ query: this.q.open, params: [owner, bareJid(meta.with), meta.with, start, ...metaParams(meta, changedAt, openNone), ttl] });
    }
    for (const id of write.copyIds ?? []) queries.push({ query: this.q.seen, params: [owner, id] });
    return queries;
  }

  /**
   * Deletes collections with their items, leaving `removed` entries in the change log. For
   * each key in `openKeys`, the peer's open-collection record goes too (its latest start stays).
   */
  async removeCollections(owner: string, metas: CollectionMeta[], changedAt: number, w: WriteStamp, openKeys: readonly CollectionKey[] = []): Promise<void> {
    const isOpen = (m: CollectionMeta) => openKeys.some((k) => k.with === m.with && k.start === m.start);
    for (const meta of metas) {
      const start = new Date(meta.start);
      // Items first: if the rest fails, the command runs again and finds the collection still there.
      await this.exec("items_delete", this.q.itemsDelete, [owner, meta.with, start], {
        timestamp: w.timestamp,
      });
      const queries = [
        { query: this.q.collectionDelete, params: [owner, start, meta.with] },
        ...(await this.changeQueries(owner, { ...meta, version: meta.version + 1 }, true, changedAt, false)),
        ...listVersionQueries(this.q, owner),
      ];
      if (isOpen(meta)) {
        queries.push({
          query: this.q.openDelete,
          params: [owner, bareJid(meta.with)],
        });
      }
      await this.batch("collection_remove", queries, { logged: false, timestamp: w.timestamp });
    }
  }

  /**
   * The change-log rows of one change: the collection's previous entry goes, the new one comes.
   * The previous position is known from the collection row; only a collection written for the
   * first time under a key used before (re-created after a removal) needs a look-up.
   */
  private async changeQueries(owner: string, meta: CollectionMeta, removed: boolean, changedAt: number, fresh: boolean) {
    const start = meta.start;
    let prev = meta.changedAt;
    if (prev === undefined && !fresh) {
      const rs = await this.exec("change_pos_get", this.q.changePosGet, [
        owner,
        meta.with,
        start,
      ]);
      prev = (rs.first()?.get("changed_at") as Date | undefined)?.getTime();
    }
    const out: { query: string; params: unknown[] }[] = [];
    if (prev !== undefined && prev !== changedAt) {
      out.push({
        query: this.q.changeDelete,
        params: [owner, prev, meta.with, start],
      });
    }
    out.push(
      {
        query: this.q.changePut,
        params: [owner, changedAt, meta.with, start, meta.version, removed],
      },
      {
        query: this.q.changePosPut,
        params: [owner, meta.with, start, changedAt],
      },
    );
    return out;
  }

  /** The stamp of the user's current set of collections ("" if none was ever written). */
  async listVersion(owner: string): Promise<string> {
    const rs = await this.exec("list_version_get", this.q.listVersionGet, [owner]);
    const v = rs.first()?.get("version") as cassandra.types.Uuid | undefined;
    return v ? v.toString() : "";
  }

  /**
   * The same stamp as kept in the collections partition ("" if none is there: never written
   * since this column exists, or only by nodes of earlier versions).
   */
  async listStamp(owner: string): Promise<string> {
    const rs = await this.exec("list_stamp_get", this.q.listStampGet, [owner]);
    const v = rs.first()?.get("list_version") as cassandra.types.Uuid | null | undefined;
    return v ? v.toString() : "";
  }

  /** Change-log entries after `since` (exclusive), oldest first. */
  async scanChanges(owner: string, since: number): Promise<Change[]> {
    const rows = await this.all(
      "changes_scan",
      this.q.changesScan,
      [owner, new Date(since)],
    );
    return rows.map((r) => ({
      changedAt: (r.get("changed_at") as Date).getTime(),
      with: r.get("with_jid") as string,
      start: (r.get("start") as Date).getTime(),
      version: r.get("version") as number,
      removed: r.get("removed") as boolean,
    }));
  }

  /** Which of these feed copy ids were already applied for this owner. */
  async seenCopies(owner: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rs = await this.exec("feed_seen_get", this.q.seenGet, [owner, ids]);
    return new Set(rs.rows.map((r) => r.get("copy_id") as string));
  }
}
