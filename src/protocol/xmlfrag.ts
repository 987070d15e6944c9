// Stand-alone serialization of received child elements and re-parsing of stored ones.
import { Element } from "@xmpp/xml";
import type { Node } from "@xmpp/xml";
import parseXml from "ltx/lib/parse.js";
import { childElements } from "./values.ts";

function prefixOf(qname: string): string | undefined {
  const i = qname.indexOf(":");
  return i > 0 ? qname.slice(0, i) : undefined;
}

/** Prefixes used but not declared inside `el`'s subtree, resolved against its ancestors. */
function missingPrefixes(el: Element, declared: ReadonlySet<string>, out: Map<string, string>): boolean {
  const scope = new Set(declared);
  for (const name of Object.keys(el.attrs)) {
    if (name.startsWith("xmlns:")) scope.add(name.slice(6));
  }
  const used = [prefixOf(el.name), ...Object.keys(el.attrs).map(prefixOf)];
  for (const p of used) {
    if (p === undefined || p === "xml" || p === "xmlns" || scope.has(p) || out.has(p)) continue;
    const ns = el.findNS(p);
    if (ns === undefined || ns === "") return false;
    out.set(p, ns);
  }
  return childElements(el).every((c) => missingPrefixes(c, scope, out));
}

function copyTree(el: Element): Element {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v !== undefined && v !== null) attrs[k] = typeof v === "string" ? v : String(v);
  }
  const copy = new Element(el.name, attrs);
  for (const c of el.children) {
    if (typeof c === "string") copy.t(c);
    else if (typeof c === "object" && c !== null) copy.cnode(copyTree(c));
  }
  return copy;
}

/**
 * Serializes a received element so that it stays namespace-well-formed on its own:
 * an unprefixed element whose namespace is inherited and differs from `contextNs`
 * gets its `xmlns`, and prefixes declared on ancestors are declared on it.
 * Returns null when it uses an undeclared prefix.
 */
export function serializeStandalone(el: Element, contextNs: string): string | null {
  const missing = new Map<string, string>();
  if (!missingPrefixes(el, new Set(), missing)) return null;
  const copy = copyTree(el);
  if (prefixOf(el.name) === undefined && copy.attrs.xmlns === undefined) {
    const ns = el.getNS();
    if (ns !== undefined && ns !== contextNs) copy.attrs.xmlns = ns;
  }
  for (const [p, ns] of missing) copy.attrs[`xmlns:${p}`] = ns;
  return copy.toString();
}

/**
 * Parses stored serialized XML content (zero or more elements and text) back into nodes,
 * detached and ready to append. Returns null when the content is not well-formed.
 */
export function parseFragment(content: string): Node[] | null {
  if (content === "") return [];
  try {
    const wrapper = parseXml(`<w>${content}</w>`);
    if (wrapper === null || wrapper === undefined) return null;
    const nodes = wrapper.children.slice();
    for (const n of nodes) if (typeof n === "object" && n !== null) n.parent = null;
    return nodes;
  } catch {
    return null;
  }
}

/** Parses one stored serialized element; null when it is not exactly one well-formed element. */
export function parseElement(content: string): Element | null {
  const nodes = parseFragment(content);
  if (nodes === null) return null;
  const els = nodes.filter((n): n is Element => typeof n === "object" && n !== null);
  const text = nodes.filter((n): n is string => typeof n === "string").join("");
  return els.length === 1 && els[0] !== undefined && text.trim() === "" ? els[0] : null;
}
