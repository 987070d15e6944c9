import { StringDecoder } from "node:string_decoder";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { stackEnv, type Account } from "./stack.ts";

export { xml };

/** A logged-in test user: a real @xmpp/client connection to the local Prosody. */
export interface TestClient {
  xmpp: Client;
  jid: string;
  /** Stream features the server offered after authentication. */
  features: Element[];
  received: Element[];
  iq(type: "get" | "set", payload: Element, to?: string): Promise<Element>;
  waitFor(pred: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  stop(): Promise<void>;
}

export async function connectClient(account: Account, resource = "test"): Promise<TestClient> {
  const env = stackEnv();
  const xmpp = client({
    service: `xmpp://${env.XMPP_HOST}:${env.XMPP_C2S_PORT}`,
    domain: account.domain,
    username: account.local,
    password: account.password,
    resource,
  });
  // Same multi-byte chunking fault as on the component side: decode with a StringDecoder.
  const conn = xmpp as unknown as { _onData(b: Buffer): void; parser: { write(s: string): void } | null };
  let decoder = new StringDecoder("utf8");
  conn._onData = (b: Buffer) => conn.parser?.write(decoder.write(b));
  xmpp.on("connect", () => (decoder = new StringDecoder("utf8")));
  xmpp.reconnect.stop();
  const received: Element[] = [];
  const features: Element[] = [];
  const waiters: { pred: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];
  xmpp.on("nonza", (el: Element) => {
    if (el.name === "stream:features" || el.name === "features") features.push(el);
  });
  xmpp.on("stanza", (el: Element) => {
    received.push(el);
    for (const w of [...waiters]) {
      if (w.pred(el)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(el);
      }
    }
    // Answer pushes so the server does not see errors.
    if (el.is("iq") && el.attrs.type === "set" && el.attrs.id) {
      xmpp.send(xml("iq", { type: "result", id: el.attrs.id, to: el.attrs.from })).catch(() => undefined);
    }
  });
  xmpp.on("error", () => undefined);
  const address = await xmpp.start();
  await xmpp.send(xml("presence"));
  const tc: TestClient = {
    xmpp,
    jid: address.toString(),
    features,
    received,
    async iq(type, payload, to) {
      const id = `t${Math.random().toString(36).slice(2)}`;
      const attrs: Record<string, string> = { type, id };
      if (to) attrs.to = to;
      const reply = tc.waitFor((el: Element) => el.is("iq") && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"), 20_000);
      await xmpp.send(xml("iq", attrs, payload));
      return reply;
    },
    waitFor(pred, timeoutMs = 10_000) {
      const hit = received.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (el: Element) => { clearTimeout(t); resolve(el); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error("timed out waiting for a stanza"));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop() {
      await xmpp.stop().catch(() => undefined);
    },
  };
  return tc;
}

export function chat(to: string, body: string, extra: Element[] = []): Element {
  return xml("message", { to, type: "chat", id: `m${Math.random().toString(36).slice(2)}` }, xml("body", {}, body), ...extra);
}
