import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../test/integration/support/stack.ts";
import { connectPeer, connectPeers, xml, type Element, type PeerClient } from "./peer-xmpp.ts";
import { ensureSqliteCli, lit, postgresDb, sqliteDb, value, type SqlDb } from "./peer-sql.ts";
import { pct, report, timeMany, type Row } from "./stats.ts";

// The yardstick: Prosody's own archive (mod_mam, XEP-0313) in a Prosody instance of its own
// beside the main stack. Ingest: chat messages between local users sent from real c2s
// connections until every archived row is stored, with SQL storage (SQLite, and PostgreSQL
// from Debian) and with Prosody's file storage. Page latency: MAM pages of 100 at the start,
// middle and end of one user's archive of DEPTH messages in each SQL database.

const MESSAGES = Number(process.env.BENCH_PEER_MESSAGES ?? 20_000);
const SENDERS = Number(process.env.BENCH_PEER_SENDERS ?? 20);
const RECIPIENTS = Number(process.env.BENCH_PEER_RECIPIENTS ?? 100);
/** Messages sent but not yet delivered to their recipient, at most. */
const WINDOW = Number(process.env.BENCH_PEER_WINDOW ?? 200);
const DEPTH = Number(process.env.BENCH_PEER_DEPTH ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_PEER_SAMPLES ?? 100);
/** 0 leaves PostgreSQL out (else installed from Debian if missing and started on BENCH_PEER_PG_PORT). */
const WITH_POSTGRES = process.env.BENCH_PEER_POSTGRES !== "0";
const PAGE = 100;

const C2S_PORT = 15422;
const COMPONENT_PORT = 15447;
const DOMAIN = "example.test";
const PASSWORD = "bench-peer";
const DEEP = "deep";
const SQL_STATE = join(ROOT, ".local", "bench-peer-prosody");
const PG_PROSODY_STATE = join(ROOT, ".local", "bench-peer-prosody-pg");
const FILE_STATE = join(ROOT, ".local", "bench-peer-prosody-file");
// A PostgreSQL of its own for the peer, beside the main stack's ports.
const PG = { port: Number(process.env.BENCH_PEER_PG_PORT ?? 15433), database: "prosody", user: "prosody" };
const PG_STATE = join(ROOT, ".local", "bench-peer-postgres");
const HOST_DIR = encodeURIComponent(DOMAIN).replace(/\./g, "%2e"); // Prosody's datamanager encoding
const NS_MAM = "urn:xmpp:mam:2";
const NS_RSM = "http://jabber.org/protocol/rsm";
const DEPTH_BASE_WHEN = Math.floor(Date.UTC(2024, 0, 1) / 1000);
const STALL_MS = 60_000;

type Storage = "sqlite" | "postgres" | "internal";
type SqlStorage = Exclude<Storage, "internal">;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`peer: ${s}\n`);
const senderName = (i: number) => `ps${i}`;
const recipientName = (i: number) => `pr${i}`;
const dbOf = (state: string) => join(state, "data", "prosody.sqlite");

function prosodyEnv(state: string, storage: Storage, nagle: boolean): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PROSODY_STATE: state,
    XMPP_C2S_PORT: String(C2S_PORT),
    COMPONENT_PORT: String(COMPONENT_PORT),
    XMPP_DOMAIN: DOMAIN,
    PROSODY_WITH_MAM: "1",
    PROSODY_STORAGE: storage,
    PROSODY_ARCHIVE_FEED: "0",
    PROSODY_NAGLE: nagle ? "1" : "0",
    PG_PORT: String(PG.port),
    PG_DATABASE: PG.database,
    PG_USER: PG.user,
  };
}

function startProsody(state: string, storage: Storage, nagle = true): number {
  execFileSync(join(ROOT, "deploy", "prosody", "start"), { env: prosodyEnv(state, storage, nagle), stdio: ["ignore", "pipe", "inherit"] });
  return Number(readFileSync(join(state, "prosody.pid"), "utf8").trim());
}

function stopProsody(state: string): void {
  execFileSync(join(ROOT, "deploy", "prosody", "stop"), { env: { ...process.env, PROSODY_STATE: state }, stdio: ["ignore", "pipe", "inherit"] });
}

function prosodyVersion(state: string): string {
  const m = [...readFileSync(join(state, "prosody.log"), "utf8").matchAll(/Prosody version (\S+)/g)].pop();
  return m?.[1] ?? "?";
}

/** Error lines Prosody logged since `from` (a byte offset into its log). */
function logErrors(state: string, from: number): string[] {
  const text = readFileSync(join(state, "prosody.log")).subarray(from).toString("utf8");
  return text.split("\n").filter((l) => /\t(error|warn)\t/.test(l) && !/Iteration count/.test(l));
}
const logSize = (state: string) => readFileSync(join(state, "prosody.log")).length;

/** Prosody's CPU time in seconds (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

async function ensureAccounts(state: string, names: string[]): Promise<void> {
  const accounts = join(state, "data", HOST_DIR, "accounts");
  const missing = names.filter((n) => !existsSync(join(accounts, `${n}.dat`)));
  if (missing.length === 0) return;
  log(`registering ${missing.length} accounts`);
  const env = { ...process.env, PROSODY_STATE: state };
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < missing.length) {
        const n = missing[next++]!;
        await run(join(ROOT, "deploy", "local", "adduser"), [n, PASSWORD, DOMAIN], { env });
      }
    }),
  );
}

/** Waits until cond() holds; fails when progress() has not moved for STALL_MS. */
async function waitUntil(cond: () => boolean, progress: () => number, what: string, everyMs = 5): Promise<void> {
  let last = progress();
  let at = Date.now();
  while (!cond()) {
    await sleep(everyMs);
    const p = progress();
    if (p !== last) [last, at] = [p, Date.now()];
    else if (Date.now() - at > STALL_MS) throw new Error(`stalled waiting for ${what} (at ${p})`);
  }
}

// --- archive counters, one per storage -------------------------------------------------------

interface Counter {
  /** Archived items of the ingest users: in the senders' and in the recipients' archives. */
  count(): { senders: number; recipients: number };
}

/** Only rows past `after` (sort_id), so the deep user's rows cost nothing to skip. */
function sqlCounter(db: SqlDb, after: number): Counter {
  return {
    count() {
      const rows = db.rows(`SELECT substr("user", 1, 2), COUNT(*) FROM prosodyarchive WHERE sort_id > ${after} GROUP BY 1;`);
      const get = (p: string) => Number(rows.find((r) => r[0] === p)?.[1] ?? 0);
      return { senders: get("ps"), recipients: get("pr") };
    },
  };
}

/** mod_storage_internal appends one `item(...);` line per archived stanza to <user>.list. */
function fileCounter(state: string, base: { senders: number; recipients: number }): Counter {
  const dir = join(state, "data", HOST_DIR, "archive");
  const raw = () => {
    const c = { senders: 0, recipients: 0 };
    if (!existsSync(dir)) return c;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".list")) continue;
      const n = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l.startsWith("item(")).length;
      if (f.startsWith("ps")) c.senders += n;
      else if (f.startsWith("pr")) c.recipients += n;
    }
    return c;
  };
  return {
    count() {
      const c = raw();
      return { senders: c.senders - base.senders, recipients: c.recipients - base.recipients };
    },
  };
}

// --- ingest ----------------------------------------------------------------------------------

interface Ingest {
  seconds: number;
  rows: number;
  senderRows: number;
  recipientRows: number;
  deliveredSeconds: number;
  prosodyCpu: number;
  errors: string[];
}

interface Clients {
  all: Map<string, PeerClient>;
  delivered: number;
  bounced: number;
  stop(): Promise<void>;
}

async function connectIngestClients(): Promise<Clients> {
  const c: Clients = {
    all: new Map(),
    delivered: 0,
    bounced: 0,
    async stop() {
      await Promise.all([...c.all.values()].map((x) => x.stop()));
    },
  };
  const names = [...Array.from({ length: SENDERS }, (_, i) => senderName(i)), ...Array.from({ length: RECIPIENTS }, (_, i) => recipientName(i))];
  c.all = await connectPeers(C2S_PORT, DOMAIN, names, PASSWORD, (_name, el) => {
    if (!el.is("message")) return;
    if (el.attrs.type === "error") c.bounced++;
    else if (el.getChild("body")) c.delivered++;
  });
  return c;
}

const chat = (to: string, id: string, body: string) => xml("message", { to, type: "chat", id }, xml("body", {}, body));

/** One message from the first sender to the first recipient, as the model for the direct fill. */
async function probe(c: Clients): Promise<void> {
  const before = c.delivered;
  await c.all.get(senderName(0))!.xmpp.send(chat(`${recipientName(0)}@${DOMAIN}`, "peer-probe-id", "peer-probe-body"));
  await waitUntil(() => c.delivered > before, () => c.delivered, "the probe message");
}

async function ingest(state: string, pid: number, c: Clients, counter: () => Counter): Promise<Ingest> {
  const logFrom = logSize(state);
  const cnt = counter();
  const base = c.delivered;
  const bouncedBefore = c.bounced;
  const senders = Array.from({ length: SENDERS }, (_, i) => c.all.get(senderName(i))!);
  const body = "x".repeat(60);
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  let sent = 0;
  let sendError: unknown;
  while (sent < MESSAGES) {
    if (sent - (c.delivered - base) >= WINDOW) {
      await waitUntil(() => sent - (c.delivered - base) < WINDOW || sendError !== undefined, () => c.delivered, "deliveries", 1);
      if (sendError !== undefined) throw sendError;
      continue;
    }
    const i = sent++;
    const to = `${recipientName(i % RECIPIENTS)}@${DOMAIN}`;
    senders[i % SENDERS]!.xmpp.send(chat(to, `m${i}`, `${body} ${i}`)).catch((err: unknown) => (sendError = err));
  }
  await waitUntil(() => c.delivered - base >= MESSAGES, () => c.delivered, "deliveries", 2);
  const deliveredSeconds = since();
  // Counted once the recipients have everything (both copies are stored before delivery): a
  // read during the run takes SQLite's shared lock, and Prosody's LuaDBI connection has no
  // busy timeout, so a commit colliding with it would fail.
  let n = cnt.count();
  await waitUntil(
    () => (n = cnt.count()).senders + n.recipients >= 2 * MESSAGES,
    () => n.senders + n.recipients,
    "archived rows",
    20,
  );
  const seconds = since();
  const prosodyCpu = cpuSeconds(pid) - cpu0;
  await sleep(200);
  n = cnt.count(); // nothing more should arrive: exactly two rows per message
  const errors = logErrors(state, logFrom);
  if (c.bounced > bouncedBefore) errors.push(`${c.bounced - bouncedBefore} error replies to senders`);
  return { seconds, rows: n.senders + n.recipients, senderRows: n.senders, recipientRows: n.recipients, deliveredSeconds, prosodyCpu, errors };
}

function ingestRow(what: string, r: Ingest): Row {
  return {
    measurement: what,
    "rows/s": r.rows / r.seconds,
    "messages/s": MESSAGES / r.seconds,
    seconds: r.seconds,
    "prosody cpu %": (100 * r.prosodyCpu) / r.seconds,
    "p50 ms": "-",
    "p99 ms": "-",
    "items/page": "-",
  };
}

// --- depth: direct fill of mod_storage_sql's archive table -----------------------------------

interface Template {
  value: string;
  sender: string;
  recipient: string;
}

/** The probe's row as Prosody stored it (recipient's copy), to fill with the same format. */
function templateRow(db: SqlDb): Template {
  const sender = `${senderName(0)}@${DOMAIN}`;
  const recipient = `${recipientName(0)}@${DOMAIN}`;
  const row = db.rows(
    `SELECT host, "user", store, key, "when", "with", type, value FROM prosodyarchive
     WHERE host = ${lit(DOMAIN)} AND "user" = ${lit(recipientName(0))} AND store = 'archive' AND value LIKE '%peer-probe-id%'
     ORDER BY sort_id DESC LIMIT 1;`,
  )[0];
  if (!row) throw new Error("the probe message was not archived");
  log(`a row mod_mam wrote (host, user, store, key, when, with, type, value): ${row.join(" | ")}`);
  const [, , , key, when, withJid, type, value] = row as [string, string, string, string, string, string, string, string];
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(key) || !/^\d+$/.test(when) || withJid !== sender || type !== "xml")
    throw new Error(`unexpected row format: ${row.join(" | ")}`);
  if (!value.includes(sender) || !value.includes(recipient) || !value.includes("peer-probe-body")) throw new Error(`unexpected value: ${value}`);
  return { value, sender, recipient };
}

function deepCount(db: SqlDb): number {
  return Number(value(db, `SELECT COUNT(*) FROM prosodyarchive WHERE host = ${lit(DOMAIN)} AND "user" = ${lit(DEEP)} AND store = 'archive';`) ?? 0);
}

/** DEPTH rows for the deep user, alternately received from and sent to 50 peers, one second apart. */
function fillDeep(db: SqlDb, tpl: Template): void {
  const have = deepCount(db);
  if (have === DEPTH) {
    log(`deep archive already filled: ${DEPTH} rows`);
    return;
  }
  log(`filling ${DEPTH} rows for ${DEEP}@${DOMAIN} (had ${have}) in one transaction`);
  const t = Date.now();
  const peer = `'peer' || (i % 50) || '@${DOMAIN}'`;
  const deep = lit(`${DEEP}@${DOMAIN}`);
  const render = (from: string, to: string) =>
    `replace(replace(replace(replace(${lit(tpl.value)}, ${lit(tpl.sender)}, ${from}), ${lit(tpl.recipient)}, ${to}), 'peer-probe-id', 'fill' || i), 'peer-probe-body', ${lit("x".repeat(60))} || ' ' || i)`;
  db.rows(
    db.bulk(
      `DELETE FROM prosodyarchive WHERE host = ${lit(DOMAIN)} AND "user" = ${lit(DEEP)} AND store = 'archive';
       ${db.numbered(
         DEPTH,
         `INSERT INTO prosodyarchive (host, "user", store, key, "when", "with", type, value)`,
         `SELECT ${lit(DOMAIN)}, ${lit(DEEP)}, 'archive', ${db.uuidExpr}, ${DEPTH_BASE_WHEN} + i, ${peer}, 'xml',
                 CASE i % 2 WHEN 0 THEN ${render(peer, deep)} ELSE ${render(deep, peer)} END`,
       )}`,
    ),
  );
  const now = deepCount(db);
  if (now !== DEPTH) throw new Error(`deep fill left ${now} rows, expected ${DEPTH}`);
  log(`filled in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

/** The archive id (key) of the row at 1-based position `pos` in the deep user's archive. */
function deepKeyAt(db: SqlDb, pos: number): string {
  return value(
    db,
    `SELECT key FROM prosodyarchive WHERE host = ${lit(DOMAIN)} AND "user" = ${lit(DEEP)} AND store = 'archive' ORDER BY sort_id LIMIT 1 OFFSET ${pos - 1};`,
  )!;
}

// --- MAM queries -----------------------------------------------------------------------------

interface Page {
  ids: string[];
  fin: Element;
}

async function mamClient(): Promise<{ query(rsm: Element[]): Promise<Page>; stop(): Promise<void> }> {
  const pending = new Map<string, { ids: string[]; resolve(p: Page): void; reject(e: Error): void }>();
  const c = await connectPeer(C2S_PORT, DOMAIN, DEEP, PASSWORD, (el) => {
    const result = el.is("message") ? el.getChild("result", NS_MAM) : undefined;
    if (result) {
      pending.get(result.attrs.queryid as string)?.ids.push(result.attrs.id as string);
      return;
    }
    const p = el.is("iq") ? pending.get(el.attrs.id as string) : undefined;
    if (!p) return;
    pending.delete(el.attrs.id as string);
    const fin = el.getChild("fin", NS_MAM);
    if (el.attrs.type !== "result" || !fin) p.reject(new Error(`MAM query failed: ${el.toString()}`));
    else p.resolve({ ids: p.ids, fin });
  });
  let seq = 0;
  return {
    query(rsm) {
      const id = `q${seq++}`;
      // queryid = iq id, so results and the final answer find the same entry.
      const done = new Promise<Page>((resolve, reject) => pending.set(id, { ids: [], resolve, reject }));
      const iq = xml("iq", { type: "set", id }, xml("query", { xmlns: NS_MAM, queryid: id }, xml("set", { xmlns: NS_RSM }, xml("max", {}, String(PAGE)), ...rsm)));
      return c.xmpp.send(iq).then(() => done);
    },
    stop: () => c.stop(),
  };
}

// --- phases ----------------------------------------------------------------------------------

/** Where each SQL storage keeps its instance's state, and how it is described in the notes. */
const SQL_PEERS: Record<SqlStorage, { state: string; label: string; db(): SqlDb; describe(): string }> = {
  sqlite: {
    state: SQL_STATE,
    label: "SQLite",
    db: () => sqliteDb(dbOf(SQL_STATE)),
    describe: () => "SQLite through LuaDBI as Prosody opens it (rollback journal, synchronous=FULL: one commit per archived row)",
  },
  postgres: {
    state: PG_PROSODY_STATE,
    label: "PostgreSQL",
    db: () => postgresDb(PG),
    describe: () =>
      `PostgreSQL ${value(postgresDb(PG), "SHOW server_version;")?.split(" ")[0] ?? "?"} from Debian through LuaDBI, on loopback TCP, default settings (synchronous_commit on: one commit per archived row)`,
  },
};

async function sqlPhase(storage: SqlStorage, rows: Row[], notes: string[]): Promise<void> {
  const peer = SQL_PEERS[storage];
  const db = peer.db();
  // The measured run starts from an archive holding only the deep user's rows. The ingest
  // users (pr*, ps*) are one index range, so this never scans the deep user's rows.
  if ((storage !== "sqlite" || existsSync(dbOf(SQL_STATE))) && db.hasArchiveTable())
    db.rows(`DELETE FROM prosodyarchive WHERE host = ${lit(DOMAIN)} AND "user" >= 'pr' AND "user" < 'pt';`);
  const pid = startProsody(peer.state, storage);
  try {
    notes.push(`${peer.label}: Prosody ${prosodyVersion(peer.state)}, mod_mam with storage = { archive = "sql" }, ${peer.describe()}.`);
    await ensureAccounts(peer.state, [...senderNames(), ...recipientNames(), DEEP]);
    const c = await connectIngestClients();
    try {
      await probe(c);
      const tpl = templateRow(db);
      fillDeep(db, tpl);
      const after = Number(value(db, "SELECT COALESCE(MAX(sort_id), 0) FROM prosodyarchive;"));
      log(`ingest ${storage}: ${MESSAGES} messages, ${SENDERS} senders -> ${RECIPIENTS} recipients, window ${WINDOW}`);
      const r = await ingest(peer.state, pid, c, () => sqlCounter(db, after));
      checkIngest(storage, r, notes);
      rows.push(ingestRow(`ingest ${storage}`, r));
    } finally {
      await c.stop();
    }
    const keys = deepKeys(db);
    const first = await depthQueries(`mam ${storage}`, keys, "", true, rows);
    const count = first.fin.getChild("set", NS_RSM)?.getChildText("count");
    // The same pages with TCP_NODELAY: what Prosody's work costs without Nagle's stall.
    stopProsody(peer.state);
    startProsody(peer.state, storage, false);
    await depthQueries(`mam ${storage}`, keys, ", nodelay", false, rows);
    notes.push(
      `Pages (${peer.label}): one user with ${DEPTH} archived messages (rows inserted directly in one transaction, in the format mod_mam wrote for a probe message); ` +
        `urn:xmpp:mam:2 queries with RSM max=${PAGE} over a real @xmpp/client connection, timed from sending the IQ to its <fin/> result (after all ${PAGE} forwarded results); ` +
        `${SAMPLES} samples each after 20 warm-up queries; page contents checked against the table. The fin carries ` +
        (count === null || count === undefined ? `no RSM count (mod_mam leaves totals out when archive_expires_after is "never").` : `count ${count}.`),
    );
  } finally {
    stopProsody(peer.state);
  }
}

async function filePhase(rows: Row[], notes: string[]): Promise<void> {
  // Fresh archive files: mod_storage_internal caps an archive at 10000 items by default.
  rmSync(join(FILE_STATE, "data", HOST_DIR, "archive"), { recursive: true, force: true });
  const pid = startProsody(FILE_STATE, "internal");
  try {
    await ensureAccounts(FILE_STATE, [...senderNames(), ...recipientNames()]);
    const c = await connectIngestClients();
    try {
      await probe(c);
      const base = fileCounter(FILE_STATE, { senders: 0, recipients: 0 }).count();
      log(`ingest file: ${MESSAGES} messages, ${SENDERS} senders -> ${RECIPIENTS} recipients, window ${WINDOW}`);
      const r = await ingest(FILE_STATE, pid, c, () => fileCounter(FILE_STATE, base));
      checkIngest("file", r, notes);
      rows.push(ingestRow("ingest file", r));
    } finally {
      await c.stop();
    }
  } finally {
    stopProsody(FILE_STATE);
  }
}

function checkIngest(what: string, r: Ingest, notes: string[]): void {
  log(
    `ingest ${what}: ${r.rows} rows (${r.senderRows} in senders' archives, ${r.recipientRows} in recipients') in ${r.seconds.toFixed(2)} s` +
      ` (last delivery at ${r.deliveredSeconds.toFixed(2)} s), prosody cpu ${r.prosodyCpu.toFixed(1)} s`,
  );
  if (r.errors.length) {
    log(`ingest ${what}: Prosody logged ${r.errors.length} errors/warnings, first: ${r.errors.slice(0, 3).join(" / ")}`);
    notes.push(`ingest ${what}: ${r.errors.length} errors or warnings in Prosody's log during the run.`);
  }
  if (r.senderRows !== MESSAGES || r.recipientRows !== MESSAGES)
    throw new Error(`ingest ${what}: expected ${MESSAGES} rows in each side's archives, got ${r.senderRows} + ${r.recipientRows}`);
}

interface DeepKeys {
  first: string;
  mid: string;
  midNext: string;
  lastFirst: string;
  last: string;
}

function deepKeys(db: SqlDb): DeepKeys {
  const mid = Math.floor(DEPTH / 2);
  return { first: deepKeyAt(db, 1), mid: deepKeyAt(db, mid), midNext: deepKeyAt(db, mid + 1), lastFirst: deepKeyAt(db, DEPTH - PAGE + 1), last: deepKeyAt(db, DEPTH) };
}

async function depthQueries(label: string, keys: DeepKeys, suffix: string, withIndex: boolean, rows: Row[]): Promise<Page> {
  const midPos = Math.floor(DEPTH / 2);
  const q = await mamClient();
  try {
    const measure = async (what: string, rsm: () => Element[], expect: (p: Page) => string) => {
      let page: Page | undefined;
      const s = await timeMany(SAMPLES, async () => {
        page = await q.query(rsm());
      });
      const items = page!.ids.length;
      const check = expect(page!);
      rows.push({
        measurement: what + suffix,
        "rows/s": "-",
        "messages/s": "-",
        seconds: "-",
        "prosody cpu %": "-",
        "p50 ms": pct(s, 50),
        "p99 ms": pct(s, 99),
        "items/page": check ? `${items} (${check})` : items,
      });
      log(`${what + suffix}: p50 ${pct(s, 50).toFixed(2)} ms, p99 ${pct(s, 99).toFixed(2)} ms, ${items} items${check ? `, ${check}` : ""}`);
      return page!;
    };
    const wrong = (p: Page, first: string, last?: string) =>
      p.ids.length !== PAGE || p.ids[0] !== first || (last !== undefined && p.ids[PAGE - 1] !== last) ? "unexpected rows" : "";
    const first = await measure(`${label} first page`, () => [], (p) => wrong(p, keys.first));
    await measure(`${label} middle page (after #${midPos})`, () => [xml("after", {}, keys.mid)], (p) => wrong(p, keys.midNext));
    await measure(`${label} last page (empty before)`, () => [xml("before")], (p) => wrong(p, keys.lastFirst, keys.last));
    if (withIndex)
      await measure(`${label} middle page (index ${midPos})`, () => [xml("index", {}, String(midPos))], (p) =>
        p.ids[0] === keys.midNext ? "" : p.ids[0] === first.ids[0] ? "index ignored: first page" : "unexpected rows",
      );
    return first;
  } finally {
    await q.stop();
  }
}

const senderNames = () => Array.from({ length: SENDERS }, (_, i) => senderName(i));
const recipientNames = () => Array.from({ length: RECIPIENTS }, (_, i) => recipientName(i));

function startPostgres(): void {
  execFileSync(join(ROOT, "deploy", "postgres", "start"), {
    env: { ...process.env, PG_PORT: String(PG.port), PG_DATABASE: PG.database, PG_USER: PG.user, PG_STATE },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

function stopPostgres(): void {
  execFileSync(join(ROOT, "deploy", "postgres", "stop"), { env: { ...process.env, PG_STATE }, stdio: ["ignore", "pipe", "inherit"] });
}

const PROSODY_STATES = [SQL_STATE, PG_PROSODY_STATE, FILE_STATE];

async function main(): Promise<void> {
  ensureSqliteCli();
  // A run killed half-way may have left an instance on our ports.
  for (const s of PROSODY_STATES) stopProsody(s);
  const rows: Row[] = [];
  const notes: string[] = [];
  await sqlPhase("sqlite", rows, notes);
  if (WITH_POSTGRES) {
    startPostgres();
    try {
      await sqlPhase("postgres", rows, notes);
    } finally {
      stopPostgres();
    }
  }
  await filePhase(rows, notes);
  // Table order: ingest first, then the pages.
  rows.sort((a, b) => Number(String(b.measurement).startsWith("ingest")) - Number(String(a.measurement).startsWith("ingest")));
  notes.unshift(
    `Ingest: ${MESSAGES} chat messages with a body from ${SENDERS} senders to ${RECIPIENTS} online recipients (all on ${DOMAIN}), sent from real @xmpp/client c2s connections with at most ${WINDOW} undelivered; ` +
      `timed from the first send until the archive held every row. mod_mam archives each message twice (the sender's and the recipient's archive): rows = 2 x messages, checked per side. ` +
      `SQL rows counted in prosodyarchive; file rows counted as item lines in data/<host>/archive/*.list (mod_storage_internal). ` +
      `prosody cpu % = Prosody's CPU time over the run's wall time (it is single-threaded: 100 % = one core).`,
    `Peer instance: its own Prosody (c2s ${C2S_PORT}) with mod_mam, no archive feed; max_archive_query_results raised from 50 to 1000 so pages of ${PAGE} are possible.`,
  );
  notes.push(
    `The SQL ingests run with the deep user's ${DEPTH} rows already in the table (filled first, kept between runs); the file ingest starts from empty archives.`,
    `"nodelay" rows: the same queries after restarting the instance with network_settings = { nagle = false } (PROSODY_NAGLE=0); with Prosody's default (Nagle on) part of a page can wait for the client's delayed ACK.`,
  );
  const storages = WITH_POSTGRES ? "SQLite, PostgreSQL and file storage" : "SQLite and file storage";
  report(ROOT, "peer", `Peer: Prosody mod_mam (XEP-0313) with ${storages}`, rows, notes);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    for (const s of PROSODY_STATES) {
      try {
        stopProsody(s);
      } catch {
        // already reported above
      }
    }
    try {
      stopPostgres();
    } catch {
      // already reported above
    }
    process.exit(1);
  },
);
