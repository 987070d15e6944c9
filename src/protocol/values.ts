// Attribute and text readers shared by the request parsers. Each throws ProtocolError
// with the condition the service answers with; parse entry points catch it.
import type { Element } from "@xmpp/xml";
import type { AutoScope, MethodType, MethodUse, OtrMode, SaveMode } from "../archive/model.ts";
import { floorToSecond, parseDateTime } from "./datetime.ts";
import { ProtocolError, badRequest, jidMalformed } from "./errors.ts";
import { prepJid } from "./jid.ts";

export const SAVE_MODES: readonly SaveMode[] = ["body", "false", "message", "stream"];
export const OTR_MODES: readonly OtrMode[] = ["approve", "concede", "forbid", "oppose", "prefer", "require"];
export const METHOD_TYPES: readonly MethodType[] = ["auto", "local", "manual"];
export const METHOD_USES: readonly MethodUse[] = ["concede", "forbid", "prefer"];
export const AUTO_SCOPES: readonly AutoScope[] = ["stream", "global"];

/** Attribute value as a string; ltx keeps whatever was set, parsed input is always a string. */
export function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : String(v);
}

export function fail(text: string): never {
  throw new ProtocolError(badRequest(text));
}

/** xs:boolean: "true"/"1" and "false"/"0" (whitespace collapsed). */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return undefined;
}

export function boolAttr(el: Element, name: string, dflt: boolean): boolean {
  const v = attr(el, name);
  if (v === undefined) return dflt;
  const b = parseBoolean(v);
  if (b === undefined) fail(`${el.getName()}/@${name} must be a boolean`);
  return b;
}

/** xs:nonNegativeInteger limited to what a JS number holds exactly. */
export function parseNonNegativeInteger(value: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = value.trim();
  if (!/^\+?\d+$/.test(v)) return undefined;
  const n = Number(v.startsWith("+") ? v.slice(1) : v);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

export function intAttr(el: Element, name: string): number | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  const n = parseNonNegativeInteger(v);
  if (n === undefined) fail(`${el.getName()}/@${name} must be a non-negative integer`);
  return n;
}

export function enumAttr<T extends string>(el: Element, name: string, allowed: readonly T[]): T | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  const t = v.trim();
  const found = allowed.find((a) => a === t);
  if (found === undefined) fail(`${el.getName()}/@${name} must be one of ${allowed.join(", ")}`);
  return found;
}

export function requiredEnumAttr<T extends string>(el: Element, name: string, allowed: readonly T[]): T {
  const v = enumAttr(el, name, allowed);
  if (v === undefined) fail(`${el.getName()}/@${name} is required`);
  return v;
}

export function dateAttr(el: Element, name: string): number | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  const t = parseDateTime(v.trim());
  if (t === null) fail(`${el.getName()}/@${name} must be a XEP-0082 DateTime with a zone`);
  return t;
}

export function requiredDateAttr(el: Element, name: string): number {
  const t = dateAttr(el, name);
  if (t === undefined) fail(`${el.getName()}/@${name} is required`);
  return t;
}

/** A collection's `start`: compared as whole seconds (D2). */
export function startAttr(el: Element, name = "start"): number {
  return floorToSecond(requiredDateAttr(el, name));
}

export function jidAttr(el: Element, name: string): string | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  const j = prepJid(v);
  if (j === null) throw new ProtocolError(jidMalformed(`${el.getName()}/@${name} is not a valid JID`));
  return j;
}

export function requiredJidAttr(el: Element, name: string): string {
  const j = jidAttr(el, name);
  if (j === undefined) fail(`${el.getName()}/@${name} is required`);
  return j;
}

export function requiredStringAttr(el: Element, name: string): string {
  const v = attr(el, name);
  if (v === undefined || v === "") fail(`${el.getName()}/@${name} is required`);
  return v;
}

/**
 * Child elements (text between them is not protocol content here). Not `getChildElements()`:
 * that uses `instanceof`, and trees may come from different ltx builds (ESM and CJS copies).
 */
export function childElements(el: Element): Element[] {
  return el.children.filter((c): c is Element => typeof c === "object" && c !== null);
}

/** Namespace of an element, or undefined for an undeclared prefix. */
export function nsOf(el: Element): string | undefined {
  return el.getNS();
}
