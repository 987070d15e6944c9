import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import cassandra from "cassandra-driver";
import type { Logger } from "../log/logger.ts";
import type { CassandraConnection } from "./cassandra-client.ts";
import type { FromWriteThread, ToWriteThread } from "./write-worker.ts";
import { errorFromWire, toWire, WriteThreadError, type BatchOptions, type BatchQuery, type WireBatch } from "./write-wire.ts";

/** Where the store sends its batches. */
export interface BatchWriter {
  batch(queries: readonly BatchQuery[], opts: BatchOptions): Promise<void>;
}

/** Batches through a client on the calling thread. */
export function clientWriter(client: cassandra.Client): BatchWriter {
  // The driver only reads the array; it is typed as mutable.
  return { batch: async (queries, opts) => void (await client.batch(queries as BatchQuery[], { prepare: true, ...opts })) };
}

/**
 * The worker's entry. Built, it is `write-worker.js` beside this file. From source it is the
 * TypeScript file, which a worker loads only once the TypeScript loader is registered in it.
 */
function workerEntry(): URL {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(fromSource ? "./write-worker.ts" : "./write-worker.js", import.meta.url);
  if (!fromSource) return entry;
  // The loader's ESM entry, found through its package file: the resolver at hand may only know CommonJS.
  const pkgFile = createRequire(import.meta.url).resolve("tsx/package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports: Record<string, { import: { default: string } }> };
  const tsx = pathToFileURL(join(dirname(pkgFile), pkg.exports["./esm/api"]!.import.default)).href;
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Runs the store's batches on a worker thread with a driver client of its own, so that encoding
 * statements and reading replies leave the node's thread to the stream, the queues and the
 * actors. Batches asked for in the same turn of the event loop go over as one message. Order is
 * the caller's: a batch is sent when asked for and settles when Cassandra answered it, as on the
 * calling thread. Should the thread die, its batches fail with a driver error (the shard's retry
 * loop runs them again) and a new thread takes over.
 */
export class WriteThread implements BatchWriter {
  /** Undefined while a thread that died waits to be replaced. */
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private outbox: WireBatch[] = [];
  private closing = false;
  private respawn: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: CassandraConnection,
    private readonly log: Logger,
  ) {
    this.worker = this.spawn();
  }

  /** The statement texts the current thread knows (or will, with the next message), by number. */
  private textNumbers = new Map<string, number>();
  private newTexts: string[] = [];
  private readonly textNumber = (text: string): number => {
    let n = this.textNumbers.get(text);
    if (n === undefined) {
      n = this.textNumbers.size;
      this.textNumbers.set(text, n);
      this.newTexts.push(text);
    }
    return n;
  };

  private spawn(): Worker {
    // A new thread knows no texts yet.
    this.textNumbers = new Map();
    this.newTexts = [];
    const w = new Worker(workerEntry(), { workerData: this.conn, name: "cassandra-writes" });
    w.on("message", (m: FromWriteThread) => {
      if (!("outcomes" in m)) return;
      for (const o of m.outcomes) {
        const p = this.pending.get(o.id);
        if (!p) continue;
        this.pending.delete(o.id);
        if (o.error) p.reject(errorFromWire(o.error));
        else p.resolve();
      }
    });
    w.on("error", (err) => this.log.error({ err }, "cassandra write thread failed"));
    const started = Date.now();
    w.on("exit", (code) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failPending("cassandra write thread exited");
      if (this.closing) return;
      // One that died young is not replaced at once: a thread that cannot start would spin.
      const wait = Date.now() - started < 10_000 ? 1000 : 0;
      this.log.warn({ code, restartInMs: wait }, "cassandra write thread exited; starting another");
      this.respawn = setTimeout(() => {
        this.respawn = undefined;
        if (!this.closing) this.worker = this.spawn();
      }, wait);
    });
    return w;
  }

  private failPending(why: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new WriteThreadError(why));
  }

  batch(queries: readonly BatchQuery[], opts: BatchOptions): Promise<void> {
    if (this.closing) return Promise.reject(new WriteThreadError("cassandra write thread stopped"));
    if (!this.worker) return Promise.reject(new WriteThreadError("cassandra write thread restarting"));
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Sent once the event loop turns: all the batches asked for meanwhile go as one message.
    if (this.outbox.push(toWire(id, queries, opts, this.textNumber)) === 1) setImmediate(() => this.send());
    return done;
  }

  private send(): void {
    if (this.outbox.length === 0) return;
    const batches = this.outbox;
    const texts = this.newTexts;
    this.outbox = [];
    this.newTexts = [];
    if (this.worker) this.worker.postMessage({ texts, batches } satisfies ToWriteThread);
    else this.failPending("cassandra write thread exited");
  }

  /** Lets batches already sent finish (bounded by `graceMs`), then stops the thread. */
  async close(graceMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.respawn);
    if (this.outbox.length > 0) this.send();
    const w = this.worker;
    if (!w) return;
    const deadline = Date.now() + graceMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The thread shuts its client down (closing its connections cleanly) and says so.
    const stopped = new Promise<void>((resolve) => {
      w.on("message", (m: FromWriteThread) => {
        if ("stopped" in m) resolve();
      });
      w.once("exit", () => resolve());
    });
    w.postMessage({ stop: true } satisfies ToWriteThread);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    this.worker = undefined;
    await w.terminate();
    this.failPending("cassandra write thread stopped");
  }
}
