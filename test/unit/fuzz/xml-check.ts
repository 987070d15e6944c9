// A strict checker for the XML the service sends. ltx's own parser is lenient (it accepts
// control characters, odd names and mismatched end tags), but the XMPP server parses the
// component stream strictly and closes it on the first namespace-ill-formed stanza, so the
// fuzz tests check XML 1.0 well-formedness and XML Namespaces 1.0 themselves.

const NAME_START =
  "A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D" +
  "\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NCNAME = `[${NAME_START}][${NAME_CHAR}]*`;
const QNAME_RE = new RegExp(`^(?:(${NCNAME}):)?(${NCNAME})$`, "u");
const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/** The first character XML 1.0 does not allow (controls, lone surrogates, U+FFFE/U+FFFF), if any. */
export function illegalChar(s: string): string | undefined {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!ok) return `U+${c.toString(16).padStart(4, "0")}`;
  }
  return undefined;
}

class Reader {
  pos = 0;
  constructor(readonly s: string) {}
  fail(msg: string): never {
    throw new Error(`${msg} at ${this.pos}: ${JSON.stringify(this.s.slice(Math.max(0, this.pos - 20), this.pos + 20))}`);
  }
  peek(n = 1): string {
    return this.s.slice(this.pos, this.pos + n);
  }
  eat(lit: string): boolean {
    if (!this.s.startsWith(lit, this.pos)) return false;
    this.pos += lit.length;
    return true;
  }
  expect(lit: string): void {
    if (!this.eat(lit)) this.fail(`expected ${JSON.stringify(lit)}`);
  }
  spaces(): boolean {
    const start = this.pos;
    while (/[ \t\r\n]/.test(this.s[this.pos] ?? "")) this.pos++;
    return this.pos > start;
  }
  name(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !/[\s/>=<"'&]/.test(this.s[this.pos] ?? "")) this.pos++;
    const n = this.s.slice(start, this.pos);
    if (!QNAME_RE.test(n)) this.fail(`not a QName: ${JSON.stringify(n)}`);
    return n;
  }
  /** Character data up to `stop`, with references checked. */
  chars(stop: RegExp): void {
    while (this.pos < this.s.length && !stop.test(this.s[this.pos] ?? "")) {
      if (this.s[this.pos] === "&") {
        const m = /^&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));/.exec(this.s.slice(this.pos, this.pos + 12));
        if (!m) this.fail("bad reference");
        if (m[2] !== undefined || m[3] !== undefined) {
          const code = m[2] !== undefined ? Number(m[2]) : parseInt(m[3] ?? "", 16);
          if (code > 0x10ffff || illegalChar(String.fromCodePoint(code)) !== undefined) this.fail("reference to an illegal character");
        }
        this.pos += m[0].length;
      } else if (this.s.startsWith("]]>", this.pos)) {
        this.fail("']]>' in character data");
      } else {
        this.pos++;
      }
    }
  }
}

type Scope = ReadonlyMap<string, string>;

function element(r: Reader, scope: Scope, depth: number): void {
  if (depth > 5000) r.fail("nesting too deep for this checker");
  r.expect("<");
  const qname = r.name();
  const raw = new Map<string, true>();
  const attrs: [string, string][] = [];
  for (;;) {
    const sp = r.spaces();
    if (r.peek() === "/" || r.peek() === ">") break;
    if (!sp) r.fail("attributes must be separated by white space");
    const an = r.name();
    if (raw.has(an)) r.fail(`duplicate attribute ${an}`);
    raw.set(an, true);
    r.spaces();
    r.expect("=");
    r.spaces();
    const q = r.peek();
    if (q !== '"' && q !== "'") r.fail("unquoted attribute value");
    r.pos++;
    const start = r.pos;
    r.chars(q === '"' ? /["<]/ : /['<]/);
    const value = r.s.slice(start, r.pos);
    r.expect(q);
    attrs.push([an, value]);
  }
  // Namespace declarations first, then every prefix must be bound.
  const inner = new Map(scope);
  for (const [an, value] of attrs) {
    if (an === "xmlns") inner.set("", value);
    else if (an.startsWith("xmlns:")) {
      const p = an.slice(6);
      if (value === "") r.fail(`empty namespace for prefix ${p}`);
      if (p === "xmlns" || (p === "xml") !== (value === XML_NS) || value === XMLNS_NS) r.fail(`reserved prefix or namespace ${an}`);
      inner.set(p, value);
    }
  }
  const resolve = (qn: string, isAttr: boolean): string => {
    const i = qn.indexOf(":");
    if (i < 0) return isAttr ? `|${qn}` : `${inner.get("") ?? ""}|${qn}`;
    const p = qn.slice(0, i);
    if (p === "xmlns" && !isAttr) r.fail("element with the xmlns prefix");
    const ns = p === "xml" ? XML_NS : p === "xmlns" ? XMLNS_NS : inner.get(p);
    if (ns === undefined) r.fail(`unbound prefix ${p}`);
    return `${ns}|${qn.slice(i + 1)}`;
  };
  resolve(qname, false);
  const expanded = new Set<string>();
  for (const [an] of attrs) {
    const e = an === "xmlns" ? `${XMLNS_NS}|` : resolve(an, true);
    if (expanded.has(e)) r.fail(`duplicate expanded attribute ${an}`);
    expanded.add(e);
  }
  if (r.eat("/>")) return;
  r.expect(">");
  for (;;) {
    r.chars(/</);
    if (r.pos >= r.s.length) r.fail(`unclosed <${qname}>`);
    if (r.eat("</")) {
      const end = r.name();
      if (end !== qname) r.fail(`</${end}> closes <${qname}>`);
      r.spaces();
      r.expect(">");
      return;
    }
    if (r.peek(2) === "<!" || r.peek(2) === "<?") r.fail("markup the service never sends");
    element(r, inner, depth + 1);
  }
}

/**
 * Throws with a description unless `xml` is exactly one namespace-well-formed element
 * made of legal characters. `contextNs` is the default namespace it is sent in
 * (`jabber:client` or `jabber:component:accept` on the stream).
 */
export function assertWellFormed(xml: string, contextNs = "jabber:component:accept"): void {
  const bad = illegalChar(xml);
  if (bad !== undefined) throw new Error(`illegal XML character ${bad} in ${JSON.stringify(xml.slice(0, 200))}`);
  const r = new Reader(xml);
  element(r, new Map([["", contextNs]]), 0);
  if (r.pos !== xml.length) r.fail("content after the element");
}

export function isWellFormed(xml: string): boolean {
  try {
    assertWellFormed(xml);
    return true;
  } catch {
    return false;
  }
}
