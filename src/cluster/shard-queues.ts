import { randomUUID } from "node:crypto";
import { Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { ArchiveRequest } from "../archive/model.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { keys } from "./keys.ts";
import { PassGate } from "./pass-gate.ts";

/** A message copy from the server's feed, as queued for its owner's actor. */
export interface FeedCopy {
  /** "<feed>:<seq>": unique per copy, the de-duplication key. */
  id: string;
  owner: string;
  direction: "sent" | "received";
  /** Server timestamp, epoch ms. */
  at: number;
  /**
   * Read from the message at the edge, so the owner never parses it: prepared `from` and `to`,
   * `<thread/>`, the `<body/>` payload, and every child (what save='message' keeps) when that
   * differs from the body payload.
   */
  from?: string;
  to?: string;
  thread?: string;
  body?: string;
  whole?: string;
  /**
   * The original `<message/>` stanza, serialized: only in jobs queued by nodes of earlier
   * versions, which the owner then parses for what is missing above.
   */
  stanza?: string;
  /** A resend that an earlier edge may already have queued: check it against the applied ids. */
  recheck?: boolean;
  /** When the edge received it, epoch ms (for the arrival-to-durable delay). */
  arrivedAt?: number;
}

/** A change to one user's archive, applied by that user's actor; its outcome is published to `replyTo`. */
export interface CommandJob {
  owner: string;
  /** Full JID of the resource that asked. */
  requester: string;
  request: ArchiveRequest;
  replyTo: string;
  replyId: string;
}

export type ShardJob =
  | { kind: "copies"; copies: FeedCopy[] }
  | { kind: "command"; command: CommandJob }
  | { kind: "presence"; owner: string; jid: string; online: boolean; at: number };

/** The consumer of one owned shard. */
interface Consumer {
  worker: Worker<ShardJob>;
  stopped: boolean;
  /** The job being applied, if any (settles when it is done or abandoned). */
  current: Promise<void> | undefined;
  extender: NodeJS.Timeout | undefined;
}

// Counts jobs as applied (KEYS[1]: the shard's counter; then one mark per job), each once even
// if a crash makes it run twice.
const COUNT_APPLIED = `
local n = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', 86400) then n = n + 1 end
end
if n > 0 then redis.call('INCRBY', KEYS[1], n) end
return n`;

// Whether the jobs a consumer holds are the head of its shard's queue (KEYS: active, wait;
// ARGV: how many jobs it holds, the highest id it is about to apply, how many waiting jobs to
// look at from the head). Workers take from the list's right end, so that end is the head.
// Anything else active is held by another consumer, and a lower id at the head came back
// after this consumer fetched past it: either way applying now would reorder the shard.
const CHECK_HEAD = `
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
local top = tonumber(ARGV[2])
for _, id in ipairs(redis.call('LRANGE', KEYS[2], -tonumber(ARGV[3]), -1)) do
  local n = tonumber(id)
  if n and n < top then return 0 end
end
return 1`;

// Once nothing is active, sorts the head of the wait list (KEYS: active, wait; ARGV: how many)
// so the lowest id is taken first. Jobs go back to the head one by one and in no set order,
// while everything behind them was queued later and is already in order.
const SORT_HEAD = `
if redis.call('LLEN', KEYS[1]) > 0 then return 0 end
local head = redis.call('LRANGE', KEYS[2], -tonumber(ARGV[1]), -1)
table.sort(head, function(a, b) return (tonumber(a) or 0) > (tonumber(b) or 0) end)
redis.call('LTRIM', KEYS[2], 0, -(#head + 1))
for _, id in ipairs(head) do redis.call('RPUSH', KEYS[2], id) end
return 1`;

/** Copies jobs applied together, at most (a backlog is worked off in passes this large). */
const GROUP_MAX_JOBS = 200;
const GROUP_MAX_COPIES = 5000;
/** Gathering stops after this long (stalled jobs excepted), so the first job is not held up. */
const GROUP_MAX_GATHER_MS = 200;
/** Never more than this many jobs held at once, stalled ones included. */
const GROUP_HARD_MAX = 1000;
/** Jobs that come back to the head of a queue together number at most what one consumer held. */
const HEAD_SCAN = GROUP_HARD_MAX + 1;

const jobNumber = (j: Job<ShardJob>): number => Number(j.id);
const byIdAscending = (a: Job<ShardJob>, b: Job<ShardJob>): number => jobNumber(a) - jobNumber(b);
const byIdDescending = (a: Job<ShardJob>, b: Job<ShardJob>): number => jobNumber(b) - jobNumber(a);

/**
 * One BullMQ queue per shard. Any node enqueues; only the shard's owner consumes, with
 * concurrency 1 so a user's changes apply in the order they were accepted.
 */
export class ShardQueues {
  private readonly queues = new Map<number, Queue<ShardJob>>();
  private readonly workers = new Map<number, Consumer>();
  private readonly gate: PassGate;

  constructor(
    private readonly redis: Redis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** Job lock: how long a job stays claimed by a worker that stopped renewing it. */
    private readonly lockMs = 10_000,
    /** Passes (one shard's gathered jobs each) applied at once over all owned shards. */
    passesInFlight = 2,
  ) {
    this.gate = new PassGate(passesInFlight);
  }

  private queue(shard: number): Queue<ShardJob> {
    let q = this.queues.get(shard);
    if (!q) {
      q = new Queue<ShardJob>(keys.queue(shard), {
        connection: this.redis,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: false, attempts: 1 },
      });
      this.queues.set(shard, q);
    }
    return q;
  }

  /** Durable in Redis when this resolves; counted for the read barrier. */
  async enqueue(shard: number, job: ShardJob): Promise<void> {
    await this.queue(shard).add(job.kind, job);
    await this.redis.incr(keys.enqueued(shard));
  }

  /**
   * Waits until every job enqueued to the shard before this call has been applied.
   * Resolves false if that takes longer than `timeoutMs`.
   */
  async barrier(shard: number, timeoutMs: number): Promise<boolean> {
    const target = Number((await this.redis.get(keys.enqueued(shard))) ?? 0);
    const deadline = Date.now() + timeoutMs;
    let delay = 2;
    for (;;) {
      const applied = Number((await this.redis.get(keys.applied(shard))) ?? 0);
      if (applied >= target) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  /**
   * Starts consuming a shard whose lease this node just took. Jobs are fetched one at a time,
   * and only while `leaseValid()` holds: a node that wakes from a pause past its lease must
   * not take the next job away from the new owner, or the shard's order would break.
   *
   * A job the previous owner left active (it died or paused mid-job) must run before anything
   * queued behind it, so fetching starts only once no job is active: the stalled-job check
   * returns such a job to the head of the queue when its lock runs out.
   */
  async startWorker(shard: number, handle: (job: ShardJob, rerun: boolean) => Promise<void>, leaseValid: () => boolean): Promise<void> {
    if (this.workers.has(shard)) return;
    const worker = new Worker<ShardJob>(keys.queue(shard), null, {
      // BullMQ duplicates this client for the worker's blocking connection.
      connection: this.redis,
      autorun: false,
      // A stalled job (its worker died) goes back to the queue, never to "failed".
      maxStalledCount: 1_000_000,
      lockDuration: this.lockMs,
      stalledInterval: Math.max(500, Math.floor(this.lockMs / 2)),
      drainDelay: 1,
    });
    worker.on("error", (err) => this.log.warn({ err: err.message, shard }, "queue worker error"));
    const consumer: Consumer = { worker, stopped: false, current: undefined, extender: undefined };
    this.workers.set(shard, consumer);
    const queue = this.queue(shard);
    try {
      await worker.startStalledCheckTimer();
      while (!consumer.stopped && (await queue.getActiveCount()) > 0) {
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      // Redis unreachable: give the slot back so the caller can try again.
      if (this.workers.get(shard) === consumer) this.workers.delete(shard);
      await worker.close(true).catch(() => undefined);
      throw err;
    }
    void this.consume(shard, consumer, handle, leaseValid);
  }

  private async consume(shard: number, c: Consumer, handle: (job: ShardJob, rerun: boolean) => Promise<void>, leaseValid: () => boolean): Promise<void> {
    const token = randomUUID();
    // A job fetched while gathering a group that cannot join it runs next.
    let carry: Job<ShardJob> | undefined;
    // Whether this consumer holds one of the node's pass slots (kept while a carried job waits).
    let slot = false;
    const acquire = async (): Promise<void> => {
      if (slot) return;
      await this.gate.take();
      slot = true;
    };
    const tryAcquire = (): boolean => slot || (slot = this.gate.tryTake());
    // Jobs this consumer fetched and gave back unapplied, by id: BullMQ counts every fetch as
    // an attempt started, and only the others can have left part of a job applied.
    const returned = new Map<string, number>();
    const rerun = (j: Job<ShardJob>): boolean => j.attemptsStarted - (returned.get(j.id ?? "") ?? 0) > 1 || j.stalledCounter > 0;
    const release = (): void => {
      if (!slot) return;
      slot = false;
      this.gate.give();
    };
    const putBack = async (jobs: Job<ShardJob>[]) => {
      // Each goes back to the head of the queue: highest id first, so the lowest ends up in front.
      for (const j of [...jobs].sort(byIdDescending)) await j.moveToWait(token).catch(() => undefined);
    };
    // One pass, in a function of its own: what it held (its jobs and their copies) is garbage once
    // it returns. Held in this loop's frame, the last pass's jobs would stay alive while the shard
    // waits for its next turn, outliving young-generation collections.
    const pass = async (): Promise<void> => {
      let job: Job<ShardJob> | undefined = carry;
      carry = undefined;
      try {
        job ??= await c.worker.getNextJob(token, { block: false });
        if (!job) {
          // Nothing waiting: the slot goes back while this shard waits for its next job.
          release();
          job = await c.worker.getNextJob(token, { block: true });
          // Woken by a job while every slot is taken (other shards' turns come first): it goes
          // back to the head of the queue until this shard's turn, as a shard waiting for a slot
          // leaves its jobs in Redis. Held in the heap for that long, it would outlive young-
          // generation collections and be copied and promoted with everything it carries.
          if (job && !tryAcquire()) {
            const id = job.id ?? "";
            if (await job.moveToWait(token).then(() => true, () => false)) returned.set(id, (returned.get(id) ?? 0) + 1);
            return;
          }
        }
      } catch (err) {
        release();
        if (!c.stopped) {
          this.log.warn({ err: (err as Error).message, shard }, "could not fetch a job; retrying");
          await new Promise((r) => setTimeout(r, 500));
        }
        return;
      }
      if (!job) return;
      const group = [job];
      // Every job held is kept locked from the moment it is fetched, gathering included.
      const locked = [job];
      c.extender = setInterval(() => {
        for (const j of locked) void j.extendLock(token, this.lockMs).catch(() => undefined);
      }, Math.max(250, this.lockMs / 3));
      // Only a job that came from waiting on an empty queue can be here without a slot.
      await acquire();
      // A job fetched after the lease ran out goes straight back, with nothing gathered behind it.
      if (job.data.kind === "copies" && !c.stopped && leaseValid()) carry = await this.gather(c, token, group, locked);
      if (c.stopped || !leaseValid()) {
        // Taken just as the lease ran out: back to the head of the queue for whoever owns it next.
        clearInterval(c.extender);
        c.extender = undefined;
        await putBack(locked);
        carry = undefined;
        release();
        return;
      }
      group.sort(byIdAscending);
      const head = await this.atHead(shard, group, carry, locked.length, c, leaseValid);
      if (head !== true) {
        clearInterval(c.extender);
        c.extender = undefined;
        await putBack(locked);
        carry = undefined;
        release();
        if (head === false) {
          // A node that lost this shard without noticing yet (paused, or cut off from Redis) took
          // a job from under this one. Everything goes back, and once that job is back too the
          // queue's head is put in order again before the next fetch.
          this.log.warn({ shard, jobs: locked.map((j) => j.id) }, "jobs of this shard were taken out of order; restoring its order");
          await this.restoreHead(shard, c, leaseValid);
        }
        return;
      }
      const merged: ShardJob =
        group.length === 1 ? group[0]!.data : { kind: "copies", copies: group.flatMap((j) => (j.data.kind === "copies" ? j.data.copies : [])) };
      const run = (async () => {
        // A job that started before (its worker died or lost the lease) may be partly applied.
        await handle(merged, group.some(rerun));
        for (const j of group) returned.delete(j.id ?? "");
        // Durable: another shard's pass may start while this one's bookkeeping goes to Redis
        // (a carried job keeps the slot, so its lock is not left to run out while it waits).
        if (!carry) release();
        // One round trip counts the whole group.
        await this.redis.eval(COUNT_APPLIED, group.length + 1, keys.applied(shard), ...group.map((held) => keys.counted(`${shard}:${held.id}`)));
        // All sent at once: the connection pipelines them.
        await Promise.all(
          group.map((held) =>
            held.moveToCompleted(undefined, token, false).catch((err: Error) =>
              // Applied, but its lock ran out (a long stall): the queue hands it out again and
              // the copies it carries are recognised as applied.
              this.log.warn({ err: err.message, shard, job: held.id }, "applied job lost its lock; it will run again as a no-op"),
            ),
          ),
        );
      })();
      c.current = run.catch(() => undefined);
      try {
        await run;
      } catch (err) {
        // Only errors that retrying cannot cure reach here (storage errors are retried inside).
        this.log.error({ err, shard, jobs: group.map((j) => j.id) }, "job failed");
        for (const held of group) await held.moveToFailed(err as Error, token).catch(() => undefined);
      } finally {
        clearInterval(c.extender);
        c.extender = undefined;
        c.current = undefined;
        if (!carry) release();
      }
    };
    while (!c.stopped) {
      if (!leaseValid()) {
        if (carry) await putBack([carry]);
        carry = undefined;
        release();
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      // A slot first, then the job: a shard waiting for its turn leaves its jobs in Redis.
      await acquire();
      if (c.stopped) break;
      // The wait for a slot can outlast the lease.
      if (!leaseValid()) continue;
      await pass();
    }
    if (carry) await putBack([carry]);
    release();
  }

  /**
   * Whether `group` (sorted), and `carry` behind it, are what comes next in the shard's queue
   * (`held` jobs in all): no one else holds a job of it, and no lower id has come back to its head.
   * Undefined when the lease ran out (or the consumer stopped) before Redis could tell.
   */
  private async atHead(
    shard: number,
    group: Job<ShardJob>[],
    carry: Job<ShardJob> | undefined,
    held: number,
    c: Consumer,
    leaseValid: () => boolean,
  ): Promise<boolean | undefined> {
    const top = jobNumber(group[group.length - 1]!);
    // A job that could not join (a command after a stalled group) must not have been overtaken.
    if (carry && jobNumber(carry) < top) return false;
    const q = this.queue(shard);
    // Redis unreachable: nothing could be completed now anyway; ask again while the lease lasts.
    while (!c.stopped && leaseValid()) {
      try {
        return Number(await this.redis.eval(CHECK_HEAD, 2, q.keys.active!, q.keys.wait!, held, top, HEAD_SCAN)) === 1;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return undefined;
  }

  /** Waits until no job of the shard is active, then sorts the head of its queue. */
  private async restoreHead(shard: number, c: Consumer, leaseValid: () => boolean): Promise<void> {
    const q = this.queue(shard);
    while (!c.stopped && leaseValid()) {
      const sorted = await this.redis.eval(SORT_HEAD, 2, q.keys.active!, q.keys.wait!, HEAD_SCAN).catch(() => 0);
      if (Number(sorted) === 1) return;
      // The other consumer's jobs come back when it puts them back, or when their locks run out.
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Adds the copies jobs waiting right behind `group[0]` to it, so that one pass writes each
   * collection once for all of them. Jobs taken back after a failure (stalled) sit together at
   * the head of the queue in no particular order: all of them join, to be sorted back by id.
   * Returns the first job that cannot join (it runs next), if one was fetched.
   */
  private async gather(c: Consumer, token: string, group: Job<ShardJob>[], locked: Job<ShardJob>[]): Promise<Job<ShardJob> | undefined> {
    let copies = group[0]!.data.kind === "copies" ? group[0]!.data.copies.length : 0;
    const started = Date.now();
    for (;;) {
      const stalled = group.some((j) => j.stalledCounter > 0);
      if (group.length >= GROUP_HARD_MAX) return undefined;
      const full = group.length >= GROUP_MAX_JOBS || copies >= GROUP_MAX_COPIES || Date.now() - started > GROUP_MAX_GATHER_MS;
      if (!stalled && full) return undefined;
      let next: Job<ShardJob> | undefined;
      try {
        next = await c.worker.getNextJob(token, { block: false });
      } catch {
        return undefined;
      }
      if (!next) return undefined;
      locked.push(next);
      if (next.data.kind !== "copies") return next;
      group.push(next);
      copies += next.data.copies.length;
    }
  }
  /**
   * Stops consuming a shard. A graceful stop lets the current job finish (bounded by
   * `graceMs`); a forced one abandons it: its lock is no longer extended, and BullMQ's
   * stalled-job check hands it to the next owner. A lost lease always forces.
   */
  async stopWorker(shard: number, force = false, graceMs = 5000): Promise<void> {
    const c = this.workers.get(shard);
    if (!c) return;
    this.workers.delete(shard);
    c.stopped = true;
    if (!force && c.current) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([c.current, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    clearInterval(c.extender);
    await c.worker.close(true).catch(() => undefined);
    this.metrics.queueDepth.remove({ shard: String(shard) });
    this.metrics.queueOldestAge.remove({ shard: String(shard) });
  }

  async depths(): Promise<{ shard: number; depth: number; oldestAgeSeconds: number }[]> {
    const out: { shard: number; depth: number; oldestAgeSeconds: number }[] = [];
    for (const shard of this.workers.keys()) {
      const q = this.queue(shard);
      const depth = await q.getWaitingCount();
      const [oldest] = await q.getWaiting(0, 0);
      const age = oldest ? (Date.now() - oldest.timestamp) / 1000 : 0;
      this.metrics.queueDepth.set({ shard: String(shard) }, depth);
      this.metrics.queueOldestAge.set({ shard: String(shard) }, age);
      out.push({ shard, depth, oldestAgeSeconds: age });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((s) => this.stopWorker(s)));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
