import { KEYSPACE_NAME } from "../config/config.ts";

// The store's CQL, each statement naming its keyspace. The driver finds a prepared statement by
// the client's keyspace joined to the statement's text: with a client bound to a keyspace that
// join makes a new string, flattened and hashed again for every statement of every batch (about
// 2% of the node's thread under ingest, and 8% of what it allocates). A client bound to none
// looks the text up as it is, and a text built once keeps its hash.

/** Columns of a collection's state, in the order the write path gives them. */
export const META_COLS = "thread, subject, version, count, last_at, previous, next, form, changed_at";
/** Columns of a peer's record. */
export const PEER_COLS = `with_jid, start, ${META_COLS}, latest_start`;

/** The store's tables, each named with its keyspace. */
export interface Tables {
  items: string;
  collections: string;
  openCollections: string;
  changes: string;
  changePos: string;
  feedSeen: string;
  listVersions: string;
  prefs: string;
}

/** `keyspace` as the config admits it: a lower-case CQL identifier, which needs no quoting. */
export function tablesOf(keyspace: string): Tables {
  if (!KEYSPACE_NAME.test(keyspace)) throw new Error(`not a lower-case CQL identifier: ${keyspace}`);
  const t = (name: string) => `${keyspace}.${name}`;
  return {
    items: t("items"),
    collections: t("collections"),
    openCollections: t("open_collections"),
    changes: t("changes"),
    changePos: t("change_pos"),
    feedSeen: t("feed_seen"),
    listVersions: t("list_versions"),
    prefs: t("prefs"),
  };
}

/** Every fixed statement of the store, built once per keyspace. */
export function statementsOf(keyspace: string) {
  const t = tablesOf(keyspace);
  return {
    tables: t,
    item: `INSERT INTO ${t.items} (owner, with_jid, start, pos, kind, at, payload, name, jid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
    collection: `INSERT INTO ${t.collections} (owner, start, with_jid, ${META_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
    latest: `UPDATE ${t.openCollections} SET latest_start = ? WHERE owner = ? AND peer = ?`,
    seen: `INSERT INTO ${t.feedSeen} (owner, copy_id) VALUES (?, ?)`,
    open: `INSERT INTO ${t.openCollections} (owner, peer, with_jid, start, ${META_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
    listVersionPut: `INSERT INTO ${t.listVersions} (owner, version) VALUES (?, ?)`,
    listStampPut: `UPDATE ${t.collections} SET list_version = ? WHERE owner = ?`,
    changePut: `INSERT INTO ${t.changes} (owner, changed_at, with_jid, start, version, removed) VALUES (?, ?, ?, ?, ?, ?)`,
    changeDelete: `DELETE FROM ${t.changes} WHERE owner = ? AND changed_at = ? AND with_jid = ? AND start = ?`,
    changePosPut: `INSERT INTO ${t.changePos} (owner, with_jid, start, changed_at) VALUES (?, ?, ?, ?)`,
    changePosGet: `SELECT changed_at FROM ${t.changePos} WHERE owner = ? AND with_jid = ? AND start = ?`,
    prefsGet: `SELECT doc FROM ${t.prefs} WHERE owner = ?`,
    prefsPut: `INSERT INTO ${t.prefs} (owner, doc) VALUES (?, ?)`,
    collectionGet: `SELECT with_jid, start, ${META_COLS} FROM ${t.collections} WHERE owner = ? AND start = ? AND with_jid = ?`,
    peerStateGet: `SELECT ${PEER_COLS} FROM ${t.openCollections} WHERE owner = ? AND peer = ?`,
    peerStatesScan: `SELECT peer, ${PEER_COLS} FROM ${t.openCollections} WHERE owner = ?`,
    peerStatesSome: `SELECT peer, ${PEER_COLS} FROM ${t.openCollections} WHERE owner = ? LIMIT ?`,
    collectionRange: `SELECT with_jid, start, ${META_COLS}, list_version FROM ${t.collections}
       WHERE owner = ? AND (start, with_jid) >= (?, ?) AND (start, with_jid) <= (?, ?)`,
    collectionsIn: `SELECT with_jid, start, ${META_COLS}, list_version FROM ${t.collections} WHERE owner = ? AND (start, with_jid) IN ?`,
    itemsLast: `SELECT pos, kind, at, payload, name, jid FROM ${t.items}
           WHERE owner = ? AND with_jid = ? AND start = ? ORDER BY pos DESC LIMIT ?`,
    itemsRange: `SELECT pos, kind, at, payload, name, jid FROM ${t.items}
           WHERE owner = ? AND with_jid = ? AND start = ? AND pos >= ? AND pos < ?`,
    itemsDelete: `DELETE FROM ${t.items} WHERE owner = ? AND with_jid = ? AND start = ?`,
    collectionDelete: `DELETE FROM ${t.collections} WHERE owner = ? AND start = ? AND with_jid = ?`,
    openDelete: `DELETE with_jid, start, ${META_COLS} FROM ${t.openCollections} WHERE owner = ? AND peer = ?`,
    listVersionGet: `SELECT version FROM ${t.listVersions} WHERE owner = ?`,
    listStampGet: `SELECT list_version FROM ${t.collections} WHERE owner = ? LIMIT 1`,
    changesScan: `SELECT changed_at, with_jid, start, version, removed FROM ${t.changes} WHERE owner = ? AND changed_at > ?`,
    seenGet: `SELECT copy_id FROM ${t.feedSeen} WHERE owner = ? AND copy_id IN ?`,
  } as const;
}

export type Statements = ReturnType<typeof statementsOf>;
