import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CollectionMeta } from "../../src/archive/model.ts";
import { FenceClock } from "../../src/cluster/fence.ts";
import type { ClusterLevel } from "../../src/cluster/levels.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { QueryService } from "../../src/query/query-service.ts";
import { ArchiveStore } from "../../src/store/archive-store.ts";
import type { CassandraClient } from "../../src/store/cassandra-client.ts";
import { connectTestKeyspace, uniqueName } from "./support/stack.ts";

// A list page from a query node's cached keys: one read of the collections partition once
// every node keeps the list stamp there, and never a stale list when a writer of an earlier
// version (which keeps the stamp in list_versions only) changes the user's set of collections.

let client: CassandraClient;
let store: ArchiveStore;
const metrics = new Metrics();
const clock = new FenceClock(1, Date.now());
const T0 = Date.UTC(2025, 6, 1);

beforeAll(async () => {
  client = await connectTestKeyspace();
  store = new ArchiveStore(client, metrics);
});
afterAll(async () => {
  await client?.shutdown();
});

/** Reads of each statement so far. */
async function reads(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.cassandraDuration.get()).values) {
    if (v.metricName?.endsWith("_count")) out[String(v.labels.statement)] = v.value;
  }
  return out;
}

async function readsDuring(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await reads();
  await fn();
  const after = await reads();
  return Object.fromEntries(Object.entries(after).flatMap(([k, n]) => (n - (before[k] ?? 0) > 0 ? [[k, n - (before[k] ?? 0)]] : [])));
}

/** A collection written by this version's actor path. */
async function addCollection(owner: string, i: number): Promise<void> {
  const start = T0 + i * 60_000;
  const meta: CollectionMeta = { with: "peer@example.org", start, version: 0, count: 1, lastAt: start };
  await store.writeCollections(owner, [{ meta, items: [{ kind: "to", at: start, payload: `<body>${i}</body>` }], fresh: true }], Date.now(), {
    timestamp: clock.next(),
  });
}

/** A collection as a node of an earlier version writes it (fenced the same way): its stamp only in list_versions. */
async function addCollectionAsEarlierVersion(owner: string, i: number): Promise<void> {
  const start = new Date(T0 + i * 60_000);
  await client.execute("INSERT INTO collections (owner, start, with_jid, version, count) VALUES (?, ?, ?, 0, 1)", [owner, start, "peer@example.org"], {
    prepare: true,
    timestamp: clock.next(),
  });
  await client.execute("INSERT INTO list_versions (owner, version) VALUES (?, now())", [owner], { prepare: true, timestamp: clock.next() });
}

const LIMITS = { defaultMax: 100, maxPageSize: 1000, maxReplyBytes: 1 << 20, changeRetentionMs: 86_400_000 };

function listed(service: QueryService, owner: string): Promise<number> {
  return service.answer(owner, { op: "list", exactmatch: false, rsm: { max: 100 } }).then((r) => {
    if (!("payload" in r)) throw new Error(`list failed: ${r.error.condition}`);
    return (r.payload as Element).getChildren("chat").length;
  });
}

describe("the list stamp in the collections partition", () => {
  it("is written with every change of the set of collections, the same value as list_versions", async () => {
    const owner = `${uniqueName("stamp")}@example.test`;
    expect(await store.listStamp(owner)).toBe("");
    await addCollection(owner, 0);
    const first = await store.listStamp(owner);
    expect(first).not.toBe("");
    expect(await store.listVersion(owner)).toBe(first);
    const range = await store.readCollectionRange(owner, { with: "peer@example.org", start: T0 }, { with: "peer@example.org", start: T0 });
    expect(range.stamp).toBe(first);
    const [meta] = range.metas;
    await store.removeCollections(owner, [meta!], Date.now(), { timestamp: clock.next() });
    const after = await store.listStamp(owner);
    expect(after).not.toBe("");
    expect(after).not.toBe(first);
    expect(await store.listVersion(owner)).toBe(after);
  });

  it("makes a page from cached keys one read, and a new collection shows at once", async () => {
    const owner = `${uniqueName("one-read")}@example.test`;
    const service = new QueryService(store, LIMITS, () => ({ level: 1, generation: 0 }));
    for (let i = 0; i < 3; i++) await addCollection(owner, i);
    expect(await listed(service, owner)).toBe(3);
    let n = 0;
    expect(await readsDuring(async () => (n = await listed(service, owner)))).toEqual({ collection_range: 1 });
    expect(n).toBe(3);
    await addCollection(owner, 3);
    expect(await listed(service, owner)).toBe(4);
    expect(await readsDuring(() => listed(service, owner))).toEqual({ collection_range: 1 });
  });

  it("never serves stale keys while a writer of an earlier version is in the cluster, nor after it left", async () => {
    const owner = `${uniqueName("mixed")}@example.test`;
    let level: ClusterLevel = { level: 1, generation: 0 };
    const service = new QueryService(store, LIMITS, () => level);
    await addCollection(owner, 0);
    expect(await listed(service, owner)).toBe(1);
    // A node of an earlier version joins (the level falls) and adds a collection.
    level = { level: 0, generation: 1 };
    await addCollectionAsEarlierVersion(owner, 1);
    expect(await listed(service, owner)).toBe(2);
    // While it runs, each page also reads list_versions beside the rows.
    expect(await readsDuring(() => listed(service, owner))).toEqual({ collection_range: 1, list_version_get: 1 });
    await addCollectionAsEarlierVersion(owner, 2);
    expect(await listed(service, owner)).toBe(3);
    // It leaves: the partition's stamp is now older than the set, so it cannot be trusted until
    // a current writer replaces it.
    level = { level: 1, generation: 1 };
    expect(await listed(service, owner)).toBe(3);
    await addCollection(owner, 3);
    expect(await listed(service, owner)).toBe(4);
    expect(await readsDuring(() => listed(service, owner))).toEqual({ collection_range: 1 });
  });

  it("does not trust keys cached under an earlier generation, though the level is back up", async () => {
    const owner = `${uniqueName("generation")}@example.test`;
    let level: ClusterLevel = { level: 1, generation: 0 };
    const service = new QueryService(store, LIMITS, () => level);
    await addCollection(owner, 0);
    expect(await listed(service, owner)).toBe(1);
    // An earlier version came and went between two pages; what it wrote must show.
    await addCollectionAsEarlierVersion(owner, 1);
    level = { level: 1, generation: 1 };
    expect(await listed(service, owner)).toBe(2);
  });
});
