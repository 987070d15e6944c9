import { parentPort, workerData } from "node:worker_threads";
import { copyStanzas } from "./harness.ts";
import { DEFAULT_SHAPE, messages, type ChatMessage } from "./load.ts";

// The ingest benchmark's load generator, on a thread of its own: it makes the copies' wire text
// the way an XMPP server would send it, all of it before the run is timed, so the measured run
// spends the machine only on what the node does with that text (decoding and parsing included),
// not on making it, nor on starting this thread.

export interface FeederSetup {
  feed: string;
  startAt: number;
  /** Copies to make in all. */
  total: number;
  /** Text per burst, about what one socket read brings. */
  burstChars: number;
}

/** Sent once every burst is made. */
export interface FeederReady {
  ready: true;
  /** Bytes of wire text made, held until handed over. */
  bytes: number;
}

/** One burst of the stream, as a socket read brings it (UTF-8 bytes), answering a request for the next. */
export interface Burst {
  data: Uint8Array;
  copies: number;
}

const { feed, startAt, total, burstChars } = workerData as FeederSetup;
const gen = messages(DEFAULT_SHAPE, startAt);
const bursts: (Burst | undefined)[] = [];
let bytes = 0;
for (let made = 0; made < total; ) {
  let text = "";
  let copies = 0;
  while (made < total && text.length < burstChars) {
    const m = gen.next().value as ChatMessage;
    for (const s of copyStanzas(m, feed, made + 1)) {
      text += s;
      made++;
      copies++;
    }
  }
  // A buffer of its own (not a slice of the shared pool), so that it can be handed over whole.
  const data = Buffer.alloc(Buffer.byteLength(text));
  data.write(text);
  bytes += data.length;
  bursts.push({ data, copies });
}
let next = 0;

parentPort!.postMessage({ ready: true, bytes } satisfies FeederReady);
parentPort!.on("message", () => {
  const b = bursts[next];
  if (!b) return;
  bursts[next++] = undefined;
  // Moved, not copied: the bytes leave this thread's memory with it.
  parentPort!.postMessage(b, [b.data.buffer as ArrayBuffer]);
});
