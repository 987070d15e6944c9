import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ShardQueues, type FeedCopy, type ShardJob } from "../../src/cluster/shard-queues.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { stackEnv } from "./support/stack.ts";
import { waitUntil } from "./support/node.ts";

// The node-wide limit on shard passes, against the real Redis and BullMQ: passes never overlap
// past the limit, every shard still gets its turn in order, and a shard with nothing queued
// does not keep a slot from the others.

const DB = 5;

function copy(owner: string, seq: number): FeedCopy {
  return { id: `t:${owner}:${seq}`, owner, direction: "sent", at: Date.now(), body: String(seq) };
}

describe("shard passes in flight", () => {
  let redis: Redis;
  let queues: ShardQueues | undefined;
  beforeAll(async () => {
    redis = new Redis(`${stackEnv().REDIS_URL}/${DB}`, { maxRetriesPerRequest: null });
    await redis.flushdb();
  });
  afterEach(async () => {
    await queues?.close();
    queues = undefined;
    await redis.flushdb();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("applies at most the configured passes at once, and every shard's jobs in order", async () => {
    queues = new ShardQueues(redis, new Metrics(), createLogger("error"), 10_000, 2);
    const shards = [0, 1, 2, 3, 4];
    const perShard = 12;
    const enqueue = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        for (const shard of shards) await queues!.enqueue(shard, { kind: "copies", copies: [copy(`u${shard}`, i)] });
      }
    };
    await enqueue(0, perShard / 2);
    let running = 0;
    let most = 0;
    const seen = new Map<number, number[]>();
    const handler = (shard: number) => async (job: ShardJob) => {
      running++;
      most = Math.max(most, running);
      // Long enough that the other shards' consumers are all asking for a slot meanwhile.
      await new Promise((r) => setTimeout(r, 30));
      if (job.kind === "copies") for (const c of job.copies) (seen.get(shard) ?? seen.set(shard, []).get(shard)!).push(Number(c.body));
      running--;
    };
    for (const shard of shards) await queues.startWorker(shard, handler(shard), () => true);
    // The rest arrive while passes run, so each shard takes several passes.
    await enqueue(perShard / 2, perShard);
    await waitUntil(() => shards.every((s) => (seen.get(s)?.length ?? 0) === perShard), 20_000);
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThan(0);
    for (const s of shards) expect(seen.get(s)).toEqual([...Array(perShard).keys()]);
    // The read barrier counts every job as applied.
    for (const s of shards) expect(await queues.barrier(s, 1000)).toBe(true);
  });

  it("lets a shard with an empty queue wait without holding the only slot", async () => {
    queues = new ShardQueues(redis, new Metrics(), createLogger("error"), 10_000, 1);
    const applied: string[] = [];
    const handler = (shard: number) => async (job: ShardJob) => {
      if (job.kind === "copies") for (const c of job.copies) applied.push(`${shard}:${c.body}`);
    };
    // The idle shard starts first, so it asks for the slot before the busy one.
    await queues.startWorker(7, handler(7), () => true);
    await new Promise((r) => setTimeout(r, 100));
    await queues.startWorker(8, handler(8), () => true);
    await queues.enqueue(8, { kind: "copies", copies: [copy("busy", 1)] });
    await waitUntil(() => applied.includes("8:1"), 5000);
    // And the idle shard still wakes for its own first job.
    await queues.enqueue(7, { kind: "copies", copies: [copy("quiet", 1)] });
    await waitUntil(() => applied.includes("7:1"), 5000);
    await queues.enqueue(8, { kind: "copies", copies: [copy("busy", 2)] });
    await waitUntil(() => applied.includes("8:2"), 5000);
  });
});
