import { parentPort, workerData } from "node:worker_threads";
import { copyStanzas } from "./harness.ts";
import { DEFAULT_SHAPE, messages, type ChatMessage } from "./load.ts";

// The ingest benchmark's load generator, on a thread of its own: it builds the copies' wire text
// the way an XMPP server would send it, so the node's thread spends itself only on what the
// node does with that text (parsing included), not on making it.

export interface FeederSetup {
  feed: string;
  startAt: number;
  /** Copies to make in all. */
  total: number;
  /** Text per burst, about what one socket read brings. */
  burstChars: number;
}

/** One burst of the stream, answering a request for the next. */
export interface Burst {
  text: string;
  copies: number;
}

const { feed, startAt, total, burstChars } = workerData as FeederSetup;
const gen = messages(DEFAULT_SHAPE, startAt);
let made = 0;

parentPort!.on("message", () => {
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
  parentPort!.postMessage({ text, copies } satisfies Burst);
});
