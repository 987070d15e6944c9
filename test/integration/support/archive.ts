import type { Element } from "@xmpp/xml";
import { xml, type TestClient } from "./client.ts";

// Small builders for XEP-0136 requests as a client sends them.
export const NS = "urn:xmpp:archive";
export const RSM = "http://jabber.org/protocol/rsm";

export interface Rsm {
  max?: number;
  after?: string;
  before?: string;
  index?: number;
}

export function rsm(r: Rsm): Element {
  const set = xml("set", { xmlns: RSM });
  if (r.max !== undefined) set.c("max").t(String(r.max));
  if (r.after !== undefined) set.c("after").t(r.after);
  if (r.before !== undefined) {
    const b = set.c("before");
    if (r.before !== "") b.t(r.before);
  }
  if (r.index !== undefined) set.c("index").t(String(r.index));
  return set;
}

export function setOf(el: Element | undefined) {
  const set = el?.getChild("set", RSM);
  return {
    first: set?.getChildText("first") ?? undefined,
    firstIndex: set?.getChild("first")?.attrs.index as string | undefined,
    last: set?.getChildText("last") ?? undefined,
    count: set?.getChildText("count") !== undefined && set?.getChildText("count") !== null ? Number(set.getChildText("count")) : undefined,
  };
}

export async function save(c: TestClient, withJid: string, start: string, items: Element[], attrs: Record<string, string> = {}): Promise<Element> {
  return c.iq("set", xml("save", { xmlns: NS }, xml("chat", { with: withJid, start, ...attrs }, ...items)));
}

export async function list(c: TestClient, attrs: Record<string, string> = {}, r?: Rsm): Promise<Element> {
  return c.iq("get", xml("list", { xmlns: NS, ...attrs }, ...(r ? [rsm(r)] : [])));
}

export async function retrieve(c: TestClient, withJid: string, start: string, r?: Rsm): Promise<Element> {
  return c.iq("get", xml("retrieve", { xmlns: NS, with: withJid, start }, ...(r ? [rsm(r)] : [])));
}

export function errorCondition(reply: Element): string | undefined {
  const err = reply.getChild("error");
  const cond = err?.children.find((c): c is Element => typeof c !== "string" && c.attrs.xmlns === "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name !== "text");
  return cond?.name;
}

export function chats(reply: Element): Element[] {
  return reply.getChild("list", NS)?.getChildren("chat") ?? [];
}

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
