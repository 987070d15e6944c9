import { join } from "node:path";
import cassandra from "cassandra-driver";
import { Redis } from "ioredis";
import { ROOT, stackEnv } from "../test/integration/support/stack.ts";
import { CountingComponent } from "./counting-component.ts";
import { cpuSeconds, findPid, machineCpu, NodeChild, ProsodyInstance } from "./e2e-stack.ts";
import { connectPeers, xml, type Element, type PeerClient } from "./peer-xmpp.ts";
import { report, type Row } from "./stats.ts";

// Ingest end to end: real @xmpp/client senders write chat messages to local recipients through
// a Prosody instance of this benchmark's own, whose archive feed sends two copies per message
// (sender's and recipient's archive) to the component. Phase A puts a component there that only
// counts and acknowledges copies: the server's ceiling. Phase B puts a real archive node there
// (a child process on its own Redis database and keyspace) and times until its metrics count
// every copy archived in Cassandra. Prosody is restarted for each phase, so both start alike.

const MESSAGES = Number(process.env.BENCH_E2E_MESSAGES ?? 20_000);
const SENDERS = Number(process.env.BENCH_E2E_SENDERS ?? 20);
const RECIPIENTS = Number(process.env.BENCH_E2E_RECIPIENTS ?? 100);
/** Messages sent but not yet delivered to their recipient, at most. */
const WINDOW = Number(process.env.BENCH_E2E_WINDOW ?? 200);
/** Both by default; one alone while working on it (no report then). */
const PHASES = (process.env.BENCH_E2E_PHASES ?? "A,B").split(",");
/** The node is the limit when it reaches less than this share of the server's ceiling. */
const NODE_LIMIT_RATIO = 0.9;

const C2S_PORT = 15522;
const COMPONENT_PORT = 15547;
const METRICS_PORT = 19564;
const DOMAIN = "example.test";
const COMPONENT_JID = `archive.${DOMAIN}`;
const COMPONENT_SECRET = "archive-secret";
const STATE = join(ROOT, ".local", "bench-e2e-prosody");
const NODE_LOG = join(ROOT, ".local", "bench-e2e-node.log");
const REDIS_DB = 8;
const KEYSPACE = "archive_bench_e2e";
const SHARD_COUNT = 64;
const PASSWORD = "bench-e2e";
const STALL_MS = 60_000;
const ARCHIVED = "xmpp_archive_messages_archived_total";
const COPIES = 2 * MESSAGES;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`ingest-e2e: ${s}\n`);
const senderName = (i: number) => `es${i}`;
const recipientName = (i: number) => `er${i}`;
const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;

const prosody = new ProsodyInstance({
  state: STATE,
  c2sPort: C2S_PORT,
  componentPort: COMPONENT_PORT,
  domain: DOMAIN,
  componentJid: COMPONENT_JID,
  componentSecret: COMPONENT_SECRET,
});

/** Run on the way out, newest first, whatever happened. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      process.stderr.write(`ingest-e2e: clean-up: ${(err as Error).message}\n`);
    }
  }
}

// --- the load ----------------------------------------------------------------------------------

interface Load {
  senders: PeerClient[];
  delivered: number;
  bounced: number;
  /** Called on every delivery. */
  onDelivery: (() => void) | undefined;
  stop(): Promise<void>;
}

async function connectLoad(): Promise<Load> {
  const all: PeerClient[] = [];
  const load: Load = {
    senders: [],
    delivered: 0,
    bounced: 0,
    onDelivery: undefined,
    async stop() {
      await Promise.all(all.map((c) => c.stop()));
    },
  };
  const onStanza = (el: Element) => {
    if (!el.is("message")) return;
    if (el.attrs.type === "error") load.bounced++;
    else if (el.getChild("body")) {
      load.delivered++;
      load.onDelivery?.();
    }
  };
  const names = [...Array.from({ length: SENDERS }, (_, i) => senderName(i)), ...Array.from({ length: RECIPIENTS }, (_, i) => recipientName(i))];
  const byName = await connectPeers(C2S_PORT, DOMAIN, names, PASSWORD, (_name, el) => onStanza(el));
  all.push(...byName.values());
  load.senders = Array.from({ length: SENDERS }, (_, i) => byName.get(senderName(i))!);
  return load;
}

/**
 * Sends MESSAGES chat messages, at most WINDOW undelivered at a time, and resolves when every
 * one has reached its recipient. Message i goes from sender i % SENDERS to recipient
 * i % RECIPIENTS: the peer benchmark's load, so the figures compare.
 */
async function sendAll(load: Load): Promise<void> {
  const base = load.delivered;
  const bouncedBefore = load.bounced;
  const body = "see you at the meeting tomorrow, bring the slides and the numbers";
  let sent = 0;
  let sendError: unknown;
  let wake: (() => void) | undefined;
  load.onDelivery = () => {
    if (wake && sent - (load.delivered - base) < WINDOW) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const waitDeliveries = async (cond: () => boolean, what: string) => {
    let last = load.delivered;
    let at = Date.now();
    while (!cond()) {
      if (sendError !== undefined) throw sendError;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          wake = undefined;
          resolve();
        }, 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (load.delivered !== last) [last, at] = [load.delivered, Date.now()];
      else if (Date.now() - at > STALL_MS) throw new Error(`stalled waiting for ${what} (${load.delivered - base} delivered)`);
    }
  };
  try {
    while (sent < MESSAGES) {
      if (sent - (load.delivered - base) >= WINDOW) {
        await waitDeliveries(() => sent - (load.delivered - base) < WINDOW, "deliveries");
        continue;
      }
      const i = sent++;
      const to = `${recipientName(i % RECIPIENTS)}@${DOMAIN}`;
      load.senders[i % SENDERS]!.xmpp.send(xml("message", { to, type: "chat", id: `e${i}` }, xml("body", {}, `${body} ${i}`))).catch((err: unknown) => (sendError = err));
    }
    load.onDelivery = () => {
      if (wake && load.delivered - base >= MESSAGES) wake();
    };
    await waitDeliveries(() => load.delivered - base >= MESSAGES, "the last deliveries");
  } finally {
    load.onDelivery = undefined;
  }
  if (load.bounced > bouncedBefore) throw new Error(`${load.bounced - bouncedBefore} messages bounced`);
}

/** Polls until cond() holds; fails when progress() has not moved for STALL_MS. */
async function waitUntil(cond: () => Promise<boolean> | boolean, progress: () => number, what: string, everyMs: () => number): Promise<void> {
  let last = progress();
  let at = Date.now();
  while (!(await cond())) {
    await sleep(everyMs());
    const p = progress();
    if (p !== last) [last, at] = [p, Date.now()];
    else if (Date.now() - at > STALL_MS) throw new Error(`stalled waiting for ${what} (at ${p})`);
  }
}

// --- CPU accounting ----------------------------------------------------------------------------

interface Cpu {
  prosody: number;
  node: number;
  bench: number;
  redis: number;
  cassandra: number;
  busy: number;
  total: number;
}

interface Pids {
  node: number;
  redis: number | undefined;
  cassandra: number | undefined;
}

/** The processes to account for; Redis and Cassandra looked up by their ports each phase (they may have restarted). */
function pidsOf(node = 0): Pids {
  return { node, redis: findPid(["redis-server", ":16390"]), cassandra: findPid(["CassandraDaemon", "native_transport_port=19042"]) };
}

function cpuNow(p: Pids): Cpu {
  const u = process.cpuUsage();
  const m = machineCpu();
  return {
    prosody: cpuSeconds(prosody.pid),
    node: p.node ? cpuSeconds(p.node) : NaN,
    bench: (u.user + u.system) / 1e6,
    redis: p.redis ? cpuSeconds(p.redis) : NaN,
    cassandra: p.cassandra ? cpuSeconds(p.cassandra) : NaN,
    busy: m.busy,
    total: m.total,
  };
}

function cpuSince(a: Cpu, b: Cpu): Cpu {
  return {
    prosody: b.prosody - a.prosody,
    node: b.node - a.node,
    bench: b.bench - a.bench,
    redis: b.redis - a.redis,
    cassandra: b.cassandra - a.cassandra,
    busy: b.busy - a.busy,
    total: b.total - a.total,
  };
}

interface Result {
  seconds: number;
  deliveredSeconds: number;
  copies: number;
  cpu: Cpu;
}

const orDash = (n: number) => (Number.isFinite(n) ? n : "-");

function row(what: string, r: Result, limit: string): Row {
  return {
    run: what,
    "messages/s": MESSAGES / r.seconds,
    "copies/s": r.copies / r.seconds,
    seconds: r.seconds,
    "delivered s": r.deliveredSeconds,
    "node CPU s": orDash(r.cpu.node),
    "prosody CPU s": r.cpu.prosody,
    "load CPU s": r.cpu.bench,
    "redis CPU s": orDash(r.cpu.redis),
    "cassandra CPU s": orDash(r.cpu.cassandra),
    "machine busy %": (100 * r.cpu.busy) / r.cpu.total,
    limit,
  };
}

const pctOfCore = (cpu: number, s: number) => Math.round((100 * cpu) / s);

// --- phases ------------------------------------------------------------------------------------

async function startProsody(): Promise<void> {
  prosody.start();
  cleanups.push(() => prosody.stop());
}

async function stopProsody(): Promise<void> {
  cleanups.pop();
  prosody.stop();
}

/** Phase A: the counting component. */
async function ceiling(notes: string[]): Promise<Result> {
  await startProsody();
  const counter = new CountingComponent({ service: `xmpp://127.0.0.1:${COMPONENT_PORT}`, jid: COMPONENT_JID, secret: COMPONENT_SECRET, ackEvery: 200, ackMs: 50 });
  await counter.start();
  cleanups.push(() => counter.stop());
  const load = await connectLoad();
  cleanups.push(() => load.stop());
  const c0 = counter.copies;
  log(`phase A (counting component): ${MESSAGES} messages, ${SENDERS} senders -> ${RECIPIENTS} recipients, window ${WINDOW}`);
  const pids = pidsOf();
  const cpu0 = cpuNow(pids);
  const t0 = process.hrtime.bigint();
  let deliveredAt = 0n;
  await Promise.all([
    sendAll(load).then(() => (deliveredAt = process.hrtime.bigint())),
    waitUntil(() => counter.copies - c0 >= COPIES, () => counter.copies, "copies at the component", () => 20),
  ]);
  const cpu = cpuSince(cpu0, cpuNow(pids));
  const end = counter.lastAt;
  const r: Result = { seconds: seconds(t0, end), deliveredSeconds: seconds(t0, deliveredAt), copies: counter.copies - c0, cpu };
  await sleep(500);
  if (counter.copies - c0 !== COPIES || counter.sent !== MESSAGES || counter.received !== MESSAGES)
    throw new Error(`phase A: expected ${MESSAGES} sent + ${MESSAGES} received copies, got ${counter.sent} + ${counter.received}`);
  if (counter.repeats) notes.push(`Phase A: the component saw ${counter.repeats} copies again (resends).`);
  checkProsody("A", notes);
  log(`phase A: ${r.copies} copies in ${r.seconds.toFixed(2)} s (all delivered at ${r.deliveredSeconds.toFixed(2)} s), prosody ${cpu.prosody.toFixed(1)} CPU s`);
  await cleanups.pop()!(); // clients
  await cleanups.pop()!(); // component, after its last acknowledgement
  await stopProsody();
  return r;
}

function checkProsody(phase: string, notes: string[]): void {
  const problems = prosody.problems();
  const resends = prosody.resends();
  if (problems.length) {
    log(`phase ${phase}: Prosody logged ${problems.length} warnings/errors, first: ${problems.slice(0, 3).join(" / ")}`);
    notes.push(`Phase ${phase}: ${problems.length} warnings or errors in Prosody's log.`);
  }
  if (resends.length) notes.push(`Phase ${phase}: the archive feed resent unacknowledged copies ${resends.length} times.`);
}

async function resetStorage(env: Record<string, string>): Promise<void> {
  // Fails at once when Redis is down, rather than retrying in the background.
  const redis = new Redis(`${env.REDIS_URL}/${REDIS_DB}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
  const client = new cassandra.Client({
    contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
    localDataCenter: env.CASSANDRA_LOCAL_DC!,
    socketOptions: { readTimeout: 120_000 },
  });
  await client.connect();
  try {
    const rs = await client.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [KEYSPACE], { prepare: true });
    // Every run starts from empty archives; the schema (and its migrations record) stays.
    for (const r of rs.rows) {
      const table = String(r.get("table_name"));
      if (table !== "schema_migrations") await client.execute(`TRUNCATE ${KEYSPACE}.${table}`);
    }
  } finally {
    await client.shutdown();
  }
}

/** Phase B: the archive node. */
async function archiveNode(env: Record<string, string>, notes: string[]): Promise<Result> {
  await resetStorage(env);
  await startProsody();
  const node = new NodeChild(
    {
      NODE_ID: "bench-e2e",
      COMPONENT_SERVICE: `xmpp://127.0.0.1:${COMPONENT_PORT}`,
      COMPONENT_JID,
      COMPONENT_SECRET,
      XMPP_DOMAINS: `${DOMAIN},other.test`,
      REDIS_URL: `${env.REDIS_URL}/${REDIS_DB}`,
      CASSANDRA_CONTACT_POINTS: env.CASSANDRA_CONTACT_POINTS!,
      CASSANDRA_LOCAL_DC: env.CASSANDRA_LOCAL_DC!,
      CASSANDRA_KEYSPACE: KEYSPACE,
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: String(METRICS_PORT),
      SHARD_COUNT: String(SHARD_COUNT),
      LOG_LEVEL: "warn",
    },
    METRICS_PORT,
    NODE_LOG,
  );
  cleanups.push(() => node.stop());
  log("phase B: starting the archive node");
  await node.start();
  await waitUntil(
    async () => (await node.metrics(["xmpp_archive_shards_owned"])).xmpp_archive_shards_owned === SHARD_COUNT,
    () => 0,
    "the node to own every shard",
    () => 200,
  );
  const load = await connectLoad();
  cleanups.push(() => load.stop());
  const scrape = async () => node.metrics([ARCHIVED]);
  const base = (await scrape())[ARCHIVED]!;
  log(`phase B (archive node, pid ${node.pid}): ${MESSAGES} messages, ${SENDERS} senders -> ${RECIPIENTS} recipients, window ${WINDOW}`);
  const pids = pidsOf(node.pid);
  const cpu0 = cpuNow(pids);
  const t0 = process.hrtime.bigint();
  const delivered0 = load.delivered;
  let deliveredAt = 0n;
  let archived = 0;
  let lastLog = Date.now();
  let lastCpu = cpu0;
  await Promise.all([
    sendAll(load).then(() => (deliveredAt = process.hrtime.bigint())),
    waitUntil(
      async () => {
        if (node.exited) throw new Error(`the node exited; see ${NODE_LOG}`);
        // A slow answer is only a late sample.
        archived = ((await scrape().catch(() => undefined))?.[ARCHIVED] ?? base + archived) - base;
        if (Date.now() - lastLog >= 2000) {
          const now = cpuNow(pids);
          const d = cpuSince(lastCpu, now);
          const s = (Date.now() - lastLog) / 1000;
          [lastLog, lastCpu] = [Date.now(), now];
          log(
            `phase B: ${archived}/${COPIES} copies archived, ${load.delivered - delivered0}/${MESSAGES} delivered; ` +
              `CPU % node ${pctOfCore(d.node, s)}, prosody ${pctOfCore(d.prosody, s)}, cassandra ${pctOfCore(d.cassandra, s)}, redis ${pctOfCore(d.redis, s)}, load ${pctOfCore(d.bench, s)}`,
          );
        }
        return archived >= COPIES;
      },
      () => archived,
      "copies archived by the node",
      // Scrapes cost the node CPU: sparse until the end is near.
      () => (COPIES - archived < COPIES / 10 ? 50 : 250),
    ),
  ]);
  const end = process.hrtime.bigint();
  const cpu = cpuSince(cpu0, cpuNow(pids));
  const r: Result = { seconds: seconds(t0, end), deliveredSeconds: seconds(t0, deliveredAt), copies: archived, cpu };
  log(`phase B: ${archived} copies archived in ${r.seconds.toFixed(2)} s (all delivered at ${r.deliveredSeconds.toFixed(2)} s), node ${cpu.node.toFixed(1)} CPU s, prosody ${cpu.prosody.toFixed(1)} CPU s`);
  // Nothing more should come: exactly one archived copy per message and archive.
  await sleep(1500);
  const after = await scrape();
  const total = after[ARCHIVED]! - base;
  if (total !== COPIES) throw new Error(`phase B: ${total} copies archived, expected ${COPIES}`);
  const odd = await node.nonZero(["xmpp_archive_messages_dropped_total", "xmpp_archive_messages_rejected_total", "xmpp_archive_edge_shed_total"]);
  if (odd.length) notes.push(`Phase B, copies the node did not archive (each copy still archived once): ${odd.join(", ")}.`);
  checkProsody("B", notes);
  await cleanups.pop()!(); // clients
  await cleanups.pop()!(); // node
  await stopProsody();
  return r;
}

async function main(): Promise<void> {
  const env = stackEnv();
  // A run killed half-way may have left its instance on our ports.
  prosody.stop();
  const rows: Row[] = [];
  const notes: string[] = [];
  await startProsody();
  const registered = await prosody.ensureAccounts(
    [...Array.from({ length: SENDERS }, (_, i) => senderName(i)), ...Array.from({ length: RECIPIENTS }, (_, i) => recipientName(i))],
    PASSWORD,
  );
  if (registered) log(`registered ${registered} accounts`);
  const version = prosody.version();
  await stopProsody();

  const a = PHASES.includes("A") ? await ceiling(notes) : undefined;
  const b = PHASES.includes("B") ? await archiveNode(env, notes) : undefined;
  if (!a || !b) return;
  const rateA = MESSAGES / a.seconds;
  const rateB = MESSAGES / b.seconds;
  const ratio = rateB / rateA;
  const prosodyA = pctOfCore(a.cpu.prosody, a.seconds);
  const limitA = prosodyA >= 85 ? `XMPP server (prosody ${prosodyA}% of a core)` : `not prosody (${prosodyA}% of a core): load or machine`;
  const prosodyB = pctOfCore(b.cpu.prosody, b.seconds);
  const lag = b.seconds - b.deliveredSeconds;
  // Whether the node fell behind Prosody, or kept pace with a Prosody that had less CPU than in phase A.
  const pace = lag > 0.1 * b.seconds ? `archived ${lag.toFixed(1)} s after the last delivery` : `kept pace with prosody at ${prosodyB}% of a core`;
  const limitB = `${ratio < NODE_LIMIT_RATIO ? "node" : "XMPP server"} (${ratio.toFixed(2)} x ceiling; ${pace})`;
  rows.push(row("server ceiling (counting component)", a, limitA));
  rows.push(row("archive node", b, limitB));
  notes.push(
    `Load: ${MESSAGES} chat messages with a ~70-byte body from ${SENDERS} senders to ${RECIPIENTS} online recipients, all local on ${DOMAIN}, message i from sender i mod ${SENDERS} to recipient i mod ${RECIPIENTS} (the peer benchmark's load); ` +
      `real @xmpp/client c2s connections (PLAIN on loopback), at most ${WINDOW} messages sent but not yet delivered to their recipient. ` +
      `Prosody's mod_archive_feed sends the component 2 copies per message (sender's and recipient's archive): ${COPIES} copies.`,
    `Both phases on a fresh instance of Prosody ${version} (c2s ${C2S_PORT}, component ${COMPONENT_PORT}, archive feed on, no mod_mam), the clients logged in before timing. ` +
      `Timed from the first send: server ceiling until the last copy reached a component that only counts copies and acknowledges them (every 200 copies or 50 ms); ` +
      `archive node until its ${ARCHIVED} (summed over labels, scraped from /metrics) counted every copy archived in Cassandra. delivered s = when the last message reached its recipient.`,
    `archive node: \`node --max-semi-space-size=256 --import tsx src/main.ts\` as a child process, ${SHARD_COUNT} shards all on it, Redis db ${REDIS_DB} (flushed) and keyspace ${KEYSPACE} (emptied) of the local stack.`,
    `CPU s: CPU time (user + system, from /proc) during the timed span: node = the node process, prosody = the Prosody process (single-threaded: CPU s equal to seconds is one full core), ` +
      `load = this process (the ${SENDERS + RECIPIENTS} clients, and in the ceiling run the counting component), redis and cassandra = the main stack's servers (shared with anything else using them). machine busy % = all cores.`,
    `limit: the node when it reaches less than ${NODE_LIMIT_RATIO} x the counting component's messages/s, else the XMPP server. ` +
      `The node's Redis and Cassandra share the machine with Prosody, so "node" includes the CPU its storage takes from Prosody: the node ` +
      `"kept pace" when its last copy was archived within 10 % of the run after the last delivery (Prosody itself was slowed), otherwise it fell behind Prosody.`,
  );
  report(ROOT, "ingest-e2e", "Ingest end to end: @xmpp/client senders through Prosody to the archive component", rows, notes);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

main().then(
  async () => {
    await cleanUp();
    process.exit(0);
  },
  async (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    await cleanUp();
    process.exit(1);
  },
);
