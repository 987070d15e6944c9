import type { Element } from "@xmpp/xml";
import parseXml from "ltx/lib/parse.js";
import type { ArchiveRequest, Parsed } from "../../../src/archive/model.ts";
import { parseArchiveRequest, type IqType } from "../../../src/protocol/parse.ts";

/** Parses an XML string (as a server would deliver it). */
export function x(s: string): Element {
  return parseXml(s.trim());
}

/** Parses an IQ string and runs the request parser on its payload. */
export function parseIq(s: string): Parsed<ArchiveRequest> {
  const iq = x(s);
  const type = iq.attrs.type as IqType;
  const payload = iq.children.find((c): c is Element => typeof c === "object");
  if (payload === undefined) throw new Error("no payload");
  return parseArchiveRequest(type, payload);
}

export function ok(s: string): ArchiveRequest {
  const r = parseIq(s);
  if (!r.ok) throw new Error(`expected success, got ${r.error.condition}: ${r.error.text ?? ""}`);
  return r.value;
}

/** The error condition and type of a failing parse. */
export function err(s: string): string {
  const r = parseIq(s);
  if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.value)}`);
  return `${r.error.condition}/${r.error.type}`;
}

/** Canonical form: attributes sorted, whitespace-only text dropped. */
export function canon(el: Element | string): string {
  const e = typeof el === "string" ? x(el) : el;
  const attrs = Object.keys(e.attrs)
    .filter((k) => e.attrs[k] !== undefined && e.attrs[k] !== null)
    .sort()
    .map((k) => ` ${k}=${JSON.stringify(String(e.attrs[k]))}`)
    .join("");
  const kids = e.children
    .map((c) => (typeof c === "string" ? (c.trim() === "" ? "" : JSON.stringify(c)) : canon(c)))
    .join("");
  return `<${e.name}${attrs}>${kids}</${e.name}>`;
}

export const t = (s: string): number => {
  const v = Date.parse(s);
  if (Number.isNaN(v)) throw new Error(`bad test time ${s}`);
  return v;
};
