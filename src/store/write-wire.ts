import cassandra from "cassandra-driver";

// What crosses between the node's thread and its write thread. Messages between threads are
// structured clones: strings, numbers, booleans, Dates, null and undefined arrive as they were,
// but class instances lose their prototypes. So the few driver values the write path uses are
// turned into plain ones here and back on the other side: `unset` goes as undefined (the
// driver's default reading of undefined for prepared statements), a UUID as its text (which
// the driver encodes for uuid and timeuuid columns), a Long timestamp as its decimal text.

/** A statement of a batch, as the store builds it. */
export interface BatchQuery {
  query: string;
  params: unknown[];
}

/** What a batch needs besides its statements. */
export interface BatchOptions {
  logged: boolean;
  /** The writer's fenced timestamp (microseconds). */
  timestamp: cassandra.types.Long;
}

/**
 * A batch request, as sent to the write thread. Statement texts go once per thread, as numbers
 * afterwards: the write path uses a handful of texts, each hundreds of bytes, thousands of times.
 */
export interface WireBatch {
  id: number;
  /** Each statement's text, by its number. */
  texts: number[];
  params: unknown[][];
  logged: boolean;
  /** The Long timestamp's decimal text: it needs all 64 bits, more than a number holds. */
  timestamp: string;
}

/** A batch's outcome, as sent back. */
export interface WireOutcome {
  id: number;
  error?: WireError;
}

export interface WireError {
  name: string;
  message: string;
  /** A driver error (Cassandra unreachable, timed out, refused): the caller retries those. */
  driver: boolean;
  /** A server error's code, for a ResponseError. */
  code?: number;
}

const { unset, Uuid } = cassandra.types;

function plain(v: unknown): unknown {
  if (v === unset) return undefined;
  if (v instanceof Uuid) return v.toString();
  return v;
}

/**
 * A batch in the form that crosses threads; `textNumber` gives a statement text its number.
 * Params are copied only where one needs changing.
 */
export function toWire(id: number, queries: readonly BatchQuery[], opts: BatchOptions, textNumber: (text: string) => number): WireBatch {
  const texts: number[] = new Array(queries.length);
  const all: unknown[][] = new Array(queries.length);
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i]!;
    let params = q.params;
    for (let j = 0; j < params.length; j++) {
      const v = params[j];
      if (v === unset || v instanceof Uuid) {
        if (params === q.params) params = params.slice();
        params[j] = plain(v);
      }
    }
    texts[i] = textNumber(q.query);
    all[i] = params;
  }
  return { id, texts, params: all, logged: opts.logged, timestamp: opts.timestamp.toString() };
}

/** The statements of a batch that crossed threads, given the texts known by number. */
export function fromWire(b: WireBatch, texts: readonly string[]): BatchQuery[] {
  return b.texts.map((n, i) => {
    const query = texts[n];
    if (query === undefined) throw new Error(`statement text ${n} is unknown`);
    return { query, params: b.params[i]! };
  });
}

/** The driver's options for a batch that crossed threads. */
export function batchOptions(b: WireBatch): cassandra.QueryOptions {
  return { prepare: true, logged: b.logged, timestamp: cassandra.types.Long.fromString(b.timestamp) };
}

export function errorToWire(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const out: WireError = { name: e.name, message: e.message, driver: e instanceof cassandra.errors.DriverError };
  const code = (e as { code?: unknown }).code;
  if (typeof code === "number") out.code = code;
  return out;
}

/** A driver error raised on the write thread, or the thread's own failure: retried like the driver's. */
export class WriteThreadError extends cassandra.errors.DriverError {
  constructor(message: string) {
    super(message);
  }
}

/**
 * The error to reject a batch with: a driver error stays one (so the shard's retry loop treats
 * it as a storage failure, as it would the driver's own), anything else is a plain Error.
 */
export function errorFromWire(w: WireError): Error {
  const e = w.driver ? new WriteThreadError(w.message) : new Error(w.message);
  e.name = w.name;
  if (w.code !== undefined) (e as Error & { code?: number }).code = w.code;
  return e;
}
