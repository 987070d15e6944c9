import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Element } from "@xmpp/xml";
import { parseArchiveRequest } from "../../../src/protocol/parse.ts";
import { renderChat } from "../../../src/protocol/render.ts";
import type { CollectionMeta, TimedItem } from "../../../src/archive/model.ts";
import { x } from "./helpers.ts";

const NAMES = [
  "pref", "auto", "default", "item", "session", "method", "itemremove", "sessionremove", "save", "chat",
  "from", "to", "note", "previous", "next", "x", "body", "list", "retrieve", "remove", "modified", "set",
  "max", "after", "before", "index", "first", "last", "count", "a:chat", "b:to", "zz", "__proto__", "constructor",
];
const ATTRS = [
  "save", "scope", "otr", "expire", "jid", "exactmatch", "thread", "type", "use", "with", "start", "end",
  "secs", "utc", "name", "subject", "open", "version", "timeout", "unset", "xmlns", "xmlns:a", "b:secs",
];
const NSS = ["urn:xmpp:archive", "http://jabber.org/protocol/rsm", "jabber:x:data", "urn:other", ""];
const VALUES = fc.oneof(
  fc.constantFrom(
    "true", "false", "1", "0", "yes", "", "body", "message", "stream", "global", "concede", "require", "auto",
    "1469-07-21T02:56:15Z", "0000-01-01T00:00:00Z", "2020-02-30T00:00:00Z", "juliet@capulet.com/chamber",
    "a@@b", "-1", "99999999999999999999", "2147483648", "urn:xmpp:archive", "http://jabber.org/protocol/rsm",
  ),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
);

type Tree = { name: string; attrs: [string, string][]; text: string | null; children: Tree[] };

function treeOf(depth: number): fc.Arbitrary<Tree> {
  return fc.record({
    name: fc.constantFrom(...NAMES),
    attrs: fc.array(fc.tuple(fc.constantFrom(...ATTRS), fc.oneof(VALUES, fc.constantFrom(...NSS))), { maxLength: 5 }),
    text: fc.option(fc.string({ maxLength: 8 })),
    children: depth === 0 ? fc.constant([]) : fc.array(treeOf(depth - 1), { maxLength: 4 }),
  });
}
const tree = treeOf(4);

function build(t: Tree): Element {
  const el = new Element(t.name, Object.fromEntries(t.attrs));
  if (t.text !== null) el.t(t.text);
  for (const c of t.children) el.cnode(build(c));
  return el;
}

describe("parseArchiveRequest on random trees (property)", () => {
  it("never throws, and failures carry a stanza error", () => {
    fc.assert(
      fc.property(tree, fc.constantFrom("urn:xmpp:archive", "urn:other"), fc.constantFrom("get" as const, "set" as const), (t, ns, type) => {
        const el = build(t);
        if (el.attrs.xmlns === undefined) el.attrs.xmlns = ns;
        const r = parseArchiveRequest(type, el);
        if (!r.ok) {
          expect(["bad-request", "jid-malformed", "service-unavailable"]).toContain(r.error.condition);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws on trees parsed from serialized random trees", () => {
    fc.assert(
      fc.property(tree, fc.constantFrom("get" as const, "set" as const), (t, type) => {
        const el = build(t);
        el.attrs.xmlns = "urn:xmpp:archive";
        let reparsed: Element;
        try {
          reparsed = x(el.toString());
        } catch {
          return; // not well-formed for ltx (e.g. odd names); not an input a server delivers
        }
        parseArchiveRequest(type, reparsed);
      }),
      { numRuns: 1000 },
    );
  });

  it("accepted saves render back with the same payload bytes", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 20 });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 5 }), (bodies) => {
        const chat = new Element("chat", { with: "a@b", start: "2020-01-01T00:00:00Z" });
        for (const b of bodies) chat.c("to", { secs: "1" }).c("body").t(b);
        const save = new Element("save", { xmlns: "urn:xmpp:archive" });
        save.cnode(chat);
        const wire = x(save.toString());
        const r = parseArchiveRequest("set", wire);
        expect(r.ok).toBe(true);
        if (!r.ok || r.value.op !== "save") return;
        const items: TimedItem[] = r.value.chat.items.map((i) => ({ ...i, secs: 1 }));
        const meta: CollectionMeta = { with: "a@b", start: r.value.chat.start, version: 0, count: items.length };
        const out = x(renderChat(meta, { items, count: items.length, first: "0", last: "1", firstIndex: 0 }, true).toString());
        expect(out.getChildren("to").map((e) => e.getChildText("body"))).toEqual(bodies);
      }),
      { numRuns: 500 },
    );
  });
});
