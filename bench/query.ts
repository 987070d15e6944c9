import cassandra from "cassandra-driver";
import type { ArchivedItem, CollectionMeta } from "../src/archive/model.ts";
import { collectionCursor, messageCursor } from "../src/archive/cursors.ts";
import { FenceClock } from "../src/cluster/fence.ts";
import { createLogger } from "../src/log/logger.ts";
import { Metrics } from "../src/metrics/metrics.ts";
import { QueryService } from "../src/query/query-service.ts";
import { ArchiveStore } from "../src/store/archive-store.ts";
import { connectCassandra } from "../src/store/cassandra-client.ts";
import { ROOT, stackEnv } from "../test/integration/support/stack.ts";
import { pct, report, timeRounds, untilQuiet, type Pair, type Row } from "./stats.ts";

// Query latency against archive depth: one user with COLLECTIONS x PER_COLLECTION messages;
// list and retrieve pages of 100 at the first, middle and last position, through the node's
// query path, each beside a plain cassandra-driver read of the same rows in the same run.

const COLLECTIONS = Number(process.env.BENCH_COLLECTIONS ?? 1000);
const PER_COLLECTION = Number(process.env.BENCH_PER_COLLECTION ?? 1000);
/** Per page and side: at 1,000 a p99 is the tenth-slowest sample, not one stray pause. */
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
const PAGE = 100;
const OWNER = "bench-owner@example.test";
const KEYSPACE = "archive_bench";
const BASE = Date.UTC(2024, 0, 1);

const keyOf = (i: number) => ({ with: `peer${i % 50}@example.org`, start: BASE + i * 3_600_000 });

async function fill(store: ArchiveStore, client: cassandra.Client): Promise<void> {
  const have = Number((await client.execute(`SELECT COUNT(*) FROM ${KEYSPACE}.collections WHERE owner = ?`, [OWNER], { prepare: true })).first()?.get(0) ?? 0);
  const last = keyOf(COLLECTIONS - 1);
  const lastMeta = await store.getCollection(OWNER, last);
  if (have === COLLECTIONS && lastMeta?.count === PER_COLLECTION) {
    process.stdout.write(`archive already filled: ${COLLECTIONS} collections x ${PER_COLLECTION} messages\n`);
    // Filled before the stamp was kept in the collections partition: the write that adds a
    // collection now puts it there.
    if (!(await store.listStamp(OWNER))) await client.execute(`UPDATE ${KEYSPACE}.collections SET list_version = now() WHERE owner = ?`, [OWNER], { prepare: true });
    return;
  }
  const clock = new FenceClock(1, Date.now());
  const t = Date.now();
  let next = 0;
  const body = "x".repeat(60);
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < COLLECTIONS) {
        const i = next++;
        const k = keyOf(i);
        for (let from = 0; from < PER_COLLECTION; from += 500) {
          const n = Math.min(500, PER_COLLECTION - from);
          const items: ArchivedItem[] = Array.from({ length: n }, (_, j) => ({
            kind: (from + j) % 2 ? "from" : "to",
            at: k.start + (from + j) * 1000,
            payload: `<body>${body} ${i}/${from + j}</body>`,
          }));
          const meta: CollectionMeta = { ...k, version: from / 500, count: from + n, lastAt: k.start + (from + n - 1) * 1000 };
          await store.writeCollection(OWNER, { meta, items }, Date.now(), { timestamp: clock.next() });
        }
        if (i % 100 === 99) process.stdout.write(`filled ${i + 1}/${COLLECTIONS} collections (${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
      }
    }),
  );
}

async function main(): Promise<void> {
  const env = stackEnv();
  const log = createLogger("warn");
  const cfg = {
    contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
    localDataCenter: env.CASSANDRA_LOCAL_DC!,
    keyspace: KEYSPACE,
    tls: false,
    replication: { class: "SimpleStrategy", replication_factor: "1" },
  };
  // Bound to no keyspace, as the node's client is; the raw reads name theirs too, each text built
  // once (src/store/statements.ts).
  const client = await connectCassandra(cfg, log, { bound: false });
  const metrics = new Metrics();
  const store = new ArchiveStore(client, metrics, 128, undefined, KEYSPACE);
  await fill(store, client);
  // Not during the compactions of the fill or of an earlier benchmark.
  process.stdout.write(`query: Cassandra quiet after ${(await untilQuiet(ROOT)).toFixed(0)} s\n`);
  const q = new QueryService(store, { defaultMax: 100, maxPageSize: 1000, maxReplyBytes: 1 << 22, changeRetentionMs: 365 * 86_400_000 });

  const mid = Math.floor(COLLECTIONS / 2);
  const target = keyOf(mid); // the collection retrieved
  const midMsg = Math.floor(PER_COLLECTION / 2);
  // Every page is timed in the same rounds (see timeRounds), so that the last page is compared
  // with the first under the same conditions, not a few seconds later on a machine that may
  // have slowed meanwhile.
  const cases: { what: string; pair: Pair }[] = [];
  const measure = (what: string, node: () => Promise<unknown>, raw: () => Promise<unknown>) => cases.push({ what, pair: [node, raw] });

  const listCols = `SELECT with_jid, start, version, count, thread, subject FROM ${KEYSPACE}.collections WHERE owner = ?`;
  const listAfter = `${listCols} AND (start, with_jid) > (?, ?) LIMIT 100`;
  const listFirst = `${listCols} LIMIT 100`;
  const listLast = `${listCols} ORDER BY start DESC, with_jid DESC LIMIT 100`;
  const listRaw = (after?: { with: string; start: number }, desc = false) => () =>
    client.execute(
      after ? listAfter : desc ? listLast : listFirst,
      after ? [OWNER, new Date(after.start), after.with] : [OWNER],
      { prepare: true },
    );
  const list = (rsm: Record<string, string | number>) => () => q.answer(OWNER, { op: "list", exactmatch: false, rsm: { max: PAGE, ...rsm } });
  measure("list first page", list({}), listRaw());
  measure("list middle page (after)", list({ after: collectionCursor.encode(keyOf(mid - 1)) }), listRaw(keyOf(mid - 1)));
  measure("list middle page (index)", list({ index: mid }), listRaw(keyOf(mid - 1)));
  measure("list last page (empty before)", list({ before: "" }), listRaw(undefined, true));

  // A retrieve page is the collection's row (its attributes and count) and its items: the raw
  // read takes both, side by side, as the node does.
  const collectionRow = `SELECT with_jid, start, version, count, last_at, thread, subject FROM ${KEYSPACE}.collections WHERE owner = ? AND start = ? AND with_jid = ?`;
  const itemsFrom = `SELECT pos, kind, at, payload, name, jid FROM ${KEYSPACE}.items WHERE owner = ? AND with_jid = ? AND start = ? AND pos >= ?`;
  const itemsForward = `${itemsFrom} LIMIT 100`;
  const itemsBackward = `${itemsFrom} ORDER BY pos DESC LIMIT 100`;
  const countAll = `SELECT COUNT(*) FROM ${KEYSPACE}.collections WHERE owner = ?`;
  const itemsRaw = (from: number, desc = false) => () =>
    Promise.all([
      client.execute(collectionRow, [OWNER, new Date(target.start), target.with], { prepare: true }),
      client.execute(
        desc ? itemsBackward : itemsForward,
        [OWNER, target.with, new Date(target.start), desc ? 0 : from],
        { prepare: true },
      ),
    ]);
  const retrieve = (rsm: Record<string, string | number>) => () =>
    q.answer(OWNER, { op: "retrieve", with: target.with, start: target.start, rsm: { max: PAGE, ...rsm } });
  measure("retrieve first page", retrieve({}), itemsRaw(0));
  measure("retrieve middle page (after)", retrieve({ after: messageCursor.encode(midMsg - 1) }), itemsRaw(midMsg));
  measure("retrieve middle page (index)", retrieve({ index: midMsg }), itemsRaw(midMsg));
  measure("retrieve last page (empty before)", retrieve({ before: "" }), itemsRaw(0, true));
  measure("count only (max=0)", list({ max: 0 }), () =>
    client.execute(countAll, [OWNER], { prepare: true }),
  );

  const timed = await timeRounds(SAMPLES, cases.map((c) => c.pair));
  const rows: Row[] = cases.map(({ what }, i) => {
    const [a, b] = timed[i]!;
    return {
      query: what,
      "node p50 ms": pct(a, 50),
      "node p99 ms": pct(a, 99),
      "raw p50 ms": pct(b, 50),
      "raw p99 ms": pct(b, 99),
      "p99 ratio": pct(a, 99) / pct(b, 99),
    };
  });
  report(ROOT, "query", `Query latency: one user, ${COLLECTIONS} collections x ${PER_COLLECTION} messages, pages of ${PAGE}`, rows, [
    `node = the node's query path (QueryService: Cassandra read, paging, secs, rendering); raw = plain cassandra-driver read of the same rows (for a retrieve page the collection's row and its items, side by side); ${SAMPLES} samples each after warm-up, taken in rounds of one sample of every query, node and raw alternately, so that all pages meet the same conditions.`,
  ]);
  await client.shutdown();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
