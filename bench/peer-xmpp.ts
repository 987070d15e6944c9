import { StringDecoder } from "node:string_decoder";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

// A bare @xmpp/client connection for the peer benchmark (c2s, no TLS, loopback).

export { xml };
export type { Element };

export interface PeerClient {
  xmpp: Client;
  jid: string;
  stop(): Promise<void>;
}

export async function connectPeer(port: number, domain: string, username: string, password: string, onStanza: (el: Element) => void): Promise<PeerClient> {
  const xmpp = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain,
    resource: "bench",
    // PLAIN (the server allows it on loopback): SCRAM costs the client ~0.25 s of CPU per
    // login, which would otherwise dominate setup on a small machine; logins are not measured.
    credentials: (authenticate, mechanisms) =>
      authenticate({ username, password }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!, xml("user-agent")),
  });
  // Chunks can split a multi-byte character; decode across chunk boundaries.
  const conn = xmpp as unknown as { _onData(b: Buffer): void; parser: { write(s: string): void } | null };
  let decoder = new StringDecoder("utf8");
  conn._onData = (b: Buffer) => conn.parser?.write(decoder.write(b));
  xmpp.on("connect", () => (decoder = new StringDecoder("utf8")));
  xmpp.reconnect.stop();
  xmpp.on("stanza", onStanza);
  xmpp.on("error", () => undefined);
  const address = await xmpp.start();
  await xmpp.send(xml("presence"));
  return {
    xmpp,
    jid: address.toString(),
    async stop() {
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** Connects every named account, ten logins at a time, each stanza reported with its account's name. */
export async function connectPeers(
  port: number,
  domain: string,
  names: readonly string[],
  password: string,
  onStanza: (name: string, el: Element) => void,
): Promise<Map<string, PeerClient>> {
  const out = new Map<string, PeerClient>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < names.length) {
        const n = names[next++]!;
        out.set(n, await connectPeer(port, domain, n, password, (el) => onStanza(n, el)));
      }
    }),
  );
  return out;
}
