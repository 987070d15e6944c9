import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Element } from "@xmpp/xml";
import { MAX_TIME, MIN_TIME } from "../../../src/protocol/datetime.ts";
import { bareJid, prepJid } from "../../../src/protocol/jid.ts";
import { FeedAckTracker } from "../../../src/xmpp/feed-acks.ts";
import { domainOf, readFeedMessage } from "../../../src/xmpp/feed.ts";
import { anyText, date, jidValue, legalText, params, TIMEOUT_MS } from "./support.ts";

const HOST = "example.test";
const NS_FEED = "urn:x-archive-cluster:feed:0";

const user = fc.constantFrom("alice", "Alice", "bob", "İ");
const domain = fc.constantFrom(HOST, "EXAMPLE.TEST", "example.test.", "other.test", "sub.example.test");
const resource = fc.option(fc.constantFrom("phone", "Phone", "a/b"), { nil: undefined });
const jid: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(user, domain, resource).map(([u, d, r]) => (r === undefined ? `${u}@${d}` : `${u}@${d}/${r}`)) },
  { weight: 1, arbitrary: domain },
  { weight: 1, arbitrary: jidValue },
);
const opt = <T>(a: fc.Arbitrary<T>, freq = 6): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq });

const seqText = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 1_000_000 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", " ", "-1", "1.5", "1e3", "0x10", " 7", "+3", "9007199254740991", "9007199254740993", "NaN", "Infinity", "007"),
  },
);

function attrs(a: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

const copyMessage = fc
  .record({
    feed: opt(fc.oneof(legalText(8, 1), fc.constantFrom("", "f".repeat(64), "f".repeat(65))), 10),
    seq: opt(seqText, 10),
    direction: opt(fc.constantFrom("sent", "received", "sent", "received", "Sent", "to", ""), 10),
    owner: opt(jid, 10),
    from: opt(jid, 10),
    to: opt(jid, 10),
    stamp: opt(date, 10),
    innerNs: fc.constantFrom("jabber:client", "jabber:client", "none", "jabber:server"),
    forwardedNs: fc.constantFrom("urn:xmpp:forward:0", "urn:xmpp:forward:0", "urn:other"),
    body: anyText(6),
    session: opt(fc.record({ jid: opt(jid), state: opt(fc.constantFrom("online", "offline", "")) }), 8),
  })
  .map((g) => {
    const el = new Element("message", { from: HOST, to: "archive.example.test" });
    if (g.session !== undefined) el.c("session", attrs({ xmlns: NS_FEED, ...g.session }));
    el.c("copy", attrs({ xmlns: NS_FEED, feed: g.feed, seq: g.seq, direction: g.direction, owner: g.owner }));
    const fwd = el.c("forwarded", { xmlns: g.forwardedNs });
    if (g.stamp !== undefined) fwd.c("delay", { xmlns: "urn:xmpp:delay", stamp: g.stamp });
    const inner = fwd.c("message", attrs({ xmlns: g.innerNs === "none" ? undefined : g.innerNs, from: g.from, to: g.to, type: "chat" }));
    inner.c("body").t(g.body);
    return el;
  });

/** Copies built to be accepted, with their owner matching the right side of the message. */
const plausibleCopy = fc
  .record({
    feed: legalText(8, 1),
    seq: seqText,
    sent: fc.boolean(),
    owner: user,
    peer: jid,
    resource,
    stamp: date,
  })
  .map((g) => {
    const self = g.resource === undefined ? `${g.owner}@${HOST}` : `${g.owner}@${HOST}/${g.resource}`;
    const el = new Element("message", { from: HOST });
    el.c("copy", { xmlns: NS_FEED, feed: g.feed, seq: g.seq, direction: g.sent ? "sent" : "received", owner: `${g.owner}@${HOST}` });
    const fwd = el.c("forwarded", { xmlns: "urn:xmpp:forward:0" });
    fwd.c("delay", { xmlns: "urn:xmpp:delay", stamp: g.stamp });
    fwd.c("message", { xmlns: "jabber:client", from: g.sent ? self : g.peer, to: g.sent ? g.peer : self }).c("body").t("hi");
    return el;
  });

function checkFeed(el: Element): string {
  const r = readFeedMessage(el, HOST);
  if (r === undefined) return "none";
  if (r.kind === "session") {
    expect(prepJid(r.jid)).toBe(r.jid);
    expect(domainOf(r.jid)).toBe(HOST);
    return "session";
  }
  if (r.kind === "invalid") return "invalid";
  const { copy } = r;
  expect(domainOf(copy.owner)).toBe(HOST);
  expect(copy.owner).toBe(bareJid(copy.owner));
  expect(copy.owner).toMatch(/^[^@/]+@[^@/]+$/);
  expect(["sent", "received"]).toContain(copy.direction);
  const msg = el.getChild("forwarded", "urn:xmpp:forward:0")?.getChild("message");
  const side = copy.direction === "sent" ? msg?.attrs.from : msg?.attrs.to;
  const prepared = prepJid(String(side));
  expect(prepared).not.toBeNull();
  expect(bareJid(prepared ?? "")).toBe(copy.owner);
  expect(copy.id).toBe(`${r.feed}:${r.seq}`);
  // The number is the one the module wrote (`%d`): no other spelling aliases it.
  expect(el.getChild("copy", NS_FEED)?.attrs.seq).toBe(String(r.seq));
  expect(r.feed.length).toBeGreaterThan(0);
  expect(Number.isFinite(copy.at) && copy.at >= MIN_TIME && copy.at <= MAX_TIME).toBe(true);
  return "copy";
}

describe("readFeedMessage (fuzz)", () => {
  it(
    "never throws; a copy always belongs to a user of the sending host, on the right side of the message",
    () => {
      const seen = new Set<string>();
      fc.assert(
        fc.property(fc.oneof(copyMessage, plausibleCopy), (el) => {
          seen.add(checkFeed(el));
        }),
        params(2),
      );
      expect([...seen].sort()).toEqual(["copy", "invalid", "session"]);
    },
    TIMEOUT_MS,
  );
});

// ---------------------------------------------------------------------------
// FeedAckTracker against a model of the server module and the node.
//
// The module numbers copies 1, 2, 3, … per feed and sends them in order; it resends
// unacknowledged copies in order (after a reconnect, on resync, periodically), and may resend
// single ones. The node queues "new" copies in batches that become durable (or fail) in any
// order. The tracker's acknowledgement N tells the module to forget every copy <= N, so every
// copy <= N that reached the node since it first saw the feed must be durable.

type Cmd =
  | { kind: "send"; feed: number }
  | { kind: "resend"; feed: number; pick: number }
  | { kind: "resendAll"; feed: number }
  | { kind: "durable"; picks: number[] }
  | { kind: "fail"; picks: number[] }
  | { kind: "reset" };

const FEEDS = ["A", "B"];
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 1 }).map((feed): Cmd => ({ kind: "send", feed })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat({ max: 1 }), fc.nat()).map(([feed, pick]): Cmd => ({ kind: "resend", feed, pick })) },
  { weight: 1, arbitrary: fc.nat({ max: 1 }).map((feed): Cmd => ({ kind: "resendAll", feed })) },
  { weight: 4, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }).map((picks): Cmd => ({ kind: "durable", picks })) },
  { weight: 1, arbitrary: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }).map((picks): Cmd => ({ kind: "fail", picks })) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ kind: "reset" }) },
);

interface FeedModel {
  next: number;
  /** What the module has been told: it forgets every copy up to here. */
  acked: number;
  /** First seq the node saw of this feed. */
  first: number | undefined;
  arrived: Set<number>;
  durable: Set<number>;
}

function runModel(cmds: Cmd[]): void {
  const tracker = new FeedAckTracker();
  const feeds: FeedModel[] = FEEDS.map(() => ({ next: 1, acked: 0, first: undefined, arrived: new Set(), durable: new Set() }));
  /** Copies the node has queued and not yet seen durable or failed: [feed, seq]. */
  let queued: [number, number][] = [];

  const ack = (fi: number, upTo: number | undefined): void => {
    if (upTo === undefined) return;
    const f = feeds[fi]!;
    expect(upTo, "acks never go back").toBeGreaterThan(f.acked);
    expect(upTo, "never past what was sent").toBeLessThan(f.next);
    for (const s of f.arrived) {
      if (s <= upTo && s >= (f.first ?? Infinity)) expect(f.durable.has(s), `seq ${s} acked by ${upTo} but not durable`).toBe(true);
    }
    f.acked = upTo;
  };
  const arrive = (fi: number, seq: number): void => {
    const f = feeds[fi]!;
    f.first ??= seq;
    f.arrived.add(seq);
    const state = tracker.arrived(FEEDS[fi]!, seq);
    if (state === "new") queued.push([fi, seq]);
    // An "acked" answer makes the node acknowledge that copy again: it must be covered.
    if (state === "acked") expect(f.durable.has(seq) || seq < (f.first ?? 0), `seq ${seq} reported acked`).toBe(true);
  };

  for (const c of cmds) {
    switch (c.kind) {
      case "send": {
        const f = feeds[c.feed]!;
        arrive(c.feed, f.next++);
        break;
      }
      case "resend": {
        const f = feeds[c.feed]!;
        const unacked = f.next - 1 - f.acked;
        if (unacked > 0) arrive(c.feed, f.acked + 1 + (c.pick % unacked));
        break;
      }
      case "resendAll": {
        const f = feeds[c.feed]!;
        for (let s = f.acked + 1; s < f.next; s++) arrive(c.feed, s);
        break;
      }
      case "durable":
      case "fail": {
        if (queued.length === 0) break;
        const picked = new Set(c.picks.map((p) => p % queued.length));
        const batch = queued.filter((_, i) => picked.has(i));
        queued = queued.filter((_, i) => !picked.has(i));
        for (let fi = 0; fi < FEEDS.length; fi++) {
          const seqs = batch.filter(([f]) => f === fi).map(([, s]) => s);
          if (seqs.length === 0) continue;
          if (c.kind === "fail") {
            tracker.failed(FEEDS[fi]!, seqs);
          } else {
            for (const s of seqs) feeds[fi]!.durable.add(s);
            ack(fi, tracker.durable(FEEDS[fi]!, seqs));
          }
        }
        break;
      }
      case "reset":
        // The stream dropped: the module resends everything unacknowledged, in order, on reconnect.
        // Batches already on their way to Redis still complete.
        tracker.reset();
        for (let fi = 0; fi < FEEDS.length; fi++) {
          const f = feeds[fi]!;
          for (let s = f.acked + 1; s < f.next; s++) arrive(fi, s);
        }
        break;
    }
  }
}

describe("FeedAckTracker (model-based fuzz)", () => {
  it(
    "an acknowledgement never covers a copy that is not durable, and never goes back",
    () => {
      fc.assert(fc.property(fc.array(cmd, { maxLength: 80, size: "max" }), runModel), params());
    },
    TIMEOUT_MS,
  );
});
