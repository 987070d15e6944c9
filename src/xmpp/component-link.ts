import { EventEmitter } from "node:events";
import { StringDecoder } from "node:string_decoder";
import { Component } from "@xmpp/component-core";
import type { Element } from "@xmpp/xml";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";

export interface ComponentLinkOptions {
  service: string;
  jid: string;
  secret: string;
  /** Delay between attempts while another node holds the connection (active/standby). */
  retryMs?: number;
}

/**
 * The node's XEP-0114 stream to the XMPP server. Prosody accepts one stream per
 * component, so a node that is refused (conflict) stands by and keeps retrying; it
 * becomes the active edge as soon as the holder goes away.
 */
export class ComponentLink extends EventEmitter<{ stanza: [Element]; online: []; offline: [] }> {
  private xmpp: Component | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  online = false;
  private onlineWait: Promise<void> | undefined;
  /** The last attempt reached the server and was refused or dropped: another node is the edge. */
  standingBy = false;

  constructor(
    private readonly opts: ComponentLinkOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    // The bare connection, without @xmpp/component's IQ middleware: that middleware answers
    // every IQ it has no handler for with service-unavailable, racing the node's own answer.
    const xmpp = new Component({ service: this.opts.service, domain: this.opts.jid });
    xmpp.on("open", (el: Element) => {
      xmpp.authenticate(String(el.attrs.id), this.opts.secret).catch((err: Error) => xmpp.emit("error", err));
    });
    // The library turns each TCP chunk into a string on its own, which breaks a
    // multi-byte character split across chunks; a StringDecoder keeps them whole.
    let decoder = new StringDecoder("utf8");
    xmpp._onData = (data: Buffer) => xmpp.parser?.write(decoder.write(data));
    xmpp.on("connect", () => {
      decoder = new StringDecoder("utf8");
    });
    xmpp.on("stanza", (el: Element) => this.emit("stanza", el));
    xmpp.on("online", () => {
      this.online = true;
      this.standingBy = false;
      this.metrics.componentConnected.set(1);
      this.log.info({ jid: this.opts.jid }, "component stream online");
      this.emit("online");
    });
    xmpp.on("offline", () => this.dropped(xmpp));
    xmpp.on("disconnect", () => this.dropped(xmpp));
    xmpp.on("error", (err: Error) => this.log.debug({ err: err.message }, "component stream error"));
    this.xmpp = xmpp;
    xmpp.start().catch((err: Error) => {
      // A refusal (conflict) means the server is up and another node holds the stream.
      this.standingBy = /conflict/i.test(err.message) || (err as Error & { condition?: string }).condition === "conflict";
      this.log.info({ reason: err.message }, "component stream refused; standing by");
      this.dropped(xmpp);
    });
  }

  private dropped(xmpp: Component): void {
    if (this.xmpp !== xmpp) return;
    this.xmpp = undefined;
    xmpp.removeAllListeners("stanza");
    xmpp.stop().catch(() => undefined);
    if (this.online) {
      this.online = false;
      this.metrics.componentConnected.set(0);
      this.log.warn("component stream offline");
      this.emit("offline");
    }
    if (!this.stopped) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.connect(), this.opts.retryMs ?? 1000);
    }
  }

  async send(el: Element): Promise<void> {
    const xmpp = this.xmpp;
    if (!xmpp) throw new Error("component stream is not online");
    // The server's first stanzas (delegation disco queries) can be parsed in the same chunk
    // as the handshake reply, before the stream is marked online: wait for it briefly.
    // One wait is shared by every sender, so a burst of acknowledgements while the stream is
    // down costs one listener and one timer.
    if (!this.online) {
      this.onlineWait ??= new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          this.off("online", ok);
          this.onlineWait = undefined;
          reject(new Error("component stream is not online"));
        }, 2000);
        const ok = () => {
          clearTimeout(t);
          this.onlineWait = undefined;
          resolve();
        };
        this.once("online", ok);
      });
      await this.onlineWait;
    }
    await xmpp.send(el);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const xmpp = this.xmpp;
    this.xmpp = undefined;
    if (this.online) {
      this.online = false;
      this.metrics.componentConnected.set(0);
      this.emit("offline");
    }
    if (xmpp) await xmpp.stop().catch(() => undefined);
  }
}
