import type { Element } from "@xmpp/xml";
import { NS_CLIENT } from "./namespaces.ts";

/**
 * What an archived `<to/>`/`<from/>` keeps of a message (XEP-0136 save modes): its `<body/>`
 * elements (`body`), or every child element (`message`), serialized.
 */
export function payloadOf(msg: Element, whole: boolean): string {
  const p = messagePayloads(msg);
  return whole ? p.whole : p.body;
}

/** Both payloads of a message in one pass: each child is serialized once. */
export function messagePayloads(msg: Element): { body: string; whole: string } {
  const bodies: string[] = [];
  const all: string[] = [];
  for (const child of msg.children) {
    if (typeof child === "string") continue;
    const ns = child.attrs.xmlns;
    // The stanza namespace is implied where the payload is rendered again.
    if (ns === NS_CLIENT) delete child.attrs.xmlns;
    const text = child.toString();
    if (ns === NS_CLIENT) child.attrs.xmlns = ns;
    all.push(text);
    if (child.name === "body" && (ns === undefined || ns === NS_CLIENT)) bodies.push(text);
  }
  return { body: bodies.join(""), whole: all.join("") };
}
