import type { Element } from "@xmpp/xml";
import xml from "@xmpp/xml";
import { parseDateTime } from "../protocol/datetime.ts";
import { messagePayloads } from "../protocol/message-payload.ts";
import { bareJid, prepJid } from "../protocol/jid.ts";
import { NS_CLIENT, NS_DELAY, NS_FEED, NS_FORWARD } from "../protocol/namespaces.ts";
import type { FeedCopy } from "../cluster/shard-queues.ts";

// The project's Prosody module (deploy/prosody/mod_archive_feed.lua) sends one copy of each
// archivable message per local owner, numbered per feed so the node can acknowledge them.

export type FeedStanza =
  | { kind: "copy"; feed: string; seq: number; copy: FeedCopy }
  | { kind: "session"; jid: string; online: boolean }
  | { kind: "invalid"; reason: string };

/**
 * Reads a feed message sent by a server host. `host` is the stanza's `from` (already
 * checked to be a configured domain); the owner must belong to that host, and the inner
 * message's addresses must agree with the direction, so that nothing but the server can
 * put a message into someone's archive.
 */
export function readFeedMessage(el: Element, host: string): FeedStanza | undefined {
  const session = el.getChild("session", NS_FEED);
  if (session) {
    const jid = prepJid(session.attrs.jid ?? "");
    if (!jid || domainOf(jid) !== host) return { kind: "invalid", reason: "session" };
    return { kind: "session", jid, online: session.attrs.state === "online" };
  }
  const copy = el.getChild("copy", NS_FEED);
  if (!copy) return undefined;
  const feed = String(copy.attrs.feed ?? "");
  // Only the module's own decimal form (`%d`): Number() would also read "", " 7", "1e3" and "0x10".
  const seqText = String(copy.attrs.seq ?? "");
  const seq = /^(0|[1-9][0-9]*)$/.test(seqText) ? Number(seqText) : NaN;
  const direction = copy.attrs.direction;
  const owner = prepJid(copy.attrs.owner ?? "");
  if (!feed || feed.length > 64 || !Number.isSafeInteger(seq) || seq < 0) return { kind: "invalid", reason: "numbering" };
  if (direction !== "sent" && direction !== "received") return { kind: "invalid", reason: "direction" };
  if (!owner || owner !== bareJid(owner) || !owner.includes("@") || domainOf(owner) !== host) {
    return { kind: "invalid", reason: "owner" };
  }
  const fwd = el.getChild("forwarded", NS_FORWARD);
  const inner = fwd?.getChild("message", NS_CLIENT) ?? fwd?.getChild("message");
  if (!fwd || !inner) return { kind: "invalid", reason: "forwarded" };
  const stamp = fwd.getChild("delay", NS_DELAY)?.attrs.stamp;
  const at = typeof stamp === "string" ? parseDateTime(stamp) : null;
  if (at === null) return { kind: "invalid", reason: "timestamp" };
  const from = prepJid(inner.attrs.from ?? "");
  const to = prepJid(inner.attrs.to ?? "");
  if (!from || !to) return { kind: "invalid", reason: "addresses" };
  // The owner's side of the message must be the owner: the sender for a sent copy, the recipient for a received one.
  const ownSide = direction === "sent" ? from : to;
  if (bareJid(ownSide) !== owner) return { kind: "invalid", reason: "addresses" };
  const { body, whole } = messagePayloads(inner);
  const out: FeedCopy = { id: `${feed}:${seq}`, owner, direction, at, from, to, body };
  if (whole !== body) out.whole = whole;
  const thread = inner.getChildText("thread");
  if (thread !== null) out.thread = thread;
  return { kind: "copy", feed, seq, copy: out };
}

export function domainOf(jid: string): string {
  const bare = bareJid(jid);
  const at = bare.indexOf("@");
  return at < 0 ? bare : bare.slice(at + 1);
}

/** Cumulative acknowledgement of every copy of `feed` up to `seq`. */
export function ackStanza(from: string, host: string, feed: string, seq: number): Element {
  return xml("message", { from, to: host }, xml("ack", { xmlns: NS_FEED, feed, seq: String(seq) }));
}

/** Asks the host's module to resend every copy not yet acknowledged (sent when a node becomes the edge). */
export function resyncStanza(from: string, host: string): Element {
  return xml("message", { from, to: host }, xml("resync", { xmlns: NS_FEED }));
}
