// Versioned, idempotent schema migrations owned by the service. Each step runs once
// per keyspace; the applied version is recorded so later releases only add steps.

export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "preferences, collections, messages, change log, feed de-duplication",
    statements: [
      // One row per user: preferences as a JSON document (read and written whole by the user's actor).
      `CREATE TABLE IF NOT EXISTS prefs (owner text PRIMARY KEY, doc text)`,
      // Collections by start time, for list over all peers (keyset paging on (start, with)).
      `CREATE TABLE IF NOT EXISTS collections (
         owner text, start timestamp, with_jid text,
         thread text, subject text, version int, count int, last_at timestamp,
         previous text, next text, form text,
         PRIMARY KEY ((owner), start, with_jid))`,
      // The same rows per (owner, bare peer), for list with= and the open-collection lookup.
      `CREATE TABLE IF NOT EXISTS collections_by_peer (
         owner text, peer text, start timestamp, with_jid text,
         thread text, subject text, version int, count int, last_at timestamp,
         previous text, next text, form text,
         PRIMARY KEY ((owner, peer), start, with_jid))`,
      // Items of one collection, numbered densely so retrieve pages cost O(page) at any depth.
      `CREATE TABLE IF NOT EXISTS items (
         owner text, with_jid text, start timestamp, pos int,
         kind text, at timestamp, payload text, name text, jid text,
         PRIMARY KEY ((owner, with_jid, start), pos))`,
      // Replication log: one row per collection at its latest change time.
      `CREATE TABLE IF NOT EXISTS changes (
         owner text, changed_at timestamp, with_jid text, start timestamp, version int, removed boolean,
         PRIMARY KEY ((owner), changed_at, with_jid, start))`,
      // Where each collection's current change row sits, so the previous one can be deleted.
      `CREATE TABLE IF NOT EXISTS change_pos (
         owner text, with_jid text, start timestamp, changed_at timestamp,
         PRIMARY KEY ((owner), with_jid, start))`,
      // Feed copies already applied, so a redelivered copy is archived once.
      `CREATE TABLE IF NOT EXISTS feed_seen (
         owner text, copy_id text,
         PRIMARY KEY ((owner), copy_id)) WITH default_time_to_live = 1209600`,
    ],
  },
  {
    version: 2,
    description: "collections remember their last change time (no read before a change-log write)",
    statements: [
      `ALTER TABLE collections ADD changed_at timestamp`,
      `ALTER TABLE collections_by_peer ADD changed_at timestamp`,
    ],
  },
  {
    version: 3,
    description: "a per-user stamp that changes whenever the set of collections does",
    statements: [
      // Query nodes keep a user's collection keys in memory while this stamp is unchanged.
      `CREATE TABLE IF NOT EXISTS list_versions (owner text PRIMARY KEY, version uuid)`,
    ],
  },
  {
    version: 4,
    description: "per-peer state in the owner's partition; every write of a user's collection rows is one partition",
    statements: [
      // One row per (owner, bare peer): the automatic collection new messages may join (a copy
      // of its collections row, written in the same batch) and the latest start of any
      // collection with that peer (keys after it are free). In the owner's partition, so a
      // collection's rows, change log and de-duplication marks land as one atomic mutation.
      `CREATE TABLE IF NOT EXISTS open_collections (
         owner text, peer text, with_jid text, start timestamp,
         thread text, subject text, version int, count int, last_at timestamp,
         previous text, next text, form text, changed_at timestamp,
         latest_start timestamp,
         PRIMARY KEY ((owner), peer))`,
      // collections_by_peer is no longer written or read (listing by peer filters the owner's
      // keys). It is not dropped here: a node still running the earlier steps beside this one
      // (several nodes starting on a new keyspace) alters it in step 2.
    ],
  },
  {
    version: 5,
    description: "the list stamp also as a static column of the collections partition",
    statements: [
      // Read with a list page's rows, so a page needs no second read to know whether the
      // query node's copy of the user's keys is current. list_versions stays, written with
      // the same value, for nodes of earlier versions.
      `ALTER TABLE collections ADD list_version uuid static`,
    ],
  },
];

export function keyspaceCql(keyspace: string, replication: Record<string, string>): string {
  const repl = Object.entries(replication)
    .map(([k, v]) => `'${k}': ${k === "class" ? `'${v}'` : `'${v}'`}`)
    .join(", ");
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {${repl}}`;
}
