import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/cluster/keys.ts";
import { ShardManager, type ShardLease } from "../../src/cluster/shard-manager.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { stackEnv } from "./support/stack.ts";
import { waitUntil } from "./support/node.ts";

// Shard leases against the real Redis: every lease renewed in one round trip, a lease taken
// by someone else noticed as lost, and shards handed over when a second member joins.

const DB = 4;
const TTL = 1500;
const SHARDS = 16;

function manager(redis: Redis, id: string, events: string[], level?: number): ShardManager {
  return new ShardManager(
    redis,
    id,
    SHARDS,
    TTL,
    {
      acquired: async (l: ShardLease) => void events.push(`acquired ${l.shard}`),
      released: async (shard: number, lost: boolean) => void events.push(`${lost ? "lost" : "released"} ${shard}`),
    },
    new Metrics(),
    createLogger("error"),
    level,
  );
}

describe("shard leases", () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(`${stackEnv().REDIS_URL}/${DB}`);
    await redis.flushdb();
  });
  afterAll(async () => {
    await redis.flushdb();
    await redis.quit();
  });

  it("keeps every lease alive past its TTL, in one script call per tick", async () => {
    const events: string[] = [];
    const a = manager(redis, "node-a", events);
    await a.start();
    expect(a.ownedShards()).toHaveLength(SHARDS);
    const monitor = await redis.duplicate().monitor();
    const evals: string[] = [];
    monitor.on("monitor", (_t: string, args: string[]) => {
      if (args[0]?.toLowerCase() === "eval" || args[0]?.toLowerCase() === "evalsha") evals.push(args[2] ?? "");
    });
    await new Promise((r) => setTimeout(r, TTL * 2));
    monitor.disconnect();
    // Renewals came as calls covering all 16 leases, never one call per lease.
    expect(evals.length).toBeGreaterThan(0);
    expect(evals.every((n) => Number(n) === SHARDS)).toBe(true);
    expect(a.ownedShards()).toHaveLength(SHARDS);
    for (let s = 0; s < SHARDS; s++) expect(a.lease(s)).toBeDefined();
    expect(events.filter((e) => !e.startsWith("acquired"))).toEqual([]);
    await a.stop();
    expect(await redis.exists(keys.lease(0))).toBe(0);
  });

  it("gives up a lease that another member now holds, and keeps the rest", async () => {
    const events: string[] = [];
    const a = manager(redis, "node-b", events);
    await a.start();
    await redis.set(keys.lease(3), "intruder|999", "PX", 60_000);
    await waitUntil(() => events.includes("lost 3"), TTL * 3);
    expect(a.lease(3)).toBeUndefined();
    expect(a.ownedShards()).not.toContain(3);
    expect(a.ownedShards()).toHaveLength(SHARDS - 1);
    await a.stop();
    // Its release leaves the intruder's lease alone.
    expect(await redis.get(keys.lease(3))).toBe("intruder|999");
    await redis.del(keys.lease(3));
  });

  it("hands shards over when a second member joins, without either losing a lease", async () => {
    const ea: string[] = [];
    const eb: string[] = [];
    const a = manager(redis, "node-c", ea);
    const b = manager(redis, "node-d", eb);
    await a.start();
    await b.start();
    await waitUntil(() => a.ownedShards().length + b.ownedShards().length === SHARDS && b.ownedShards().length > 0, TTL * 6);
    expect(new Set([...a.ownedShards(), ...b.ownedShards()]).size).toBe(SHARDS);
    expect([...ea, ...eb].filter((e) => e.startsWith("lost"))).toEqual([]);
    await b.stop();
    await a.stop();
  });

  it("knows the lowest storage level among live members, and a new generation whenever it falls", async () => {
    const a = manager(redis, "node-e", [], 1);
    await a.start();
    expect(a.clusterLevel()).toEqual({ level: 1, generation: 0 });
    // A member of a version from before levels advertises none.
    const old = manager(redis, "node-f", [], 0);
    await redis.zadd(keys.members, Date.now(), "node-g");
    await waitUntil(() => a.clusterLevel().level === 0, TTL * 3);
    expect(a.clusterLevel().generation).toBe(1);
    await old.start();
    await redis.zrem(keys.members, "node-g");
    await new Promise((r) => setTimeout(r, TTL));
    expect(a.clusterLevel()).toEqual({ level: 0, generation: 1 });
    await old.stop();
    expect(await redis.hexists(keys.memberLevels, "node-f")).toBe(0);
    await waitUntil(() => a.clusterLevel().level === 1, TTL * 3);
    // Back up, under a new generation: what a reader learnt before the fall is not trusted again.
    expect(a.clusterLevel()).toEqual({ level: 1, generation: 1 });
    await a.stop();
    expect(await redis.hexists(keys.memberLevels, "node-e")).toBe(0);
  });

  it("drops the levels of members that left the membership set", async () => {
    await redis.hset(keys.memberLevels, "long-gone", "1");
    const a = manager(redis, "node-h", []);
    await a.start();
    expect(await redis.hkeys(keys.memberLevels)).toEqual(["node-h"]);
    await a.stop();
  });
});
