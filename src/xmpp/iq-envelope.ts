import type { Element } from "@xmpp/xml";
import xml from "@xmpp/xml";
import type { StanzaError } from "../archive/model.ts";
import { forbidden, renderError, serviceUnavailable, badRequest } from "../protocol/errors.ts";
import { bareJid, prepJid } from "../protocol/jid.ts";
import { NS_CLIENT, NS_DELEGATION, NS_FORWARD } from "../protocol/namespaces.ts";
import { domainOf } from "./feed.ts";

/** How an IQ reached the component, so the answer goes back the same way. */
export type Envelope =
  | { kind: "direct"; from: string; to: string; id: string }
  | {
      kind: "delegated";
      outerFrom: string;
      outerTo: string;
      outerId: string;
      innerFrom: string;
      innerId: string;
      owner: string;
      /** What the request was addressed to (the user's bare JID or server), if anything: the answer comes from it. */
      innerTo?: string;
    };

export interface ArchiveIq {
  /** Prepared full (or bare) JID of the requesting resource. */
  requester: string;
  /** Bare JID whose archive the request may touch: always the requester's own. */
  owner: string;
  type: "get" | "set";
  payload: Element;
  envelope: Envelope;
}

export type IqRoute =
  | { kind: "archive"; iq: ArchiveIq }
  | { kind: "component"; type: "get" | "set"; payload: Element | undefined; envelope: Envelope }
  | { kind: "refuse"; error: StanzaError; envelope: Envelope }
  | { kind: "ignore" };

/**
 * Decides whose archive an IQ may touch. Delegated IQs are accepted only from a
 * configured domain and only for that domain's own users addressing their own account
 * (no `to`, their bare JID, or their server); anything addressed to another user is refused.
 */
export function routeIq(el: Element, domains: ReadonlySet<string>, componentJid: string): IqRoute {
  const type = el.attrs.type;
  const from = String(el.attrs.from ?? "");
  const id = String(el.attrs.id ?? "");
  if (type !== "get" && type !== "set") return { kind: "ignore" };
  const direct: Envelope = { kind: "direct", from, to: String(el.attrs.to ?? componentJid), id };

  const delegation = el.getChild("delegation", NS_DELEGATION);
  if (delegation) {
    const inner = delegation.getChild("forwarded", NS_FORWARD)?.getChild("iq");
    if (!domains.has(from) || !inner) return { kind: "refuse", error: forbidden(), envelope: direct };
    const innerFrom = prepJid(String(inner.attrs.from ?? ""));
    const innerId = String(inner.attrs.id ?? "");
    const innerType = inner.attrs.type;
    if (!innerFrom || !innerFrom.includes("@") || domainOf(innerFrom) !== from) {
      return { kind: "refuse", error: forbidden(), envelope: direct };
    }
    const owner = bareJid(innerFrom);
    const envelope: Envelope = {
      kind: "delegated",
      outerFrom: from,
      outerTo: String(el.attrs.to ?? componentJid),
      outerId: id,
      innerFrom,
      innerId,
      owner,
    };
    const innerTo = inner.attrs.to === undefined ? undefined : prepJid(String(inner.attrs.to));
    if (innerTo) envelope.innerTo = innerTo;
    if (innerTo !== undefined && innerTo !== owner && innerTo !== from) {
      return { kind: "refuse", error: forbidden("another account's archive"), envelope };
    }
    if (innerType !== "get" && innerType !== "set") return { kind: "ignore" };
    return payloadRoute(inner, innerType, innerFrom, owner, envelope);
  }

  const requester = prepJid(from);
  if (!requester || !requester.includes("@")) {
    return { kind: "component", type, payload: el.children.find(isElement), envelope: direct };
  }
  if (!domains.has(domainOf(requester))) return { kind: "refuse", error: forbidden(), envelope: direct };
  return payloadRoute(el, type, requester, bareJid(requester), direct);
}

function isElement(c: unknown): c is Element {
  return typeof c === "object" && c !== null && "name" in c;
}

function payloadRoute(iq: Element, type: "get" | "set", requester: string, owner: string, envelope: Envelope): IqRoute {
  const children = iq.children.filter(isElement);
  if (children.length !== 1) return { kind: "refuse", error: badRequest("an IQ carries exactly one payload"), envelope };
  const payload = children[0]!;
  if (payload.attrs.xmlns === "urn:xmpp:archive") return { kind: "archive", iq: { requester, owner, type, payload, envelope } };
  if (envelope.kind === "direct") return { kind: "component", type, payload, envelope };
  return { kind: "refuse", error: serviceUnavailable(), envelope };
}

/** The answer to an IQ, wrapped in a delegation result when the request was delegated. */
export function replyIq(envelope: Envelope, componentJid: string, result: { payload?: Element; error?: StanzaError }): Element {
  const type = result.error ? "error" : "result";
  const body = result.error ? renderError(result.error) : result.payload;
  const children = body ? [body] : [];
  if (envelope.kind === "direct") {
    return xml("iq", { type, from: envelope.to, to: envelope.from, id: envelope.id }, ...children);
  }
  // Prosody drops the inner answer unless it names jabber:client explicitly. The answer comes
  // from what the request was addressed to (ejabberd checks this; a client may match on it),
  // else from the user's bare JID, which is what a request without `to` addresses.
  const from = envelope.innerTo ?? envelope.owner;
  const inner = xml("iq", { xmlns: NS_CLIENT, type, id: envelope.innerId, to: envelope.innerFrom, from }, ...children);
  return xml(
    "iq",
    { type: "result", from: componentJid, to: envelope.outerFrom, id: envelope.outerId },
    xml("delegation", { xmlns: NS_DELEGATION }, xml("forwarded", { xmlns: NS_FORWARD }, inner)),
  );
}
