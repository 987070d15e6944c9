import { randomUUID } from "node:crypto";
import v8 from "node:v8";
import vm from "node:vm";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/cluster/keys.ts";
import { ShardQueues, type FeedCopy, type ShardJob } from "../../src/cluster/shard-queues.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { stackEnv } from "./support/stack.ts";
import { waitUntil } from "./support/node.ts";

// The node-wide limit on shard passes, against the real Redis and BullMQ: passes never overlap
// past the limit, every shard still gets its turn in order, and a shard with nothing queued
// does not keep a slot from the others. And a job taken from under the owner by another consumer
// (a node that lost the shard and has not noticed yet) never lets later jobs overtake it.

const DB = 5;

function copy(owner: string, seq: number): FeedCopy {
  return { id: `t:${owner}:${seq}`, owner, direction: "sent", at: Date.now(), body: String(seq) };
}

/** A pass that keeps its slot until `release` is called; `running` says whether it has begun. */
function heldPass(): { handler: () => Promise<void>; running: () => boolean; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let begun = false;
  return {
    handler: async () => {
      begun = true;
      await released;
    },
    running: () => begun,
    release: () => release(),
  };
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

  it("leaves a job that wakes a shard while every slot is taken in Redis, and applies it as a first attempt", async () => {
    queues = new ShardQueues(redis, new Metrics(), createLogger("error"), 10_000, 1);
    const waiting = new Queue<ShardJob>(keys.queue(4), { connection: redis });
    const held = heldPass();
    const runs: { body: string; rerun: boolean }[] = [];
    // Shard 4 starts with nothing queued, so it waits for its next job without a slot.
    await queues.startWorker(4, async (job, rerun) => {
      if (job.kind === "copies") for (const c of job.copies) runs.push({ body: c.body!, rerun });
    }, () => true);
    await new Promise((r) => setTimeout(r, 100));
    await queues.startWorker(3, held.handler, () => true);
    await queues.enqueue(3, { kind: "copies", copies: [copy("busy", 0)] });
    await waitUntil(held.running, 5000);
    // Its job arrives while shard 3's pass holds the only slot: fetched, then given back.
    await queues.enqueue(4, { kind: "copies", copies: [copy("quiet", 1)] });
    const [id] = (await waiting.getJobs(["waiting", "active"])).map((j) => j.id);
    await waitUntil(async () => ((await waiting.getJob(id!))?.attemptsStarted ?? 0) >= 1 && (await waiting.getJobState(id!)) === "waiting", 5000);
    expect(runs).toEqual([]);
    held.release();
    await waitUntil(() => runs.length === 1, 5000);
    // Given back unapplied, it is not taken for a job that may be partly applied.
    expect(runs).toEqual([{ body: "1", rerun: false }]);
    await waiting.close();
  });

  it("keeps nothing of a pass once it is done, while the shard waits for its next turn", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    queues = new ShardQueues(redis, new Metrics(), createLogger("error"), 10_000, 1);
    const held = heldPass();
    // Shard 5 waits for a job; it gets one while shard 6 applies its own, so that shard 6 then
    // waits for the slot while shard 5's pass holds it.
    await queues.startWorker(5, held.handler, () => true);
    let applied: WeakRef<ShardJob> | undefined;
    await queues.startWorker(6, async (job) => {
      applied = new WeakRef(job);
      await queues!.enqueue(5, { kind: "copies", copies: [copy("other", 1)] });
      await queues!.enqueue(6, { kind: "copies", copies: [copy("next", 2)] });
      await new Promise((r) => setTimeout(r, 200));
    }, () => true);
    await queues.enqueue(6, { kind: "copies", copies: [copy("first", 1)] });
    await waitUntil(held.running, 5000);
    // What shard 6 applied is garbage while it waits for its turn.
    await waitUntil(async () => {
      gc();
      await new Promise((r) => setImmediate(r));
      return applied !== undefined && applied.deref() === undefined;
    }, 3000);
    held.release();
    expect(await queues.barrier(6, 5000)).toBe(true);
  });

  it("keeps a command in its place among the copies jobs gathered into passes", async () => {
    queues = new ShardQueues(redis, new Metrics(), createLogger("error"), 10_000, 1);
    const shard = 9;
    // All queued before the worker starts, one after another so that their order is known.
    const enqueueCopies = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await queues!.enqueue(shard, { kind: "copies", copies: [copy("mixed", i)] });
    };
    await enqueueCopies(0, 2);
    const command: ShardJob = { kind: "command", command: { owner: "mixed", requester: "mixed/r", request: { op: "pref-get" }, replyTo: "r", replyId: "1" } };
    await queues.enqueue(shard, command);
    await enqueueCopies(2, 12);
    const passes: string[][] = [];
    await queues.startWorker(
      shard,
      async (job) => void passes.push(job.kind === "copies" ? job.copies.map((c) => c.body!) : ["command"]),
      () => true,
    );
    await waitUntil(() => passes.flat().length === 13, 5000);
    expect(passes.flat()).toEqual(["0", "1", "command", ...Array.from({ length: 10 }, (_, i) => String(i + 2))]);
    // The jobs before the command make one pass, the command its own, the rest one more.
    expect(passes).toEqual([["0", "1"], ["command"], Array.from({ length: 10 }, (_, i) => String(i + 2))]);
    expect(await queues.barrier(shard, 1000)).toBe(true);
  });

  describe("a job held by another consumer", () => {
    // The owner's only slot is held by a pass on another shard while its jobs arrive, and the
    // other consumer takes the first of them meanwhile: the owner gets its slot back with that
    // job gone from the head of the queue.
    async function overtake(lockMs: number, giveBack: (thief: Worker, job: NonNullable<Awaited<ReturnType<Worker["getNextJob"]>>>, token: string) => Promise<void>) {
      queues = new ShardQueues(redis, new Metrics(), createLogger("silent"), lockMs, 1);
      const held = heldPass();
      const applied: number[] = [];
      await queues.startWorker(2, held.handler, () => true);
      await queues.enqueue(2, { kind: "copies", copies: [copy("other", 0)] });
      // Shard 1's consumer starts only now, so it waits for the slot before it fetches anything.
      await waitUntil(held.running, 5000);
      await queues.startWorker(1, async (job) => {
        if (job.kind === "copies") for (const c of job.copies) applied.push(Number(c.body));
      }, () => true);
      for (let i = 1; i <= 10; i++) await queues.enqueue(1, { kind: "copies", copies: [copy("u", i)] });
      const thief = new Worker<ShardJob>(keys.queue(1), null, { connection: redis, autorun: false, lockDuration: lockMs });
      const token = randomUUID();
      const job = await thief.getNextJob(token, { block: false });
      expect(job?.data.kind === "copies" && job.data.copies[0]!.body).toBe("1");
      held.release();
      await giveBack(thief, job!, token);
      await waitUntil(() => applied.length >= 10, 30_000);
      await thief.close(true);
      expect(applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }

    it("waits for it to be put back, then applies the shard's jobs in order", async () => {
      await overtake(10_000, async (_thief, job, token) => {
        await new Promise((r) => setTimeout(r, 500));
        await job.moveToWait(token);
      });
    });

    it("waits for its lock to run out when the other consumer is gone, then applies in order", async () => {
      await overtake(1000, async (thief) => {
        await thief.close(true);
      });
    });
  });
});
