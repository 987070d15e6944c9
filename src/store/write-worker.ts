import { parentPort, workerData } from "node:worker_threads";
import cassandra from "cassandra-driver";
import { baseOptions, type CassandraConnection } from "./cassandra-client.ts";
import { batchOptions, errorToWire, fromWire, type BatchQuery, type WireBatch, type WireOutcome } from "./write-wire.ts";

// The write thread: a driver client of its own that runs the batches the node's thread sends
// and reports each one's outcome. Encoding the statements and reading the replies is most of
// the driver's work on the write path; here it runs beside the node's thread, not on it.

/** `texts`: statement texts new since the last message, numbered on from those before. */
export type ToWriteThread = { texts: string[]; batches: WireBatch[] } | { stop: true };
export type FromWriteThread = { outcomes: WireOutcome[] } | { stopped: true };

const port = parentPort;
if (!port) throw new Error("write-worker runs as a worker thread");
const conn = workerData as CassandraConnection;
// Bound to no keyspace: the statements name theirs (statements.ts).
const client = new cassandra.Client(baseOptions(conn));

const texts: string[] = [];

// Outcomes that settle in the same turn go back as one message.
let outbox: WireOutcome[] = [];
const settle = (o: WireOutcome): void => {
  if (outbox.push(o) === 1) {
    setImmediate(() => {
      const outcomes = outbox;
      outbox = [];
      port.postMessage({ outcomes } satisfies FromWriteThread);
    });
  }
};

port.on("message", (m: ToWriteThread) => {
  if ("stop" in m) {
    void client
      .shutdown()
      .catch(() => undefined)
      .then(() => port.postMessage({ stopped: true } satisfies FromWriteThread));
    return;
  }
  texts.push(...m.texts);
  for (const b of m.batches) {
    // The client connects on its first batch, and again on a later one should that fail.
    let queries: BatchQuery[];
    try {
      queries = fromWire(b, texts);
    } catch (err) {
      settle({ id: b.id, error: errorToWire(err) });
      continue;
    }
    client.batch(queries, batchOptions(b)).then(
      () => settle({ id: b.id }),
      (err: unknown) => settle({ id: b.id, error: errorToWire(err) }),
    );
  }
});
