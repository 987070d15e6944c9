// Stanza errors (RFC 6120 §8.3) as used by the archive service.
import { Element } from "@xmpp/xml";
import type { StanzaError, StanzaErrorType } from "../archive/model.ts";
import { NS_STANZAS } from "./namespaces.ts";

/**
 * Legacy numeric codes (XEP-0086). XEP-0136's examples carry them (`code='404'`,
 * `code='406'`); old clients still read them. Conditions without a legacy code get none.
 */
const LEGACY_CODES: Readonly<Record<string, string>> = {
  "bad-request": "400",
  conflict: "409",
  "feature-not-implemented": "501",
  forbidden: "403",
  gone: "302",
  "internal-server-error": "500",
  "item-not-found": "404",
  "jid-malformed": "400",
  "not-acceptable": "406",
  "not-allowed": "405",
  "not-authorized": "401",
  "payment-required": "402",
  "recipient-unavailable": "404",
  redirect: "302",
  "registration-required": "407",
  "remote-server-not-found": "404",
  "remote-server-timeout": "504",
  "resource-constraint": "500",
  "service-unavailable": "503",
  "subscription-required": "407",
  "undefined-condition": "500",
  "unexpected-request": "400",
};

export function legacyCode(condition: string): string | undefined {
  return LEGACY_CODES[condition];
}

export function stanzaError(type: StanzaErrorType, condition: string, text?: string): StanzaError {
  return text === undefined ? { type, condition } : { type, condition, text };
}

export const badRequest = (text?: string): StanzaError => stanzaError("modify", "bad-request", text);
export const jidMalformed = (text?: string): StanzaError => stanzaError("modify", "jid-malformed", text);
export const itemNotFound = (text?: string): StanzaError => stanzaError("cancel", "item-not-found", text);
export const featureNotImplemented = (text?: string): StanzaError =>
  stanzaError("cancel", "feature-not-implemented", text);
export const notAcceptable = (text?: string): StanzaError => stanzaError("modify", "not-acceptable", text);
export const notAllowed = (text?: string): StanzaError => stanzaError("cancel", "not-allowed", text);
export const forbidden = (text?: string): StanzaError => stanzaError("auth", "forbidden", text);
export const serviceUnavailable = (text?: string): StanzaError =>
  stanzaError("cancel", "service-unavailable", text);
export const resourceConstraint = (text?: string): StanzaError =>
  stanzaError("wait", "resource-constraint", text);
export const internalServerError = (text?: string): StanzaError =>
  stanzaError("cancel", "internal-server-error", text);
export const policyViolation = (text?: string): StanzaError => stanzaError("modify", "policy-violation", text);
export const conflict = (text?: string): StanzaError => stanzaError("cancel", "conflict", text);

/**
 * `<error type=… [code=…]><condition xmlns=stanzas/>[<text xmlns=stanzas>…</text>]</error>`,
 * the child of an `<iq type='error'/>`. The request payload is deliberately not echoed:
 * QXmpp shows an error that repeats `<list/>` as an empty list.
 */
export function renderError(err: StanzaError): Element {
  const attrs: Record<string, string> = { type: err.type };
  const code = legacyCode(err.condition);
  if (code !== undefined) attrs.code = code;
  const el = new Element("error", attrs);
  el.c(err.condition, { xmlns: NS_STANZAS });
  if (err.text !== undefined && err.text !== "") {
    el.c("text", { xmlns: NS_STANZAS }).t(err.text);
  }
  return el;
}

/** Thrown inside the parsers and turned into a `Parsed` failure at their entry points. */
export class ProtocolError extends Error {
  readonly stanzaError: StanzaError;
  constructor(err: StanzaError) {
    super(err.text ?? err.condition);
    this.name = "ProtocolError";
    this.stanzaError = err;
  }
}
