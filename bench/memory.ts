import type { FeedCopy } from "../src/cluster/shard-queues.ts";
import { parseElement } from "../src/protocol/xmlfrag.ts";
import { ROOT, stackEnv } from "../test/integration/support/stack.ts";
import { copyStanzas, HOST, startBenchNode } from "./harness.ts";
import { report, type Row } from "./stats.ts";

// Memory: heap and RSS of a node with USERS distinct users active (one actor each, within the
// idle timeout), then after their actors passivate. Run with --expose-gc so that each figure is
// taken after a full collection.

const USERS = Number(process.env.BENCH_MEMORY_USERS ?? 100_000);
// Longer than activating every user takes, so that all are active at once; passivation is
// then brought forward with the node's own mechanism rather than waited for.
const IDLE_SECONDS = 3600;
const REDIS_DB = 10;

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

async function main(): Promise<void> {
  if (!gc) throw new Error("run with node --expose-gc");
  const env = stackEnv();
  let durable = 0;
  const node = await startBenchNode(env, {
    redisDb: REDIS_DB,
    keyspace: "archive_bench_memory",
    overrides: { ACTOR_IDLE_SECONDS: String(IDLE_SECONDS), MAX_ACTORS: String(USERS * 2) },
    hooks: { archived: (copies: readonly FeedCopy[]) => (durable += copies.length) },
  });
  // Warm the paths once with a few users, so that code and pools are part of the base.
  const feed = `mem${Date.now().toString(36)}`;
  let seq = 0;
  const send = (i: number) => {
    // To a remote contact: one copy, one actor per user.
    const m = { from: `m${i}@${HOST}`, to: `friend${i % 100}@remote.example`, at: Date.UTC(2025, 0, 1) + i, body: "hello", id: `x${i}` };
    for (const s of copyStanzas(m, feed, ++seq)) void node.receive(parseElement(s)!);
  };
  for (let i = 0; i < 200; i++) send(USERS + i);
  while (durable < 200) await new Promise((r) => setTimeout(r, 50));
  node.passivateIdle(0);
  const base = await settle();
  process.stdout.write(`memory: base heap ${(base.heap / 1048576).toFixed(1)} MiB; activating ${USERS} users...\n`);

  const t0 = Date.now();
  for (let i = 0; i < USERS; i++) {
    send(i);
    if (i % 200 === 0) {
      await new Promise((r) => setImmediate(r));
      while (i - durable > 20_000) await new Promise((r) => setTimeout(r, 50));
    }
  }
  while (durable < USERS + 200) await new Promise((r) => setTimeout(r, 50));
  const activeFor = (Date.now() - t0) / 1000;
  const active = await settle();
  const actors = (await node.metrics.activeActors.get()).values[0]?.value ?? 0;
  process.stdout.write(`memory: ${actors} actors active after ${activeFor.toFixed(0)} s; passivating...\n`);
  node.passivateIdle(0);
  const after = await settle();
  await node.stop();

  const mib = (b: number) => b / 1048576;
  const rows: Row[] = [
    { state: "base (node up, paths warmed)", actors: 0, "heap MiB": mib(base.heap), "RSS MiB": mib(base.rss), "heap per user, bytes": "-" },
    {
      state: `${USERS} users active`,
      actors,
      "heap MiB": mib(active.heap),
      "RSS MiB": mib(active.rss),
      "heap per user, bytes": Math.round((active.heap - base.heap) / Math.max(1, actors)),
    },
    {
      state: "after passivation",
      actors: 0,
      "heap MiB": mib(after.heap),
      "RSS MiB": mib(after.rss),
      "heap per user, bytes": Math.round((after.heap - base.heap) / USERS),
    },
  ];
  report(ROOT, "memory", `Memory: ${USERS} distinct users active, then passivated`, rows, [
    "Heap per user: growth over the base divided by the actors active (after passivation: by the users activated).",
    `Each user sends one message to a remote contact (one copy, one actor); the node owns every shard. Heap after three forced collections. The actor idle timeout is ${IDLE_SECONDS} s, so every user stays active until the node passivates its idle actors on request (the mechanism its timer uses).`,
  ]);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
