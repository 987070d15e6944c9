import type { Element } from "@xmpp/xml";
import { NS_CLIENT } from "./namespaces.ts";

/**
 * What an archived `<to/>`/`<from/>` keeps of a message (XEP-0136 save modes): its `<body/>`
 * elements (`body`), or every child element (`message`), serialized.
 */
export function payloadOf(msg: Element, whole: boolean): string {
  const parts: string[] = [];
  for (const child of msg.children) {
    if (typeof child === "string") continue;
    if (!whole && !(child.name === "body" && (child.attrs.xmlns === undefined || child.attrs.xmlns === NS_CLIENT))) continue;
    // The stanza namespace is implied where the payload is rendered again.
    const ns = child.attrs.xmlns;
    if (ns === NS_CLIENT) delete child.attrs.xmlns;
    parts.push(child.toString());
    if (ns === NS_CLIENT) child.attrs.xmlns = ns;
  }
  return parts.join("");
}
