import { Redis } from "ioredis";
import { loadConfig } from "../../../src/config/config.ts";
import { createLogger } from "../../../src/log/logger.ts";
import { ArchiveNode } from "../../../src/node/archive-node.ts";
import { stackEnv } from "./stack.ts";

/** Redis database used by integration tests, wiped before each file so no old jobs linger. */
const TEST_DB = 3;

export async function resetRedis(): Promise<void> {
  const env = stackEnv();
  const r = new Redis(`${env.REDIS_URL}/${TEST_DB}`);
  await r.flushdb();
  await r.quit();
}

/** Starts a node in this process against the local stack; the caller stops it. */
export async function startNode(overrides: Record<string, string> = {}, waitForEdge = true): Promise<ArchiveNode> {
  const env = stackEnv();
  const config = loadConfig({
    ...env,
    REDIS_URL: `${env.REDIS_URL}/${TEST_DB}`,
    CASSANDRA_KEYSPACE: "archive_test",
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    NODE_ID: `test-${process.pid}-${Math.random().toString(36).slice(2, 6)}`,
    LEASE_TTL_MS: "3000",
    SHARD_COUNT: "8",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...overrides,
  });
  const node = new ArchiveNode(config, createLogger(config.logLevel, { node: config.nodeId }));
  await node.start();
  if (waitForEdge) await waitUntil(() => node.isEdge(), 15_000);
  return node;
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
