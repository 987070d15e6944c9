import type { Worker } from "node:worker_threads";
import cassandra from "cassandra-driver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FenceClock } from "../../src/cluster/fence.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { CassandraClient } from "../../src/store/cassandra-client.ts";
import { WriteThread } from "../../src/store/write-thread.ts";
import { connectTestKeyspace, testKeyspace, uniqueName } from "./support/stack.ts";

// The write thread against the real Cassandra: batches written by its own client, read back
// through the node's; failures come back as driver errors, which the shard's loop retries.
let client: CassandraClient;
let thread: WriteThread;
const clock = new FenceClock(3, Date.now());

// The write thread's client is bound to no keyspace: the statements it runs name theirs, as the store's do.
const INSERT = `INSERT INTO ${testKeyspace().keyspace}.items (owner, with_jid, start, pos, kind, at, payload, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

beforeAll(async () => {
  client = await connectTestKeyspace();
  thread = new WriteThread(testKeyspace(), createLogger("silent"));
});
afterAll(async () => {
  await thread?.close();
  await client?.shutdown();
});

const PEER = "peer@example.org";

/** A collection's item rows (its partition: owner, peer, start). */
async function items(owner: string, start: number): Promise<{ pos: number; payload: string; name: string | null; writetime: string }[]> {
  const rs = await client.execute("SELECT pos, payload, name, WRITETIME(payload) AS wt FROM items WHERE owner = ? AND with_jid = ? AND start = ?", [owner, PEER, start], {
    prepare: true,
  });
  return rs.rows.map((r) => ({
    pos: r.get("pos") as number,
    payload: r.get("payload") as string,
    name: r.get("name") as string | null,
    writetime: String(r.get("wt")),
  }));
}

describe("the write thread", () => {
  it("writes batches with the caller's fenced timestamp, an unset column left as stored", async () => {
    const owner = `${uniqueName("wt")}@example.test`;
    const start = Date.UTC(2025, 0, 1);
    const before = clock.next();
    const ts = clock.next();
    await client.execute(INSERT, [owner, PEER, start, 0, "to", start, "old", "kept"], { prepare: true, timestamp: before });
    await thread.batch(
      [
        { query: INSERT, params: [owner, PEER, start, 0, "to", start, "<body>a</body>", cassandra.types.unset] },
        { query: INSERT, params: [owner, PEER, start, 1, "from", start + 1000, "<body>b</body>", undefined] },
      ],
      { logged: false, timestamp: ts },
    );
    expect(await items(owner, start)).toEqual([
      { pos: 0, payload: "<body>a</body>", name: "kept", writetime: ts.toString() },
      { pos: 1, payload: "<body>b</body>", name: null, writetime: ts.toString() },
    ]);
  });

  it("settles each of many batches asked for at once", async () => {
    const owner = `${uniqueName("wt")}@example.test`;
    const start = Date.UTC(2025, 0, 2);
    const ts = clock.next();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        thread.batch([{ query: INSERT, params: [owner, PEER, start, i, "to", start + i, `<body>${i}</body>`, null] }], {
          logged: false,
          timestamp: ts,
        }),
      ),
    );
    expect((await items(owner, start)).length).toBe(300);
  });

  it("rejects a batch Cassandra refuses with a driver error", async () => {
    const err = await thread.batch([{ query: `INSERT INTO ${testKeyspace().keyspace}.no_such_table (a) VALUES (?)`, params: [1] }], { logged: false, timestamp: clock.next() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(cassandra.errors.DriverError);
    expect((err as Error).message).toMatch(/no_such_table/);
  });

  it("fails what a dying thread held with a driver error, and carries on with a new thread", async () => {
    const owner = `${uniqueName("wt")}@example.test`;
    const start = Date.UTC(2025, 0, 3);
    const held = thread.batch([{ query: INSERT, params: [owner, PEER, start, 0, "to", start, "<body>x</body>", null] }], {
      logged: false,
      timestamp: clock.next(),
    });
    // Stopped before Cassandra can answer: the batch is on its way to the thread, or still waiting
    // to be sent, and either way must fail rather than hang or succeed.
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await expect(held).rejects.toBeInstanceOf(cassandra.errors.DriverError);
    // While it is being replaced, batches fail fast (and are retried by the caller).
    let written = false;
    for (let i = 0; i < 100 && !written; i++) {
      written = await thread
        .batch([{ query: INSERT, params: [owner, PEER, start, 1, "to", start, "<body>y</body>", null] }], { logged: false, timestamp: clock.next() })
        .then(
          () => true,
          (e: unknown) => {
            expect(e).toBeInstanceOf(cassandra.errors.DriverError);
            return new Promise<boolean>((r) => setTimeout(() => r(false), 100));
          },
        );
    }
    expect(written).toBe(true);
    expect((await items(owner, start)).map((r) => r.pos)).toContain(1);
  });

  it("refuses batches once closed", async () => {
    const other = new WriteThread(testKeyspace(), createLogger("silent"));
    await other.close();
    await expect(other.batch([{ query: INSERT, params: [] }], { logged: false, timestamp: clock.next() })).rejects.toBeInstanceOf(
      cassandra.errors.DriverError,
    );
  });
});
