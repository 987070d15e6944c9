import type { Redis } from "ioredis";
import { ownerOf } from "../archive/shard.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { STORAGE_LEVEL } from "../store/storage-level.ts";
import { FenceClock } from "./fence.ts";
import { lowestLevel, nextClusterLevel, staleLevels, type ClusterLevel } from "./levels.ts";
import { keys } from "./keys.ts";

// Lease scripts: a lease value is "<node>|<epoch>"; the epoch grows on every change of owner.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == false then
  local e = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. e, 'PX', ARGV[2])
  return e
end
local bar = string.find(cur, '|', 1, true)
if string.sub(cur, 1, bar - 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(cur, bar + 1))
end
return -1`;
// Renews every lease of a node in one round trip: KEYS are the leases, ARGV[i] the value each
// must still hold, ARGV[#KEYS + 1] the TTL. Returns 1 per lease renewed, 0 per lease lost.
const RENEW_ALL = `
local ttl = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then out[i] = redis.call('PEXPIRE', key, ttl) else out[i] = 0 end
end
return out`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface ShardLease {
  shard: number;
  epoch: number;
  clock: FenceClock;
  /** Local deadline: past it the node must not write for this shard (the lease may be gone). */
  validUntil: number;
}

export interface ShardHandlers {
  acquired(lease: ShardLease): Promise<void>;
  /** Called before the lease is given up or after it was lost; must stop all work on the shard. */
  released(shard: number, lost: boolean): Promise<void>;
}

/**
 * Membership (heartbeats in a sorted set, each member's storage level in a hash beside it)
 * and shard ownership (rendezvous hashing over live members, each shard held through a Redis
 * lease with a fencing epoch).
 */
export class ShardManager {
  private readonly owned = new Map<number, ShardLease>();
  private timer: NodeJS.Timeout | undefined;
  /** Ticks and early acquisitions run one at a time. */
  private serial: Promise<void> = Promise.resolve();
  private want = new Set<number>();
  private readonly retries = new Map<number, NodeJS.Timeout>();
  private stopped = false;
  private joined = false;
  private level: ClusterLevel = { level: 0, generation: 0 };
  readonly renewEveryMs: number;

  constructor(
    private readonly redis: Redis,
    readonly nodeId: string,
    private readonly shardCount: number,
    private readonly ttlMs: number,
    private readonly handlers: ShardHandlers,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The storage level this node advertises. */
    private readonly storageLevel = STORAGE_LEVEL,
  ) {
    this.renewEveryMs = Math.max(200, Math.floor(ttlMs / 3));
  }

  get hasJoined(): boolean {
    return this.joined;
  }

  lease(shard: number): ShardLease | undefined {
    const l = this.owned.get(shard);
    return l && Date.now() < l.validUntil ? l : undefined;
  }

  /** Whether this lease is still the one the node holds for its shard (it may be past its deadline). */
  holds(lease: ShardLease): boolean {
    return this.owned.get(lease.shard) === lease;
  }

  ownedShards(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.exclusive(() => this.tickOnce());
    this.schedule();
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.serial.then(fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.exclusive(() => this.tickOnce()).finally(() => this.schedule());
    }, this.renewEveryMs);
  }

  /**
   * Members heard from within two renewal intervals. This is shorter than the lease TTL on
   * purpose: the survivors learn of a dead member before its leases run out, and are ready to
   * take its shards the moment they do.
   */
  async liveMembers(now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(keys.members, this.liveSince(now), "+inf");
  }

  private liveSince(now: number): number {
    return now - 2 * this.renewEveryMs - 100;
  }

  /**
   * The cluster's storage level as of the last tick. A member of a lower level that joined
   * since can have written in the older format for up to one renewal interval before this
   * changes; a reader that relies on the newer format keeps what it learnt under one
   * generation only while the generation stays the same.
   */
  clusterLevel(): ClusterLevel {
    return this.level;
  }

  /** Heartbeat in one round trip: own entry and level written, silent members dropped, all read back. */
  private async heartbeat(now: number): Promise<{ live: string[]; level: number }> {
    const res = await this.redis
      .multi()
      .zadd(keys.members, now, this.nodeId)
      .hset(keys.memberLevels, this.nodeId, String(this.storageLevel))
      // Members silent for long are dropped so the set does not grow forever.
      .zremrangebyscore(keys.members, "-inf", now - 10 * this.ttlMs)
      .zrangebyscore(keys.members, String(this.liveSince(now)), "+inf")
      .hgetall(keys.memberLevels)
      .zrange(keys.members, "0", "-1")
      .exec();
    if (!res) throw new Error("membership transaction aborted");
    for (const [err] of res) if (err) throw err;
    const live = res[3]![1] as string[];
    const levels = res[4]![1] as Record<string, string>;
    // Levels of members dropped from the set go with them.
    const gone = staleLevels(levels, new Set(res[5]![1] as string[]), this.nodeId);
    if (gone.length > 0) await this.redis.hdel(keys.memberLevels, ...gone);
    if (!live.includes(this.nodeId)) live.push(this.nodeId);
    return { live, level: lowestLevel(live, levels, this.nodeId, this.storageLevel) };
  }

  private async tickOnce(): Promise<void> {
    const now = Date.now();
    try {
      const { live, level } = await this.heartbeat(now);
      const next = nextClusterLevel(this.level, level);
      if (next !== this.level) this.log.info({ level }, "cluster storage level");
      this.level = next;
      const want = new Set<number>();
      for (let s = 0; s < this.shardCount; s++) if (ownerOf(s, live) === this.nodeId) want.add(s);
      this.want = want;
      const keep: ShardLease[] = [];
      for (const [shard, lease] of this.owned) {
        if (!want.has(shard) || lease.clock.exhausted(now)) await this.release(shard, false);
        else keep.push(lease);
      }
      await this.renew(keep, now);
      for (const shard of want) if (!this.owned.has(shard)) await this.acquire(shard, now);
      this.joined = true;
    } catch (err) {
      this.log.warn({ err }, "cluster tick failed");
      // Leases whose deadline passed are lost: stop working on them.
      for (const [shard, lease] of this.owned) if (Date.now() >= lease.validUntil) await this.lose(shard);
    }
    this.metrics.shardsOwned.set(this.owned.size);
  }

  private async acquire(shard: number, now: number): Promise<void> {
    const epoch = Number(await this.redis.eval(ACQUIRE, 2, keys.lease(shard), keys.epoch(shard), this.nodeId, this.ttlMs));
    if (epoch < 0) {
      // Still held by its previous owner: try again the moment that lease runs out.
      this.retryAt(shard, Number(await this.redis.pttl(keys.lease(shard))));
      return;
    }
    const lease: ShardLease = { shard, epoch, clock: new FenceClock(epoch, now), validUntil: now + this.ttlMs * 0.8 };
    this.owned.set(shard, lease);
    this.metrics.leaseAcquisitions.inc();
    this.log.info({ shard, epoch }, "shard acquired");
    await this.handlers.acquired(lease);
  }

  private retryAt(shard: number, inMs: number): void {
    if (this.retries.has(shard) || !(inMs > 0)) return;
    const t = setTimeout(() => {
      this.retries.delete(shard);
      void this.exclusive(async () => {
        if (this.stopped || this.owned.has(shard) || !this.want.has(shard)) return;
        await this.acquire(shard, Date.now());
        this.metrics.shardsOwned.set(this.owned.size);
      }).catch((err: Error) => this.log.debug({ err: err.message, shard }, "early acquisition failed"));
    }, inMs + 20);
    t.unref();
    this.retries.set(shard, t);
  }

  /**
   * Renews all kept leases at once: one round trip however many shards the node owns, so the
   * last lease is not renewed late behind the others when Redis is busy.
   */
  private async renew(leases: ShardLease[], now: number): Promise<void> {
    if (leases.length === 0) return;
    let results: number[];
    try {
      const args = [...leases.map((l) => keys.lease(l.shard)), ...leases.map((l) => `${this.nodeId}|${l.epoch}`), this.ttlMs];
      results = (await this.redis.eval(RENEW_ALL, leases.length, ...args)) as number[];
    } catch (err) {
      this.metrics.leaseRenewFailures.inc();
      throw err;
    }
    for (const [i, lease] of leases.entries()) {
      if (Number(results[i]) === 1) {
        lease.validUntil = now + this.ttlMs * 0.8;
        continue;
      }
      this.log.warn({ shard: lease.shard, epoch: lease.epoch }, "shard lease lost");
      await this.lose(lease.shard);
    }
  }

  private async lose(shard: number): Promise<void> {
    if (!this.owned.delete(shard)) return;
    this.metrics.leaseLosses.inc();
    await this.handlers.released(shard, true);
  }

  private async release(shard: number, _final: boolean): Promise<void> {
    const lease = this.owned.get(shard);
    if (!lease) return;
    // Stop the work first, then hand the lease over, so the next owner starts on a quiet shard.
    await this.handlers.released(shard, false);
    this.owned.delete(shard);
    this.metrics.leaseLosses.inc();
    await this.redis.eval(RELEASE, 1, keys.lease(shard), `${this.nodeId}|${lease.epoch}`).catch(() => undefined);
    this.log.info({ shard, epoch: lease.epoch }, "shard released");
  }

  /** Leaves the cluster: gives every shard back at once so other nodes take over without waiting for TTLs. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await this.serial;
    await this.redis.zrem(keys.members, this.nodeId).catch(() => undefined);
    await this.redis.hdel(keys.memberLevels, this.nodeId).catch(() => undefined);
    for (const shard of [...this.owned.keys()]) await this.release(shard, true);
    this.metrics.shardsOwned.set(0);
  }
}
