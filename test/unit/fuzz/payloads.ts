// Generators of archive IQ payloads as the component receives them: every request element
// with attributes drawn from valid values, edge values and garbage.
import fc from "fast-check";
import { Element } from "@xmpp/xml";
import { IQ_TYPES, type IqType } from "../../../src/protocol/parse.ts";
import { anyText, boolValue, cursorText, date, intValue, jidValue, legalText, validDate } from "./support.ts";

const NS_ARCHIVE = "urn:xmpp:archive";
const NS_RSM = "http://jabber.org/protocol/rsm";

/** A generated element: its name, namespace declaration, attributes and children. */
export interface Gen {
  name: string;
  attrs: Record<string, string>;
  children: (Gen | string)[];
}

export function build(g: Gen): Element {
  const el = new Element(g.name, { ...g.attrs });
  for (const c of g.children) {
    if (typeof c === "string") el.t(c);
    else el.cnode(build(c));
  }
  return el;
}

const gen = (name: string, attrs: Record<string, string> = {}, children: (Gen | string)[] = []): Gen => ({ name, attrs, children });

/** Attributes that may each be absent, plus now and then one nobody expects. */
function attrsOf(spec: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<Record<string, string>> {
  return fc
    .tuple(
      fc.record(spec, { requiredKeys: [] }),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom("junk", "xml:lang", "a:b", "version", "secs"), anyText(6)) },
      ),
    )
    .map(([a, extra]) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
      if (extra !== undefined) out[extra[0]] = extra[1];
      return out;
    });
}

/** A namespace for a child: mostly inherited, sometimes foreign or wrong. */
const childNs: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constantFrom({ xmlns: "urn:other" }, { xmlns: "" }, { xmlns: NS_RSM }, { xmlns: "jabber:x:data" }) },
);

const withNs = (a: fc.Arbitrary<Gen>): fc.Arbitrary<Gen> =>
  fc.tuple(a, childNs).map(([g, ns]) => ({ ...g, attrs: { ...g.attrs, ...ns } }));

const unknownChild: fc.Arbitrary<Gen> = fc
  .tuple(fc.constantFrom("zz", "chat", "item", "set", "body", "x", "list", "__proto__", "constructor"), childNs, anyText(4))
  .map(([n, ns, t]) => gen(n, ns, t === "" ? [] : [t]));

const saveMode = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("body", "false", "message", "stream") },
  { weight: 1, arbitrary: fc.constantFrom("true", "", "BODY", " body ") },
);
const otrMode = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("approve", "concede", "forbid", "oppose", "prefer", "require") },
  { weight: 1, arbitrary: fc.constantFrom("", "maybe") },
);
const scope = fc.constantFrom("stream", "global", "", "GLOBAL", "session");

const autoEl = attrsOf({ save: boolValue, scope }).map((a) => gen("auto", a));
const defaultEl = attrsOf({ save: saveMode, otr: otrMode, expire: intValue, unset: boolValue }).map((a) => gen("default", a));
const itemEl = attrsOf({ jid: jidValue, exactmatch: boolValue, save: saveMode, otr: otrMode, expire: intValue }).map((a) => gen("item", a));
const sessionEl = attrsOf({ thread: fc.oneof(legalText(8), anyText(4)), save: saveMode, otr: otrMode, timeout: intValue }).map((a) =>
  gen("session", a),
);
const methodEl = attrsOf({
  type: fc.constantFrom("auto", "local", "manual", "", "remote"),
  use: fc.constantFrom("concede", "forbid", "prefer", "", "always"),
}).map((a) => gen("method", a));

const prefChild = fc.oneof(
  { weight: 2, arbitrary: withNs(autoEl) },
  { weight: 2, arbitrary: withNs(defaultEl) },
  { weight: 3, arbitrary: withNs(itemEl) },
  { weight: 2, arbitrary: withNs(sessionEl) },
  { weight: 2, arbitrary: withNs(methodEl) },
  { weight: 1, arbitrary: unknownChild },
);
const children = (a: fc.Arbitrary<Gen>, maxLength = 5): fc.Arbitrary<(Gen | string)[]> =>
  fc.array(fc.oneof({ weight: 6, arbitrary: a }, { weight: 1, arbitrary: fc.constantFrom(" ", "\n  ", "text") }), { maxLength });

const pref = children(prefChild).map((c) => gen("pref", {}, c));
const auto = fc.tuple(autoEl, fc.array(unknownChild, { maxLength: 1 })).map(([a, c]) => ({ ...a, children: c }));
const itemremove = children(fc.oneof(withNs(itemEl), unknownChild)).map((c) => gen("itemremove", {}, c));
const sessionremove = children(fc.oneof(withNs(sessionEl), unknownChild)).map((c) => gen("sessionremove", {}, c));

/** Nested elements inside a body: deep chains up to 1000 levels, or one wide level. */
const deepBody: fc.Arbitrary<Gen> = fc.integer({ min: 1, max: 1000 }).map((depth) => {
  let g = gen("span", {}, ["deep"]);
  for (let i = 0; i < depth; i++) g = gen(i % 2 ? "span" : "b", {}, [g]);
  return gen("body", {}, [g]);
});
const wideBody: fc.Arbitrary<Gen> = fc.integer({ min: 1, max: 2000 }).map((n) =>
  gen("html", { xmlns: "http://jabber.org/protocol/xhtml-im" }, Array.from({ length: n }, (_, i) => gen("p", {}, [String(i)]))),
);

const messageContent: fc.Arbitrary<Gen> = fc.oneof(
  { weight: 8, arbitrary: anyText(10).map((t) => gen("body", {}, t === "" ? [] : [t])) },
  { weight: 1, arbitrary: fc.constantFrom(gen("a:x", {}), gen("a:x", { "xmlns:a": "urn:a" }), gen("x", { "b:y": "1" })) },
  { weight: 1, arbitrary: deepBody },
  { weight: 1, arbitrary: wideBody },
);

const messageEl = fc
  .tuple(
    fc.constantFrom("to", "from"),
    attrsOf({ secs: intValue, utc: date, name: legalText(6), jid: jidValue }),
    fc.array(messageContent, { minLength: 1, maxLength: 3 }),
  )
  .map(([n, a, c]) => gen(n, a, c));
const noteEl = fc.tuple(attrsOf({ utc: date }), anyText(10)).map(([a, t]) => gen("note", a, t === "" ? [] : [t]));
const linkEl = fc.tuple(fc.constantFrom("previous", "next"), attrsOf({ with: jidValue, start: date })).map(([n, a]) => gen(n, a));
const formEl = fc
  .tuple(fc.constantFrom<Record<string, string>>({ xmlns: "jabber:x:data" }, { xmlns: "jabber:x:data", type: "form" }, {}), legalText(6))
  .map(([a, t]) => gen("x", a, [gen("field", { var: t }, [gen("value", {}, [t])])]));

const chatEl = fc
  .tuple(
    attrsOf({ with: jidValue, start: date, thread: legalText(6), subject: anyText(8), version: intValue }),
    children(fc.oneof({ weight: 5, arbitrary: withNs(messageEl) }, noteEl, linkEl, formEl, unknownChild), 8),
  )
  .map(([a, c]) => gen("chat", a, c));
const save = fc
  .oneof({ weight: 6, arbitrary: chatEl.map((c) => [c]) }, fc.array(fc.oneof(withNs(chatEl), unknownChild), { maxLength: 2 }))
  .map((c) => gen("save", {}, c));

/** Uploads built to pass, so that accepted saves (and what they store) are exercised too. */
const goodJid = fc.constantFrom("juliet@capulet.com", "romeo@montague.net/orchard", "Nurse@Capulet.com", "é@例え.テスト");
const goodSave = fc
  .tuple(
    goodJid,
    validDate,
    fc.array(
      fc.oneof(
        fc
          .tuple(
            fc.constantFrom("to", "from"),
            fc.record({ secs: fc.nat({ max: 100_000 }).map(String), utc: validDate, name: legalText(6), jid: goodJid }, { requiredKeys: [] }),
            fc.array(messageContent, { minLength: 1, maxLength: 2 }),
          )
          .map(([n, a, c]) => gen(n, a, c)),
        fc.tuple(fc.record({ utc: validDate }, { requiredKeys: [] }), anyText(8)).map(([a, t]) => gen("note", a, t === "" ? [] : [t])),
        fc.tuple(fc.constantFrom("previous", "next"), goodJid, validDate).map(([n, w, st]) => gen(n, { with: w, start: st })),
        formEl.filter((f) => f.attrs.xmlns !== undefined),
      ),
      { maxLength: 6 },
    ),
    fc.record({ thread: legalText(6), subject: anyText(8) }, { requiredKeys: [] }),
  )
  .map(([w, st, c, extra]) => {
    // At most one of each link and form.
    const seen = new Set<string>();
    const kids = c.filter((k) => k.name === "to" || k.name === "from" || k.name === "note" || (!seen.has(k.name) && seen.add(k.name)));
    return gen("save", {}, [gen("chat", { with: w, start: st, ...extra }, kids)]);
  });
const goodPref = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom("1", "0", "true", "false"), fc.constantFrom("stream", "global")).map(([sv, sc]) => gen("auto", { save: sv, scope: sc })),
      fc.tuple(fc.constantFrom("body", "message", "false"), fc.constantFrom("approve", "concede", "prefer")).map(([sv, o]) => gen("default", { save: sv, otr: o })),
      fc.tuple(goodJid, fc.constantFrom("body", "false"), fc.nat({ max: 99999 })).map(([j, sv, e]) => gen("item", { jid: j, save: sv, expire: String(e) })),
      fc.tuple(legalText(6, 1), fc.constantFrom("body", "false")).map(([t, sv]) => gen("session", { thread: t, save: sv })),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((c) => {
    const seen = new Set<string>();
    return gen("pref", {}, c.filter((k) => k.name === "item" || k.name === "session" || (!seen.has(k.name) && seen.add(k.name))));
  });

const rsmChild = fc.oneof(
  fc.tuple(fc.constantFrom("max", "index"), intValue).map(([n, v]) => gen(n, {}, v === "" ? [] : [v])),
  fc.tuple(fc.constantFrom("after", "before"), cursorText).map(([n, v]) => gen(n, {}, v === "" ? [] : [v])),
  fc.constantFrom(gen("first", {}, ["x"]), gen("count", {}, ["3"]), gen("max", { xmlns: "urn:other" }, ["5"])),
);
const setEl = fc
  .tuple(fc.array(rsmChild, { maxLength: 4 }), fc.constantFrom<Record<string, string>>({ xmlns: NS_RSM }, { xmlns: NS_RSM }, { xmlns: NS_RSM }, {}, { xmlns: "urn:other" }))
  .map(([c, a]) => gen("set", a, c));
const setChildren = fc.array(fc.oneof({ weight: 4, arbitrary: setEl }, unknownChild), { maxLength: 2 });

const list = fc
  .tuple(attrsOf({ with: jidValue, start: date, end: date, exactmatch: boolValue }), setChildren)
  .map(([a, c]) => gen("list", a, c));
const retrieve = fc
  .tuple(attrsOf({ with: jidValue, start: date, exactmatch: boolValue }), setChildren)
  .map(([a, c]) => gen("retrieve", a, c));
const remove = fc
  .tuple(attrsOf({ with: jidValue, start: date, end: date, exactmatch: boolValue, open: boolValue }), fc.array(unknownChild, { maxLength: 1 }))
  .map(([a, c]) => gen("remove", a, c));
const modified = fc.tuple(attrsOf({ start: date }), setChildren).map(([a, c]) => gen("modified", a, c));
const unknownTop = fc
  .tuple(fc.constantFrom("feature", "chat", "store", "query", "set", "toString", "hasOwnProperty"), anyText(4))
  .map(([n, t]) => gen(n, {}, t === "" ? [] : [t]));

/** A request payload element (without its namespace, see {@link payload}). */
export const requestBody: fc.Arbitrary<Gen> = fc.oneof(pref, goodPref, goodSave, auto, itemremove, sessionremove, save, list, retrieve, remove, modified, unknownTop);

/** Where the payload's namespace comes from: declared, via a prefix, or wrong. */
export const payloadNs = fc.oneof(
  { weight: 10, arbitrary: fc.constant("archive") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "prefixed",
      "urn:xmpp:archive:auto",
      "http://www.xmpp.org/extensions/xep-0136.html#ns",
      "urn:xmpp:tmp:archive",
      "URN:XMPP:ARCHIVE",
      "urn:xmpp:archive ",
      "",
      "none",
    ),
  },
);

export function payload(body: Gen, ns: string): Element {
  const g: Gen =
    ns === "archive"
      ? { ...body, attrs: { ...body.attrs, xmlns: NS_ARCHIVE } }
      : ns === "prefixed"
        ? { ...body, name: `arc:${body.name}`, attrs: { ...body.attrs, "xmlns:arc": NS_ARCHIVE } }
        : ns === "none"
          ? body
          : { ...body, attrs: { ...body.attrs, xmlns: ns } };
  return build(g);
}

export const iqType: fc.Arbitrary<IqType> = fc.constantFrom("get", "set");

/** A payload with the IQ type it is meant for most of the time, and the wrong one otherwise. */
export const request: fc.Arbitrary<{ type: IqType; el: Element; body: Gen; ns: string }> = fc
  .tuple(requestBody, payloadNs, fc.nat({ max: 3 }), iqType)
  .map(([body, ns, pick, other]) => {
    const allowed = Object.hasOwn(IQ_TYPES, body.name) ? IQ_TYPES[body.name] : undefined;
    const right = allowed === undefined || pick === 0 ? undefined : allowed[pick % allowed.length];
    const type = right ?? other;
    return { type, el: payload(body, ns), body, ns };
  });
