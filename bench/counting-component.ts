import { StringDecoder } from "node:string_decoder";
import { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import { NS_FEED } from "../src/protocol/namespaces.ts";
import { ackStanza } from "../src/xmpp/feed.ts";

// The server's ceiling: a component that takes the archive feed's copies, counts them and
// acknowledges them cumulatively, with no work behind it.

export interface CountingOptions {
  service: string;
  jid: string;
  secret: string;
  /** Acknowledge after this many copies of a feed... */
  ackEvery?: number;
  /** ...or this long after the first unacknowledged one. */
  ackMs?: number;
}

interface FeedState {
  host: string;
  maxSeq: number;
  acked: number;
}

export class CountingComponent {
  copies = 0;
  sent = 0;
  received = 0;
  /** Copies numbered at or below one already seen (resends). */
  repeats = 0;
  /** hrtime (ns) of the latest copy. */
  lastAt = 0n;
  private readonly feeds = new Map<string, FeedState>();
  private sinceAck = 0;
  private timer: NodeJS.Timeout | undefined;
  private xmpp: Component | undefined;
  private waiter: { n: number; resolve(): void } | undefined;

  constructor(private readonly o: CountingOptions) {}

  async start(): Promise<void> {
    const xmpp = new Component({ service: this.o.service, domain: this.o.jid });
    xmpp.on("open", (el: Element) => {
      xmpp.authenticate(String(el.attrs.id), this.o.secret).catch((err: Error) => xmpp.emit("error", err));
    });
    // A multi-byte character can be split across TCP chunks.
    let decoder = new StringDecoder("utf8");
    xmpp._onData = (data: Buffer) => xmpp.parser?.write(decoder.write(data));
    xmpp.on("connect", () => (decoder = new StringDecoder("utf8")));
    xmpp.on("stanza", (el: Element) => this.onStanza(el));
    xmpp.on("error", () => undefined);
    this.xmpp = xmpp;
    const online = new Promise<void>((resolve) => xmpp.once("online", () => resolve()));
    await xmpp.start();
    await online;
  }

  private onStanza(el: Element): void {
    if (el.name !== "message") return;
    const copy = el.getChild("copy", NS_FEED);
    if (!copy) return;
    const feed = String(copy.attrs.feed ?? "");
    const seq = Number(copy.attrs.seq);
    const host = String(el.attrs.from ?? "");
    let f = this.feeds.get(feed);
    if (!f) {
      f = { host, maxSeq: seq - 1, acked: seq - 1 };
      this.feeds.set(feed, f);
    }
    if (seq <= f.maxSeq) {
      this.repeats++;
      return;
    }
    f.maxSeq = seq;
    this.copies++;
    if (copy.attrs.direction === "sent") this.sent++;
    else this.received++;
    this.lastAt = process.hrtime.bigint();
    if (++this.sinceAck >= (this.o.ackEvery ?? 200)) this.ack();
    else this.timer ??= setTimeout(() => this.ack(), this.o.ackMs ?? 50);
    if (this.waiter && this.copies >= this.waiter.n) {
      this.waiter.resolve();
      this.waiter = undefined;
    }
  }

  /** Acknowledges everything seen so far, per feed. */
  ack(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sinceAck = 0;
    for (const [feed, f] of this.feeds) {
      if (f.maxSeq <= f.acked) continue;
      f.acked = f.maxSeq;
      this.xmpp?.send(ackStanza(this.o.jid, f.host, feed, f.maxSeq)).catch(() => undefined);
    }
  }

  /** Resolves once `n` distinct copies have arrived. */
  until(n: number): Promise<void> {
    if (this.copies >= n) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { n, resolve }));
  }

  async stop(): Promise<void> {
    this.ack();
    clearTimeout(this.timer);
    // Lets the last acknowledgement leave before the stream closes.
    await new Promise((r) => setTimeout(r, 200));
    await this.xmpp?.stop().catch(() => undefined);
  }
}
