import { Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { ArchiveRequest } from "../archive/model.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { keys } from "./keys.ts";

/** A message copy from the server's feed, as queued for its owner's actor. */
export interface FeedCopy {
  /** "<feed>:<seq>": unique per copy, the de-duplication key. */
  id: string;
  owner: string;
  direction: "sent" | "received";
  /** Server timestamp, epoch ms. */
  at: number;
  /** The original `<message/>` stanza, serialized. */
  stanza: string;
  /** A resend that an earlier edge may already have queued: check it against the applied ids. */
  recheck?: boolean;
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

// Counts a job as applied once, even if a crash makes it run twice.
const COUNT_APPLIED = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 86400) then return redis.call('INCR', KEYS[2]) end
return 0`;

/**
 * One BullMQ queue per shard. Any node enqueues; only the shard's owner consumes, with
 * concurrency 1 so a user's changes apply in the order they were accepted.
 */
export class ShardQueues {
  private readonly queues = new Map<number, Queue<ShardJob>>();
  private readonly workers = new Map<number, Worker<ShardJob>>();

  constructor(
    private readonly redis: Redis,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** Job lock: how long a job stays claimed by a worker that stopped renewing it. */
    private readonly lockMs = 10_000,
  ) {}

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
   * Starts consuming a shard whose lease this node just took. A job the previous owner left
   * active (it died or paused mid-job) must run before anything queued behind it, so the
   * worker starts only once no job is active: the stalled-job check returns such a job to
   * the head of the queue when its lock runs out.
   */
  async startWorker(shard: number, handle: (job: ShardJob, rerun: boolean) => Promise<void>): Promise<void> {
    if (this.workers.has(shard)) return;
    const worker = new Worker<ShardJob>(
      keys.queue(shard),
      async (job: Job<ShardJob>) => {
        // A job that started before (its worker died or lost the lease) may be partly applied.
        await handle(job.data, job.attemptsStarted > 1 || job.stalledCounter > 0);
        await this.redis.eval(COUNT_APPLIED, 2, keys.counted(`${shard}:${job.id}`), keys.applied(shard));
      },
      {
        // BullMQ duplicates this client for the worker's blocking connection.
        connection: this.redis,
        autorun: false,
        concurrency: 1,
        // A stalled job (its worker died) goes back to the queue, never to "failed".
        maxStalledCount: 1_000_000,
        lockDuration: this.lockMs,
        stalledInterval: Math.max(500, Math.floor(this.lockMs / 2)),
        removeOnComplete: { count: 0 },
      },
    );
    worker.on("error", (err) => this.log.warn({ err, shard }, "queue worker error"));
    worker.on("failed", (job, err) => this.log.error({ err, shard, job: job?.id }, "job failed"));
    this.workers.set(shard, worker);
    const queue = this.queue(shard);
    try {
      await worker.startStalledCheckTimer();
      while (this.workers.get(shard) === worker && (await queue.getActiveCount()) > 0) {
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (err) {
      // Redis unreachable: give the slot back so the caller can try again.
      if (this.workers.get(shard) === worker) this.workers.delete(shard);
      await worker.close(true).catch(() => undefined);
      throw err;
    }
    if (this.workers.get(shard) !== worker) return;
    worker.run().catch((err: Error) => this.log.error({ err, shard }, "queue worker stopped"));
  }

  /**
   * Stops consuming a shard. A graceful stop lets the current job finish (bounded by
   * `graceMs`); a forced one abandons it, and BullMQ's stalled-job check hands it to the
   * next owner. A lost lease always forces: this node must not finish the job.
   */
  async stopWorker(shard: number, force = false, graceMs = 5000): Promise<void> {
    const w = this.workers.get(shard);
    if (!w) return;
    this.workers.delete(shard);
    if (force) {
      await w.close(true);
    } else {
      let timer: NodeJS.Timeout | undefined;
      const graceful = w.close().then(() => true);
      const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
      if (!(await Promise.race([graceful, late]))) await w.close(true);
      clearTimeout(timer);
    }
    this.metrics.queueDepth.remove({ shard: String(shard) });
    this.metrics.queueOldestAge.remove({ shard: String(shard) });
  }

  /** Waiting jobs and age of the oldest, for the shards this node consumes. */
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
