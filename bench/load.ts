// A reproducible chat load shared by the ingest benchmarks: USERS local users whose activity
// follows a Zipf law (most users quiet, a few very busy), each talking to a handful of
// contacts; every message is between two local users, so it yields two archive copies.

/** Small, fast, seeded PRNG (mulberry32): the same seed gives the same load in every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChatMessage {
  from: string;
  to: string;
  /** Server time of the message, epoch ms. */
  at: number;
  body: string;
  id: string;
}

export interface LoadShape {
  users: number;
  domain: string;
  /** Contacts per user. */
  contacts: number;
  /** Zipf exponent of user activity. */
  skew: number;
  /** Simulated time between consecutive messages (spreads conversations over hours). */
  stepMs: number;
  seed: number;
}

export const DEFAULT_SHAPE: LoadShape = { users: 10_000, domain: "example.test", contacts: 5, skew: 1.0, stepMs: 50, seed: 42 };

export const userJid = (shape: LoadShape, i: number): string => `u${i}@${shape.domain}`;

/** An endless stream of messages of the given shape, starting at `startAt`. */
export function* messages(shape: LoadShape, startAt: number): Generator<ChatMessage> {
  const r = rng(shape.seed);
  // Cumulative Zipf weights for picking senders by activity.
  const cum = new Float64Array(shape.users);
  let total = 0;
  for (let i = 0; i < shape.users; i++) {
    total += 1 / Math.pow(i + 1, shape.skew);
    cum[i] = total;
  }
  const pickSender = (): number => {
    const x = r() * total;
    let lo = 0;
    let hi = shape.users - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const contacts: Int32Array[] = [];
  for (let i = 0; i < shape.users; i++) {
    const c = new Int32Array(shape.contacts);
    for (let k = 0; k < shape.contacts; k++) {
      let j = Math.floor(r() * shape.users);
      if (j === i) j = (j + 1) % shape.users;
      c[k] = j;
    }
    contacts.push(c);
  }
  const words = ["hello", "see", "you", "at", "the", "meeting", "tomorrow", "ok", "thanks", "sure", "lunch", "call", "me"];
  for (let n = 0; ; n++) {
    const s = pickSender();
    const c = contacts[s]!;
    const t = c[Math.floor(r() * c.length)]!;
    const len = 3 + Math.floor(r() * 12);
    let body = "";
    for (let w = 0; w < len; w++) body += (w ? " " : "") + words[Math.floor(r() * words.length)];
    yield { from: userJid(shape, s), to: userJid(shape, t), at: startAt + n * shape.stepMs, body, id: `m${n}` };
  }
}
