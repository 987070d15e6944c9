import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import cassandra from "cassandra-driver";
import type { FeedCopy } from "../src/cluster/shard-queues.ts";
import { createLogger } from "../src/log/logger.ts";
import { connectCassandra } from "../src/store/cassandra-client.ts";
import { ROOT, stackEnv } from "../test/integration/support/stack.ts";
import { componentStream, esc, startBenchNode } from "./harness.ts";
import type { Burst, FeederReady, FeederSetup } from "./ingest-feeder.ts";
import { DEFAULT_SHAPE, messages, type ChatMessage } from "./load.ts";
import { machineSteal, pct, report, stackCpu, untilQuiet, type Row } from "./stats.ts";

// Ingest, node only: forwarded message copies (as the server module sends them) are handed to
// a node's stanza entry point as fast as it takes them, with no XMPP server in the way, until
// TARGET copies are durable in Cassandra. Beside it, the baseline: the same rows written by a
// plain cassandra-driver loop with the best settings found, in the same run. Each run's load is made
// before its clock starts, so that the figures are the writer's alone, not the load generator's.

const TARGET = Number(process.env.BENCH_INGEST_COPIES ?? 500_000);
/**
 * Copies written (and thrown away) before anything is measured, at least: a Cassandra that has just
 * started spends two to four times the CPU per write for its first few hundred thousand copies
 * (its JIT compiling), which would fall on whichever run comes first. The warm-up goes on in rounds
 * of WARMUP_ROUND until two rounds in a row each cost Cassandra no less than nine tenths of the one
 * before, at most WARMUP_MAX copies.
 */
// At least 500,000: a round can cost about what the one before did on the way down (1.28 then
// 1.24 s of Cassandra CPU per 10,000 copies at 200,000 and 300,000, then 0.66 by the measured runs).
const WARMUP = Number(process.env.BENCH_INGEST_WARMUP ?? 500_000);
const WARMUP_ROUND = 100_000;
const WARMUP_MAX = Number(process.env.BENCH_INGEST_WARMUP_MAX ?? 1_500_000);
/**
 * Copies put through nodes of their own (each stopped, its Redis and keyspace emptied) before
 * anything is measured, at least: the measured node then runs on compiled code as a node that has
 * been up for a while does, and meets a Cassandra whose read path (each actor's first reads) is as
 * warm as its write path. The baseline's code is compiled by the Cassandra warm-up above.
 * It goes on in rounds of NODE_WARMUP_ROUND until two rounds in a row each cost the machine (this
 * process, Cassandra and Redis) no less than nine tenths of the one before, at most NODE_WARMUP_MAX.
 */
// At least 200,000: on a stack just started, the first 100,000 ran at 6,100-8,800 copies/s and
// the first ten seconds of the measured run after them at 6,500-9,400, against 10,400-11,600 in
// the second measured run's.
const NODE_WARMUP = Number(process.env.BENCH_INGEST_NODE_WARMUP ?? 200_000);
const NODE_WARMUP_ROUND = 100_000;
const NODE_WARMUP_MAX = Number(process.env.BENCH_INGEST_NODE_WARMUP_MAX ?? 600_000);
/**
 * Measured runs of the node, each of TARGET copies, with a baseline run before, between and after
 * them (1 when profiling the node alone).
 */
const NODE_RUNS = Math.max(1, Number(process.env.BENCH_INGEST_NODE_RUNS ?? (process.env.BENCH_INGEST_NODE_ONLY === "1" ? 1 : 2)));
/** Copies handed to the node but not yet durable, at most (the server module buffers the same way). */
const WINDOW = Number(process.env.BENCH_INGEST_WINDOW ?? 20_000);
const BASELINE_CONCURRENCY = Number(process.env.BENCH_BASELINE_CONCURRENCY ?? 64);
/**
 * BENCH_BASELINE_PACE=n holds the baseline to about n copies/s (0: as fast as it goes), to see
 * what Cassandra spends per copy at a slower writer's rate.
 */
const PACE = Number(process.env.BENCH_BASELINE_PACE ?? 0);
const REDIS_DB = 9;
/** Stanza text handed to the stream parser at once: about what one socket read brings. */
const BURST_CHARS = 65_536;
/** Copies in such a burst, about (for not asking the feeder for more than TARGET). */
const BURST_COPIES = 100;
const NODE_KEYSPACE = "archive_bench_ingest";
const BASELINE_KEYSPACE = "archive_bench_baseline";
const START_AT = Date.UTC(2025, 0, 1);
const IDLE_MS = 1800_000;

interface Figures {
  rate: number;
  /** Bytes of load made before the clock started and held in this process (the node's wire text). */
  loadBytes?: number;
  seconds: number;
  cpuSeconds: number;
  peakRss: number;
  /** CPU seconds the stack's Cassandra and Redis spent during the run. */
  cassandraCpu: number;
  redisCpu: number;
  /** CPU seconds the hypervisor took from the machine during the run (summed over its cores). */
  steal: number;
  delays?: number[];
  /** The baseline's requests per 1000 copies: each collection's items, each owner's other rows. */
  requests?: { items: number; owner: number };
}

/**
 * Measures a run from now: its wall time, this process's CPU, its peak RSS (sampled), and what the
 * stack's Cassandra and Redis spent meanwhile. `stop(done)` gives the figures for `done` copies.
 */
function startMeter(): { t0: number; stop(done: number): Figures } {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const cpu0 = process.cpuUsage();
  const stack0 = stackCpu(ROOT);
  const steal0 = machineSteal();
  const t0 = Date.now();
  return {
    t0,
    stop(done) {
      const seconds = (Date.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0);
      const stack1 = stackCpu(ROOT);
      clearInterval(sampler);
      return {
        rate: done / seconds,
        seconds,
        cpuSeconds: (c.user + c.system) / 1e6,
        peakRss: Math.max(peak, process.memoryUsage.rss()),
        cassandraCpu: stack1.cassandra - stack0.cassandra,
        redisCpu: stack1.redis - stack0.redis,
        steal: machineSteal() - steal0,
      };
    },
  };
}

/**
 * The feeder thread. Its module is TypeScript, which a worker only loads once the TypeScript
 * loader is registered in that worker too, so the worker starts from a line that does so.
 */
function startFeeder(setup: FeederSetup): Worker {
  const feeder = new URL("./ingest-feeder.ts", import.meta.url).href;
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(feeder)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: setup });
}

/**
 * Empties a keyspace: before a run, so that every run starts from the same state; after it, so
 * that what the run left in Cassandra's memtables is dropped rather than flushed (and compacted)
 * during the next run, at that run's expense.
 */
async function emptyKeyspace(env: Record<string, string>, keyspace: string): Promise<void> {
  const client = new cassandra.Client({
    contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
    localDataCenter: env.CASSANDRA_LOCAL_DC!,
  });
  try {
    const rs = await client.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [keyspace]);
    for (const r of rs.rows) {
      const t = r.get("table_name") as string;
      if (t !== "schema_migrations") await client.execute(`TRUNCATE ${keyspace}.${t}`);
    }
  } finally {
    await client.shutdown();
  }
}

async function runNode(env: Record<string, string>, target = TARGET, label = "node"): Promise<Figures> {
  await emptyKeyspace(env, NODE_KEYSPACE);
  const feed = `bench${Date.now().toString(36)}`;
  // The wire text is made on a thread of its own, as a server would make it, all of it before the
  // clock starts (while the node starts); this thread decodes and parses it as one component
  // stream and hands each stanza to the node, as the node's connection does.
  const feeder = startFeeder({ feed, startAt: START_AT, total: target, burstChars: BURST_CHARS });
  const made = new Promise<FeederReady>((resolve, reject) => {
    feeder.once("message", resolve);
    feeder.once("error", reject);
  });
  const delays: number[] = [];
  let durable = 0;
  let wake: (() => void) | undefined;
  const node = await startBenchNode(env, {
    redisDb: REDIS_DB,
    keyspace: NODE_KEYSPACE,
    hooks: {
      archived: (copies: readonly FeedCopy[]) => {
        const now = Date.now();
        for (const c of copies) delays.push(now - (c.arrivedAt ?? now));
        durable += copies.length;
        wake?.();
      },
    },
  });

  const { bytes: loadBytes } = await made;
  const elu0 = performance.eventLoopUtilization();
  const meter = startMeter();
  const t0 = meter.t0;
  let fed = 0;
  /** Bursts asked of the feeder and not yet here: two, so one is always on its way. */
  let asked = 0;
  let lastReport = t0;
  const stream = componentStream((el) => void node.receive(el));
  const ask = (): void => {
    while (asked < 2 && fed + asked * BURST_COPIES < target && fed - durable < WINDOW) {
      asked++;
      feeder.postMessage(null);
    }
  };
  feeder.on("message", (b: Burst) => {
    asked--;
    fed += b.copies;
    // The bytes arrive as a plain Uint8Array (a structured clone does not keep Buffer's prototype).
    stream.write(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).toString("utf8"));
    ask();
  });
  ask();
  while (durable < target) {
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 200);
    });
    wake = undefined;
    ask();
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      process.stdout.write(`  ${label}: ${durable} of ${target} durable (${((durable * 1000) / (Date.now() - t0)).toFixed(0)}/s)\n`);
    }
  }
  await feeder.terminate();
  const figures = meter.stop(durable);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  process.stdout.write(`  ${label}: event loop busy ${(elu * 100).toFixed(0)}% of the run\n`);
  const counts = (await node.metrics.cassandraDuration.get()).values.filter((v) => v.metricName?.endsWith("_count"));
  process.stdout.write(
    `  ${label}: Cassandra requests per 1000 copies: ${counts.map((v) => `${String(v.labels.statement)} ${((v.value * 1000) / durable).toFixed(0)}`).join(", ")}\n`,
  );
  await node.stop();
  await emptyKeyspace(env, NODE_KEYSPACE);
  return { ...figures, delays, loadBytes };
}

/**
 * The database's own ceiling for the same rows: for every window of copies in arrival order,
 * each collection's new items go as unlogged same-partition batches, and the collection rows,
 * peer records, change-log rows and de-duplication marks of all of an owner's collections as one
 * unlogged batch of the owner's partition; prepared statements, absent fields unset (no tombstones), BASELINE_CONCURRENCY
 * requests in flight.
 */
async function runBaseline(env: Record<string, string>, target = TARGET): Promise<Figures> {
  const log = createLogger("error");
  const client = await connectCassandra(
    {
      contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
      localDataCenter: env.CASSANDRA_LOCAL_DC!,
      keyspace: BASELINE_KEYSPACE,
      tls: false,
      replication: { class: "SimpleStrategy", replication_factor: "1" },
    },
    log,
    // Bound to no keyspace, with statements that name theirs, as the node's: the driver then finds
    // each prepared statement by its text alone (src/store/statements.ts).
    { bound: false },
  );
  const ks = BASELINE_KEYSPACE;
  for (const t of ["items", "collections", "open_collections", "changes", "change_pos", "feed_seen", "list_versions"]) await client.execute(`TRUNCATE ${ks}.${t}`);
  const Q = {
    item: `INSERT INTO ${ks}.items (owner, with_jid, start, pos, kind, at, payload, name, jid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
    coll: `INSERT INTO ${ks}.collections (owner, start, with_jid, thread, subject, version, count, last_at, previous, next, form, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    open: `INSERT INTO ${ks}.open_collections (owner, peer, with_jid, start, thread, subject, version, count, last_at, previous, next, form, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    latest: `UPDATE ${ks}.open_collections SET latest_start = ? WHERE owner = ? AND peer = ?`,
    listVersion: `INSERT INTO ${ks}.list_versions (owner, version) VALUES (?, ?)`,
    listStamp: `UPDATE ${ks}.collections SET list_version = ? WHERE owner = ?`,
    change: `INSERT INTO ${ks}.changes (owner, changed_at, with_jid, start, version, removed) VALUES (?, ?, ?, ?, ?, ?)`,
    unchange: `DELETE FROM ${ks}.changes WHERE owner = ? AND changed_at = ? AND with_jid = ? AND start = ?`,
    changePos: `INSERT INTO ${ks}.change_pos (owner, with_jid, start, changed_at) VALUES (?, ?, ?, ?)`,
    seen: `INSERT INTO ${ks}.feed_seen (owner, copy_id) VALUES (?, ?)`,
  };
  const uuidNode = randomBytes(6);
  const uuidClock = randomBytes(2);
  type Coll = { with: string; start: number; count: number; version: number; lastAt: number; changedAt?: Date };
  const open = new Map<string, Coll>();
  // The load is made before the clock starts, as the node's is.
  const gen = messages(DEFAULT_SHAPE, START_AT);
  const load = Array.from({ length: Math.ceil(target / 2) }, () => gen.next().value as ChatMessage);
  let nextMessage = 0;
  const meter = startMeter();
  let written = 0;
  // Requests sent, to set beside the node's.
  let itemBatches = 0;
  let ownerBatches = 0;
  let seq = 0;
  while (written < target) {
    // One window of copies, grouped by owner and collection in arrival order.
    const groups = new Map<string, { owner: string; coll: Coll; from: number; items: { kind: string; at: number; payload: string }[]; ids: string[] }>();
    for (let n = 0; n < WINDOW && written + n < target; n += 2) {
      const m = load[nextMessage++]!;
      const payload = `<body>${esc(m.body)}</body>`;
      for (const [owner, peer, kind] of [
        [m.from, m.to, "to"],
        [m.to, m.from, "from"],
      ] as const) {
        const ok = `${owner}|${peer}`;
        let c = open.get(ok);
        if (!c || m.at - c.lastAt > IDLE_MS) {
          c = { with: peer, start: m.at, count: 0, version: -1, lastAt: m.at };
          open.set(ok, c);
        }
        const gk = `${ok}|${c.start}`;
        let g = groups.get(gk);
        if (!g) {
          c.version++;
          g = { owner, coll: c, from: c.count, items: [], ids: [] };
          groups.set(gk, g);
        }
        g.items.push({ kind, at: m.at, payload });
        g.ids.push(`b:${++seq}`);
        c.count++;
        c.lastAt = m.at;
      }
    }
    const work: (() => Promise<unknown>)[] = [];
    const opts = { prepare: true, logged: false } as const;
    // What every collection of an owner changes in the owner's partition goes as one batch.
    const byOwner = new Map<string, { query: string; params: unknown[] }[]>();
    for (const g of groups.values()) {
      const start = new Date(g.coll.start);
      const unset = cassandra.types.unset;
      const now = new Date();
      const meta = [unset, unset, g.coll.version, g.coll.count, new Date(g.coll.lastAt), unset, unset, unset, now];
      for (let i = 0; i < g.items.length; i += 100) {
        const chunk = g.items.slice(i, i + 100).map((it, j) => ({
          query: Q.item,
          params: [g.owner, g.coll.with, start, g.from + i + j, it.kind, new Date(it.at), it.payload, unset, unset, 0],
        }));
        work.push(() => client.batch(chunk, opts));
        itemBatches++;
      }
      const fresh = g.coll.changedAt === undefined;
      const stamp = fresh ? cassandra.types.TimeUuid.now(uuidNode, uuidClock) : undefined;
      const owned = [
        { query: Q.coll, params: [g.owner, start, g.coll.with, ...meta] },
        { query: Q.open, params: [g.owner, g.coll.with, g.coll.with, start, ...meta] },
        ...(fresh
          ? [
              { query: Q.latest, params: [start, g.owner, g.coll.with] },
              { query: Q.listVersion, params: [g.owner, stamp] },
              { query: Q.listStamp, params: [stamp, g.owner] },
            ]
          : [{ query: Q.unchange, params: [g.owner, g.coll.changedAt, g.coll.with, start] }]),
        { query: Q.change, params: [g.owner, now, g.coll.with, start, g.coll.version, false] },
        { query: Q.changePos, params: [g.owner, g.coll.with, start, now] },
        ...g.ids.map((id) => ({ query: Q.seen, params: [g.owner, id] })),
      ];
      g.coll.changedAt = now;
      const list = byOwner.get(g.owner) ?? [];
      list.push(...owned);
      byOwner.set(g.owner, list);
    }
    for (const owned of byOwner.values()) work.push(() => client.batch(owned, opts));
    ownerBatches += byOwner.size;
    let next = 0;
    const windowStart = Date.now();
    // Paced: the window's requests spread evenly over the time its copies take at PACE copies/s.
    const windowCopies = [...groups.values()].reduce((n, g) => n + g.items.length, 0);
    const windowMs = PACE > 0 ? (windowCopies / PACE) * 1000 : 0;
    await Promise.all(
      Array.from({ length: BASELINE_CONCURRENCY }, async () => {
        while (next < work.length) {
          const i = next++;
          const wait = windowStart + (i / work.length) * windowMs - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await work[i]!();
        }
      }),
    );
    for (const g of groups.values()) written += g.items.length;
  }
  const figures = meter.stop(written);
  await client.shutdown();
  await emptyKeyspace(env, BASELINE_KEYSPACE);
  return { ...figures, requests: { items: (itemBatches * 1000) / written, owner: (ownerBatches * 1000) / written } };
}

/**
 * Runs warm-up rounds of `round` copies until at least `least` are written and two rounds in a row
 * each cost no less than nine tenths of the one before (or a round's cost cannot be read), at most
 * `most`; returns the copies written. `run` returns a round's cost.
 */
// Two rounds, not one: on a stack just started a round can cost about what the one before did on
// the way down (1.30 then 1.26 s of Cassandra CPU per 10,000 copies at 400,000 and 500,000, then
// 1.03 beside the first measured run and 0.82-0.86 beside the later ones).
async function warmUp(least: number, round: number, most: number, run: (copies: number, done: number) => Promise<number>): Promise<number> {
  let done = 0;
  let flat = 0;
  for (let prev = Number.POSITIVE_INFINITY; least > 0 && done < most; ) {
    const copies = Math.min(round, least);
    done += copies;
    const cost = await run(copies, done);
    flat = cost < 0.9 * prev ? 0 : flat + 1;
    if (done >= least && (flat >= 2 || Number.isNaN(cost))) break;
    prev = cost;
  }
  return done;
}

async function main(): Promise<void> {
  const env = stackEnv();
  process.stdout.write(`ingest: ${TARGET} copies (${TARGET / 2} messages between ${DEFAULT_SHAPE.users} local users), window ${WINDOW}\n`);
  const warmed = await warmUp(WARMUP, WARMUP_ROUND, WARMUP_MAX, async (round, done) => {
    const w = await runBaseline(env, round);
    const cost = (w.cassandraCpu / round) * 10_000;
    process.stdout.write(`ingest: warm-up, ${done} copies: ${w.rate.toFixed(0)} copies/s, Cassandra ${cost.toFixed(2)} s of CPU per 10,000 (not counted)\n`);
    return cost;
  });
  const nodeWarmed =
    process.env.BENCH_INGEST_BASELINE_ONLY === "1"
      ? 0
      : await warmUp(NODE_WARMUP, NODE_WARMUP_ROUND, NODE_WARMUP_MAX, async (round, done) => {
          const w = await runNode(env, round, "node warm-up");
          const cost = ((w.cpuSeconds + w.cassandraCpu + w.redisCpu) / round) * 10_000;
          process.stdout.write(`ingest: node warm-up, ${done} copies: ${w.rate.toFixed(0)} copies/s, node, Cassandra and Redis ${cost.toFixed(2)} s of CPU per 10,000 (not counted)\n`);
          return cost;
        });
  // The baseline runs before, between and after the node's runs, and the node's mean is measured
  // against theirs: on a shared machine the speed drifts within a run (the baseline's own client
  // spent 0.37 to 0.56 s of CPU per 10,000 copies from one run to the next, Cassandra on a stack
  // just started got cheaper per write for minutes), and a drift falls on both sides of the ratio
  // this way rather than on whichever run it met.
  const none: Figures = { rate: NaN, seconds: 0, cpuSeconds: 0, peakRss: 0, cassandraCpu: NaN, redisCpu: NaN, steal: NaN, delays: [] };
  // BENCH_INGEST_NODE_ONLY=1 skips the baseline (for profiling the node); the ratio is then void.
  const baselineRun = async (when: string): Promise<Figures> => {
    if (process.env.BENCH_INGEST_NODE_ONLY === "1") return none;
    process.stdout.write(`ingest: baseline ${when} (plain cassandra-driver), after Cassandra was quiet for ${(await untilQuiet(ROOT)).toFixed(0)} s...\n`);
    const b = await runBaseline(env);
    const r = b.requests;
    process.stdout.write(`  baseline ${when}: ${b.rate.toFixed(0)} copies/s; Cassandra requests per 1000 copies: items ${r?.items.toFixed(0)}, owner rows ${r?.owner.toFixed(0)}\n`);
    return b;
  };
  const baselines: { when: string; f: Figures }[] = [{ when: "before the node", f: await baselineRun("before the node") }];
  const nodes: Figures[] = [];
  for (let i = 1; i <= NODE_RUNS; i++) {
    const label = NODE_RUNS === 1 ? "node" : `node run ${i}`;
    process.stdout.write(`ingest: ${label}, after Cassandra was quiet for ${(await untilQuiet(ROOT)).toFixed(0)} s...\n`);
    // BENCH_INGEST_BASELINE_ONLY=1 skips the node (for measuring the database's side alone).
    nodes.push(process.env.BENCH_INGEST_BASELINE_ONLY === "1" ? none : await runNode(env, TARGET, label));
    const when = i === NODE_RUNS ? "after the node" : `after node run ${i}`;
    baselines.push({ when, f: await baselineRun(when) });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const baseRate = mean(baselines.map((b) => b.f.rate));
  // The node's figures over its runs: rates and costs averaged, delays pooled, the highest RSS.
  const node: Figures = {
    rate: mean(nodes.map((n) => n.rate)),
    loadBytes: nodes[0]!.loadBytes,
    seconds: mean(nodes.map((n) => n.seconds)),
    cpuSeconds: mean(nodes.map((n) => n.cpuSeconds)),
    peakRss: Math.max(...nodes.map((n) => n.peakRss)),
    cassandraCpu: mean(nodes.map((n) => n.cassandraCpu)),
    redisCpu: mean(nodes.map((n) => n.redisCpu)),
    steal: mean(nodes.map((n) => n.steal)),
    delays: nodes.flatMap((n) => n.delays ?? []),
  };
  const d = node.delays ?? [];
  const mib = (b: number) => b / 1048576;
  const per10k = (cpu: number) => (cpu / TARGET) * 10_000;
  const steal = (f: Figures) => (f.seconds > 0 ? (f.steal / f.seconds) * 100 : NaN);
  // A run's row; the baseline's have no delays to show.
  const row = (run: string, f: Figures, delays?: number[]): Row => ({
    run,
    "copies/s": f.rate,
    seconds: f.seconds,
    "delay p50 ms": delays ? pct(delays, 50) : "-",
    "delay p99 ms": delays ? pct(delays, 99) : "-",
    "peak RSS MiB": mib(f.peakRss),
    "CPU s / 10k": per10k(f.cpuSeconds),
    "Cassandra CPU s / 10k": per10k(f.cassandraCpu),
    "Redis CPU s / 10k": per10k(f.redisCpu),
    "steal % of a core": steal(f),
    "vs baseline": f.rate / baseRate,
  });
  const rows: Row[] = [
    row(NODE_RUNS === 1 ? "node (receive → durable in Cassandra)" : `node (receive → durable in Cassandra), mean of ${NODE_RUNS} runs`, node, d),
    ...(NODE_RUNS === 1 ? [] : nodes.map((n, i) => row(`node run ${i + 1}`, n, n.delays ?? []))),
    ...baselines.map(({ when, f }, i) => row(i === 0 ? `baseline ${when} (plain cassandra-driver, same rows)` : `baseline ${when}`, f)),
  ];
  report(ROOT, "ingest", `Ingest, node only: ${TARGET} copies durable, ${DEFAULT_SHAPE.users} users`, rows, [
    `Load: ${TARGET / 2} chat messages between ${DEFAULT_SHAPE.users} local users (Zipf activity, exponent ${DEFAULT_SHAPE.skew}; ${DEFAULT_SHAPE.contacts} contacts each), so ${TARGET} archive copies, each an archived message in its owner's archive.`,
    `node: copies in the server module's wire form, made on a thread of their own (as a server would send them) before the clock starts (${((node.loadBytes ?? 0) / 1048576).toFixed(0)} MiB of UTF-8, held in this process and counted in its peak RSS), decoded and parsed on the node's thread as one component stream (as the node's XMPP connection does) and handed to ArchiveNode.receive(), at most ${WINDOW} not yet durable; one node owning all shards, Redis (AOF) and Cassandra on the same machine, Cassandra warmed up first with ${warmed} copies written by the baseline's loop (in rounds of ${WARMUP_ROUND}, until two rounds in a row no longer cost it a tenth less CPU than the one before), and the node's code with ${nodeWarmed} copies through nodes of their own (in rounds of ${NODE_WARMUP_ROUND}, each stopped and its Redis database and keyspace emptied, until two rounds in a row no longer cost the node, Cassandra and Redis a tenth less CPU than the one before). Delay: from arrival at the node to the write that made it durable in Cassandra. CPU: this process's (decoding and parsing the stream included); Cassandra and Redis CPU: what the stack's two processes spent during the run, from /proc.`,
    `baseline: the same rows (items, collection row, peer record, change log, de-duplication marks, list stamp) for the same load (its messages made before the clock starts), grouped per window of ${WINDOW} copies into unlogged same-partition batches (each collection's items; all of an owner's other rows together), prepared, ${BASELINE_CONCURRENCY} requests in flight; run before the node${NODE_RUNS > 1 ? ", between its runs" : ""} and after it, each on an emptied keyspace once Cassandra was quiet (peak RSS is this process's, so a run after the node's counts what the node's run left in its heap). vs baseline: against the mean of the ${baselines.length} baseline runs (${baseRate.toFixed(0)} copies/s)${NODE_RUNS > 1 ? `; the node's first row is the mean of its ${NODE_RUNS} runs (each of ${TARGET} copies on an emptied keyspace and Redis database; delays pooled, the highest peak RSS)` : ""}.`,
    `steal: CPU time the hypervisor took from the machine during the run (from /proc/stat), in hundredths of a core; it slows whichever run it falls on.`,
  ]);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
