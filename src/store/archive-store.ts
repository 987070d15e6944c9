import cassandra from "cassandra-driver";
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
  /** Bare JID of the peer: read only that peer's partition. */
  peerBare?: string;
  start?: number;
  end?: number;
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
}


const keyText = (k: CollectionKey | undefined): string | null =>
  k ? JSON.stringify([k.with, k.start]) : null;

function parseKey(s: unknown): CollectionKey | undefined {
  if (typeof s !== "string") return undefined;
  const v = JSON.parse(s) as [string, number];
  return { with: v[0], start: v[1] };
}

const ITEMS_PER_BATCH = 200;
const ITEM_BATCH_BYTES = 1024 * 1024;

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

const listVersionQuery = (owner: string) => ({
  query: "INSERT INTO list_versions (owner, version) VALUES (?, ?)",
  params: [owner, cassandra.types.Uuid.random()],
});

/** The table and WHERE clause of a collection scan (by owner, or by owner and peer). */
function scanWhere(owner: string, scan: CollectionScan): { table: string; where: string; params: unknown[] } {
  const params: unknown[] = [owner];
  let where = "owner = ?";
  let table = "collections";
  if (scan.peerBare !== undefined) {
    table = "collections_by_peer";
    where += " AND peer = ?";
    params.push(scan.peerBare);
  }
  if (scan.start !== undefined) {
    where += " AND start >= ?";
    params.push(new Date(scan.start));
  }
  if (scan.end !== undefined) {
    where += " AND start < ?";
    params.push(new Date(scan.end));
  }
  return { table, where, params };
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

const META_COLS = "thread, subject, version, count, last_at, previous, next, form, changed_at";

/**
 * Cassandra access for one keyspace. Reads serve queries on any node; writes are
 * issued only by the owner of the user's shard, each stamped with its fenced timestamp.
 */
export class ArchiveStore {
  constructor(
    private readonly client: CassandraClient,
    private readonly metrics: Metrics,
  ) {}

  private exec(name: string, cql: string, params: unknown[], opts: cassandra.QueryOptions = {}) {
    return this.metrics.timeCassandra(name, () =>
      this.client.execute(cql, params, { prepare: true, ...opts }),
    );
  }

  private batch(name: string, queries: { query: string; params: unknown[] }[], opts: cassandra.QueryOptions) {
    return this.metrics.timeCassandra(name, () =>
      this.client.batch(queries, { prepare: true, ...opts }),
    );
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
    const rs = await this.exec("prefs_get", "SELECT doc FROM prefs WHERE owner = ?", [owner]);
    const doc = rs.first()?.get("doc") as string | undefined;
    return doc ? (JSON.parse(doc) as Prefs) : undefined;
  }

  async savePrefs(owner: string, prefs: Prefs, w: WriteStamp): Promise<void> {
    await this.exec("prefs_put", "INSERT INTO prefs (owner, doc) VALUES (?, ?)", [owner, JSON.stringify(prefs)], {
      timestamp: w.timestamp,
    });
  }

  // ---- collections ----

  async getCollection(owner: string, key: CollectionKey): Promise<CollectionMeta | undefined> {
    const rs = await this.exec(
      "collection_get",
      `SELECT with_jid, start, ${META_COLS} FROM collections WHERE owner = ? AND start = ? AND with_jid = ?`,
      [owner, new Date(key.start), key.with],
    );
    const r = rs.first();
    return r ? rowToMeta(r) : undefined;
  }

  /** The most recent collection whose `with` is exactly `withJid` (the open-collection candidate). */
  async latestWith(owner: string, withJid: string): Promise<CollectionMeta | undefined> {
    const rs = await this.exec(
      "collection_latest",
      `SELECT with_jid, start, ${META_COLS} FROM collections_by_peer WHERE owner = ? AND peer = ?
       ORDER BY start DESC, with_jid DESC LIMIT 20`,
      [owner, bareJid(withJid)],
    );
    const r = rs.rows.find((row) => row.get("with_jid") === withJid);
    return r ? rowToMeta(r) : undefined;
  }

  /** Collections in [start, end), ordered by (start, with). */
  async scanCollections(owner: string, scan: CollectionScan): Promise<CollectionMeta[]> {
    const { table, where, params } = scanWhere(owner, scan);
    const rows = await this.all(
      scan.peerBare !== undefined ? "collections_scan_peer" : "collections_scan",
      `SELECT with_jid, start, ${META_COLS} FROM ${table} WHERE ${where}`,
      params,
    );
    return rows.map(rowToMeta);
  }

  /**
   * Only the keys of the collections in [start, end), in (start, with) order: enough to count
   * a list and find where any page of it begins, at a fraction of the cost of whole rows.
   */
  async scanCollectionKeys(owner: string, scan: CollectionScan): Promise<CollectionKey[]> {
    const { table, where, params } = scanWhere(owner, scan);
    const rows = await this.all(
      scan.peerBare !== undefined ? "collection_keys_peer" : "collection_keys",
      `SELECT start, with_jid FROM ${table} WHERE ${where}`,
      params,
      5000,
    );
    return rows.map((r) => ({ with: r.get("with_jid") as string, start: (r.get("start") as Date).getTime() }));
  }

  /** Whole rows of the collections from `first` to `last` (both included), in (start, with) order. */
  async readCollectionRange(owner: string, peerBare: string | undefined, first: CollectionKey, last: CollectionKey): Promise<CollectionMeta[]> {
    const table = peerBare !== undefined ? "collections_by_peer" : "collections";
    const where = peerBare !== undefined ? "owner = ? AND peer = ?" : "owner = ?";
    const params: unknown[] = peerBare !== undefined ? [owner, peerBare] : [owner];
    const rows = await this.all(
      peerBare !== undefined ? "collection_range_peer" : "collection_range",
      `SELECT with_jid, start, ${META_COLS} FROM ${table}
       WHERE ${where} AND (start, with_jid) >= (?, ?) AND (start, with_jid) <= (?, ?)`,
      [...params, new Date(first.start), first.with, new Date(last.start), last.with],
    );
    return rows.map(rowToMeta);
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
          `SELECT pos, kind, at, payload, name, jid FROM items
           WHERE owner = ? AND with_jid = ? AND start = ? ORDER BY pos DESC LIMIT ?`,
          [owner, key.with, new Date(key.start), limit],
          { fetchSize: limit },
        )
      : await this.exec(
          "items_page",
          `SELECT pos, kind, at, payload, name, jid FROM items
           WHERE owner = ? AND with_jid = ? AND start = ? AND pos >= ? AND pos < ?`,
          [owner, key.with, new Date(key.start), at.from, at.to],
          { fetchSize: limit },
        );
    const out = rs.rows.map((r) => ({ pos: r.get("pos") as number, item: rowToItem(r) }));
    return tail ? out.reverse() : out;
  }

  /**
   * Persists items, then the collection rows, change log and de-duplication marks.
   * Items go first: if the second step fails, a retry recomputes the same positions
   * from the unchanged collection row and rewrites the same item rows (idempotent).
   */
  async writeCollection(owner: string, write: CollectionWrite, changedAt: number, w: WriteStamp): Promise<void> {
    const { meta, items } = write;
    const ttl = write.ttlSeconds && write.ttlSeconds > 0 ? write.ttlSeconds : 0;
    const start = new Date(meta.start);
    const firstPos = meta.count - items.length;
    if (items.length > 0) {
      const queries = items.map((it, i) => ({
        query: `INSERT INTO items (owner, with_jid, start, pos, kind, at, payload, name, jid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
        params: [owner, meta.with, start, firstPos + i, it.kind, new Date(it.at), it.payload, it.name ?? null, it.jid ?? null, ttl],
      }));
      // Same-partition unlogged batches: one round trip, applied atomically by the replica.
      // Bounded by bytes as well as count: Cassandra refuses a mutation over half a commit-log
      // segment, and a refused batch retried forever would stall the whole shard.
      for (const chunk of chunksOf(queries, items, ITEMS_PER_BATCH, ITEM_BATCH_BYTES)) {
        await this.batch("items_write", chunk, { logged: false, timestamp: w.timestamp });
      }
    }
    const metaParams = [
      meta.thread ?? null,
      meta.subject ?? null,
      meta.version,
      meta.count,
      meta.lastAt !== undefined ? new Date(meta.lastAt) : null,
      keyText(meta.previous),
      keyText(meta.next),
      meta.form ?? null,
      new Date(changedAt),
    ];
    const queries: { query: string; params: unknown[] }[] = [
      {
        query: `INSERT INTO collections (owner, start, with_jid, ${META_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
        params: [owner, start, meta.with, ...metaParams, ttl],
      },
      {
        query: `INSERT INTO collections_by_peer (owner, peer, start, with_jid, ${META_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
        params: [owner, bareJid(meta.with), start, meta.with, ...metaParams, ttl],
      },
      ...(await this.changeQueries(owner, meta, false, changedAt)),
    ];
    // A collection written for the first time (or again after a removal) changes the user's
    // set of collections: query nodes must reload their copy of its keys.
    if (meta.changedAt === undefined) queries.push(listVersionQuery(owner));
    for (const id of write.copyIds ?? []) {
      queries.push({ query: "INSERT INTO feed_seen (owner, copy_id) VALUES (?, ?)", params: [owner, id] });
    }
    // Logged: the collection's two rows, its change entry and the de-duplication marks land together.
    await this.batch("collection_write", queries, { logged: true, timestamp: w.timestamp });
    // The caller's copy now knows where its change-log entry sits.
    meta.changedAt = changedAt;
  }

  /** Deletes collections with their items, leaving `removed` entries in the change log. */
  async removeCollections(owner: string, metas: CollectionMeta[], changedAt: number, w: WriteStamp): Promise<void> {
    for (const meta of metas) {
      const start = new Date(meta.start);
      await this.exec("items_delete", "DELETE FROM items WHERE owner = ? AND with_jid = ? AND start = ?", [owner, meta.with, start], {
        timestamp: w.timestamp,
      });
      const queries = [
        { query: "DELETE FROM collections WHERE owner = ? AND start = ? AND with_jid = ?", params: [owner, start, meta.with] },
        {
          query: "DELETE FROM collections_by_peer WHERE owner = ? AND peer = ? AND start = ? AND with_jid = ?",
          params: [owner, bareJid(meta.with), start, meta.with],
        },
        ...(await this.changeQueries(owner, { ...meta, version: meta.version + 1 }, true, changedAt)),
        listVersionQuery(owner),
      ];
      await this.batch("collection_remove", queries, { logged: true, timestamp: w.timestamp });
    }
  }

  /**
   * The change-log rows of one change: the collection's previous entry goes, the new one comes.
   * The previous position is known from the collection row; only a collection written for the
   * first time (perhaps re-created after a removal) needs a look-up.
   */
  private async changeQueries(owner: string, meta: CollectionMeta, removed: boolean, changedAt: number) {
    const start = new Date(meta.start);
    let prev = meta.changedAt;
    if (prev === undefined) {
      const rs = await this.exec("change_pos_get", "SELECT changed_at FROM change_pos WHERE owner = ? AND with_jid = ? AND start = ?", [
        owner,
        meta.with,
        start,
      ]);
      prev = (rs.first()?.get("changed_at") as Date | undefined)?.getTime();
    }
    const out: { query: string; params: unknown[] }[] = [];
    if (prev !== undefined && prev !== changedAt) {
      out.push({
        query: "DELETE FROM changes WHERE owner = ? AND changed_at = ? AND with_jid = ? AND start = ?",
        params: [owner, new Date(prev), meta.with, start],
      });
    }
    out.push(
      {
        query: "INSERT INTO changes (owner, changed_at, with_jid, start, version, removed) VALUES (?, ?, ?, ?, ?, ?)",
        params: [owner, new Date(changedAt), meta.with, start, meta.version, removed],
      },
      {
        query: "INSERT INTO change_pos (owner, with_jid, start, changed_at) VALUES (?, ?, ?, ?)",
        params: [owner, meta.with, start, new Date(changedAt)],
      },
    );
    return out;
  }

  /** The stamp of the user's current set of collections ("" if none was ever written). */
  async listVersion(owner: string): Promise<string> {
    const rs = await this.exec("list_version_get", "SELECT version FROM list_versions WHERE owner = ?", [owner]);
    const v = rs.first()?.get("version") as cassandra.types.Uuid | undefined;
    return v ? v.toString() : "";
  }

  /** Change-log entries after `since` (exclusive), oldest first. */
  async scanChanges(owner: string, since: number): Promise<Change[]> {
    const rows = await this.all(
      "changes_scan",
      "SELECT changed_at, with_jid, start, version, removed FROM changes WHERE owner = ? AND changed_at > ?",
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
    const rs = await this.exec("feed_seen_get", "SELECT copy_id FROM feed_seen WHERE owner = ? AND copy_id IN ?", [owner, ids]);
    return new Set(rs.rows.map((r) => r.get("copy_id") as string));
  }
}
