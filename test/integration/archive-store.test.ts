import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CollectionMeta } from "../../src/archive/model.ts";
import { FenceClock } from "../../src/cluster/fence.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { ArchiveStore, type CollectionWrite } from "../../src/store/archive-store.ts";
import type { CassandraClient } from "../../src/store/cassandra-client.ts";
import { connectTestKeyspace, uniqueName } from "./support/stack.ts";

// The store against the real Cassandra: one pass's write of many collections of one owner, large
// enough that its rows in the owner's partition go as several batches.
let client: CassandraClient;
let store: ArchiveStore;
const metrics = new Metrics();

beforeAll(async () => {
  client = await connectTestKeyspace();
  store = new ArchiveStore(client, metrics);
});
afterAll(async () => {
  await client?.shutdown();
});

describe("writing many collections of one owner at once", () => {
  it("stores every collection, keeps each peer's newest as its open one, and records every copy", async () => {
    const owner = `${uniqueName("many")}@example.test`;
    const t0 = Date.UTC(2025, 5, 1);
    const peers = Array.from({ length: 200 }, (_, i) => `peer${i}@example.org`);
    // Two collections per peer, the older first (the order an actor opens them in).
    const writes: CollectionWrite[] = [];
    for (const [round, offset] of [[0, 0], [1, 3_600_000]] as const) {
      peers.forEach((peer, i) => {
        const start = t0 + offset + i * 1000;
        const meta: CollectionMeta = { with: peer, start, version: 0, count: 2, lastAt: start + 1000 };
        writes.push({
          meta,
          items: [
            { kind: "to", at: start, payload: `<body>${round} ${i} a</body>` },
            { kind: "from", at: start + 1000, payload: `<body>${round} ${i} b</body>` },
          ],
          copyIds: [`f:${round}:${i}:a`, `f:${round}:${i}:b`],
          open: true,
          sparse: true,
          fresh: true,
          latestStart: t0 + 3_600_000 + i * 1000,
        });
      });
    }
    await store.writeCollections(owner, writes, Date.now(), { timestamp: new FenceClock(1, Date.now()).next() });
    // More than one batch of the owner's partition: the split is what this case exercises.
    const batches = (await metrics.cassandraDuration.get()).values.find((v) => v.metricName?.endsWith("_count") && v.labels.statement === "collection_write");
    expect(batches?.value).toBeGreaterThan(1);

    expect(await store.scanCollectionKeys(owner, {})).toHaveLength(400);
    expect(await store.scanChanges(owner, 0)).toHaveLength(400);
    expect(await store.listVersion(owner)).not.toBe("");
    const ids = writes.flatMap((w) => w.copyIds ?? []);
    expect((await store.seenCopies(owner, ids)).size).toBe(ids.length);
    for (const i of [0, 99, 199]) {
      const state = await store.peerState(owner, peers[i]!);
      expect(state?.open?.start).toBe(t0 + 3_600_000 + i * 1000);
      expect(state?.latestStart).toBe(t0 + 3_600_000 + i * 1000);
      const items = await store.readItems(owner, { with: peers[i]!, start: t0 + i * 1000 }, 0, 10);
      expect(items.map((it) => it.payload)).toEqual([`<body>0 ${i} a</body>`, `<body>0 ${i} b</body>`]);
    }
    // Every write now knows where its change-log entry sits.
    expect(writes.every((w) => w.meta.changedAt !== undefined)).toBe(true);
  });
});
