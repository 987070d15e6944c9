// XEP-0059 Result Set Management: request parsing and the `<set/>` of a reply.
import { Element } from "@xmpp/xml";
import type { Page, Parsed, RsmRequest } from "../archive/model.ts";
import { ProtocolError } from "./errors.ts";
import { NS_RSM } from "./namespaces.ts";
import { childElements, fail, parseNonNegativeInteger } from "./values.ts";

/** xs:int upper bound: `max` and `index` are declared xs:int in XEP-0059's schema. */
const XS_INT_MAX = 2 ** 31 - 1;

/** Parses one `<set xmlns='http://jabber.org/protocol/rsm'/>` (throws ProtocolError). */
export function readRsmSet(set: Element): RsmRequest {
  const req: RsmRequest = {};
  const seen = new Set<string>();
  for (const child of childElements(set)) {
    if (child.getNS() !== NS_RSM) continue;
    const name = child.getName();
    if (name !== "max" && name !== "index" && name !== "after" && name !== "before") continue;
    if (seen.has(name)) fail(`duplicate <${name}/> in <set/>`);
    seen.add(name);
    const text = child.getText();
    if (name === "max" || name === "index") {
      const n = parseNonNegativeInteger(text, XS_INT_MAX);
      if (n === undefined) fail(`<${name}/> must be an integer from 0 to ${XS_INT_MAX}`);
      req[name] = n;
    } else if (name === "after") {
      if (text === "") fail("<after/> must not be empty");
      req.after = text;
    } else {
      req.before = text;
    }
  }
  return req;
}

/** The RSM request among `parent`'s children; `{}` without a `<set/>` (throws ProtocolError). */
export function readRsmIn(parent: Element): RsmRequest {
  const sets = childElements(parent).filter((c) => c.getName() === "set" && c.getNS() === NS_RSM);
  if (sets.length > 1) fail("more than one <set/>");
  const set = sets[0];
  return set === undefined ? {} : readRsmSet(set);
}

export function parseRsm(set: Element): Parsed<RsmRequest> {
  try {
    return { ok: true, value: readRsmSet(set) };
  } catch (e) {
    if (e instanceof ProtocolError) return { ok: false, error: e.stanzaError };
    throw e;
  }
}

/**
 * The reply's `<set/>`: `<first [index]>`, `<last>` when the page has items, and always
 * `<count>` (D8: QXmpp reads a missing count as 0). An empty page yields `<set><count/></set>`.
 */
export function renderSet(page: Pick<Page<unknown>, "items" | "first" | "last" | "firstIndex" | "count">): Element {
  const set = new Element("set", { xmlns: NS_RSM });
  if (page.items.length > 0 && page.first !== undefined && page.last !== undefined) {
    const first = set.c("first", page.firstIndex === undefined ? {} : { index: String(page.firstIndex) });
    first.t(page.first);
    set.c("last").t(page.last);
  }
  set.c("count").t(String(page.count));
  return set;
}

/** Whether a result wrapper gets a `<set/>`: not for an empty full set (XEP-0136 Ex. 41, 46). */
export function hasSet(page: Pick<Page<unknown>, "items" | "count">): boolean {
  return page.items.length > 0 || page.count > 0;
}
