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

// What the server's parser accepts: the server closes the component stream on the first
// stanza that is not well-formed or not namespace-well-formed, so stored strings (which only
// a corrupt store or a lenient parser could fill with anything else) are made safe on output.

/** Characters outside XML 1.0's Char production: controls, lone surrogates, U+FFFE, U+FFFF. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** `s` with every character XML cannot carry replaced by U+FFFD. */
export function xmlSafe(s: string): string {
  return s.replace(NOT_XML_CHAR, "\uFFFD");
}

const NAME_START =
  "A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D" +
  "\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NCNAME = `[${NAME_START}][${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*`;
/** XML Namespaces QName: `NCName` or `NCName:NCName`. */
const QNAME_RE = new RegExp(`^(?:${NCNAME}:)?${NCNAME}$`, "u");
const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/**
 * Checks a parsed element for names and prefixes the server would refuse (ltx's parser takes
 * `<a"b/>` or `<p:x/>` without complaint) and replaces illegal characters in its text and
 * attribute values, in place. `bound` are the prefixes declared by its ancestors.
 */
function makeSendable(el: Element, bound: ReadonlyMap<string, string>): boolean {
  if (!QNAME_RE.test(el.name)) return false;
  const scope = new Map(bound);
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v === undefined || v === null) continue;
    const value = typeof v === "string" ? v : String(v);
    if (k !== "xmlns" && !QNAME_RE.test(k)) return false;
    if (k.startsWith("xmlns:")) {
      const p = k.slice(6);
      if (value === "" || p === "xmlns" || (p === "xml") !== (value === XML_NS) || value === XMLNS_NS) return false;
      scope.set(p, value);
    }
    el.attrs[k] = xmlSafe(value);
  }
  const expanded = new Set<string>();
  const resolve = (qname: string): string | undefined => {
    const p = prefixOf(qname);
    if (p === undefined) return "";
    if (p === "xml") return XML_NS;
    if (p === "xmlns") return XMLNS_NS;
    return scope.get(p);
  };
  if (prefixOf(el.name) === "xmlns" || resolve(el.name) === undefined) return false;
  for (const k of Object.keys(el.attrs)) {
    const ns = k === "xmlns" ? XMLNS_NS : resolve(k);
    if (ns === undefined) return false;
    const local = k.slice(k.indexOf(":") + 1);
    if (expanded.has(`${ns}|${local}`)) return false;
    expanded.add(`${ns}|${local}`);
  }
  for (let i = 0; i < el.children.length; i++) {
    const c = el.children[i];
    if (typeof c === "string") el.children[i] = xmlSafe(c);
    else if (typeof c === "object" && c !== null && !makeSendable(c, scope)) return false;
  }
  return true;
}

/**
 * Stored content parsed for sending: like {@link parseFragment}, but also null when the
 * server would refuse it (invalid names, undeclared or reserved prefixes, duplicate attributes
 * by namespace); illegal characters in text and attribute values become U+FFFD.
 */
export function parseSendableFragment(content: string): Node[] | null {
  const nodes = parseFragment(content);
  if (nodes === null) return null;
  const out: Node[] = [];
  for (const n of nodes) {
    if (typeof n === "string") out.push(xmlSafe(n));
    else if (typeof n === "object" && n !== null) {
      if (!makeSendable(n, new Map())) return null;
      out.push(n);
    }
  }
  return out;
}

/** {@link parseElement} for sending: one element the server accepts, or null. */
export function parseSendableElement(content: string): Element | null {
  const el = parseElement(content);
  return el !== null && makeSendable(el, new Map()) ? el : null;
}
