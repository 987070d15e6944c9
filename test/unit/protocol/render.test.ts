import { Element } from "@xmpp/xml";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Change, CollectionMeta, Prefs, TimedItem } from "../../../src/archive/model.ts";
import { emptyPrefs } from "../../../src/archive/model.ts";
import { renderPref, renderPrefPush, type ServerPrefDefaults } from "../../../src/protocol/render-pref.ts";
import {
  chatHeaderSizeBound,
  chatItemSizeBound,
  renderChat,
  renderChatItem,
  renderList,
  renderModified,
  renderSaveResult,
} from "../../../src/protocol/render.ts";
import { parseSendableFragment } from "../../../src/protocol/xmlfrag.ts";
import { canon, t } from "./helpers.ts";

const A = "urn:xmpp:archive";
const R = "http://jabber.org/protocol/rsm";
const defaults: ServerPrefDefaults = {
  save: "false",
  otr: "concede",
  methods: { auto: "concede", local: "concede", manual: "concede" },
};

describe("renderPref", () => {
  it("never-set preferences: server defaults with unset='true' (Ex. 4)", () => {
    const el = renderPref({ prefs: emptyPrefs(), auto: false, defaults });
    expect(canon(el)).toBe(
      canon(`<pref xmlns='urn:xmpp:archive'>
    <auto save='false'/>
    <default otr='concede' save='false' unset='true'/>
    <method type='auto' use='concede'/>
    <method type='local' use='concede'/>
    <method type='manual' use='concede'/>
  </pref>`),
    );
    expect(el.children.map((c) => (typeof c === "string" ? c : c.name))).toEqual(["auto", "default", "method", "method", "method"]);
  });

  it("server default expire is reported for unset defaults", () => {
    const el = renderPref({ prefs: emptyPrefs(), auto: true, defaults: { ...defaults, save: "body", expire: 86400 } });
    expect(el.getChild("default")?.attrs).toEqual({ save: "body", otr: "concede", expire: "86400", unset: "true" });
    expect(el.getChild("auto")?.attrs).toEqual({ save: "true" });
  });

  it("stored preferences (Ex. 3)", () => {
    const prefs: Prefs = {
      default: { save: "body", otr: "concede", expire: 31536000 },
      items: [
        { jid: "romeo@montague.net", exactmatch: false, otr: "require", save: "false" },
        { jid: "benvolio@montague.net", exactmatch: false, expire: 630720000, otr: "forbid", save: "message" },
        { jid: "montague.net", exactmatch: true },
      ],
      sessions: [{ thread: "ffd7076498744578d10edabfe7f4a866", save: "body", timeout: 3600 }],
      methods: { auto: "forbid", manual: "prefer" },
    };
    const el = renderPref({ prefs, auto: false, defaults });
    expect(canon(el)).toBe(
      canon(`<pref xmlns='urn:xmpp:archive'>
    <auto save='false'/>
    <default expire='31536000' otr='concede' save='body'/>
    <item jid='romeo@montague.net' otr='require' save='false'/>
    <item expire='630720000' jid='benvolio@montague.net' otr='forbid' save='message'/>
    <item jid='montague.net' exactmatch='true'/>
    <session thread='ffd7076498744578d10edabfe7f4a866' save='body' timeout='3600'/>
    <method type='auto' use='forbid'/>
    <method type='local' use='concede'/>
    <method type='manual' use='prefer'/>
  </pref>`),
    );
  });
});

describe("renderPrefPush", () => {
  it("Ex. 7 default", () => {
    expect(canon(renderPrefPush({ default: { otr: "prefer", save: "false" } }))).toBe(
      canon(`<pref xmlns='urn:xmpp:archive'><default otr='prefer' save='false'/></pref>`),
    );
  });
  it("Ex. 10 item", () => {
    expect(
      canon(renderPrefPush({ items: [{ jid: "romeo@montague.net", exactmatch: false, save: "body", expire: 604800, otr: "concede" }] })),
    ).toBe(canon(`<pref xmlns='urn:xmpp:archive'><item jid='romeo@montague.net' save='body' expire='604800' otr='concede'/></pref>`));
  });
  it("Ex. 15 session with server timeout", () => {
    expect(
      canon(renderPrefPush({ sessions: [{ thread: "ffd7076498744578d10edabfe7f4a866", save: "body", timeout: 3600, otr: "concede" }] })),
    ).toBe(
      canon(
        `<pref xmlns='urn:xmpp:archive'><session thread='ffd7076498744578d10edabfe7f4a866' save='body' timeout='3600' otr='concede'/></pref>`,
      ),
    );
  });
  it("Ex. 20 methods, all three", () => {
    expect(canon(renderPrefPush({ methods: { auto: "concede", local: "forbid", manual: "prefer" } }))).toBe(
      canon(`<pref xmlns='urn:xmpp:archive'>
    <method type='auto' use='concede'/>
    <method type='local' use='forbid'/>
    <method type='manual' use='prefer'/>
  </pref>`),
    );
  });
});

const meta: CollectionMeta = {
  with: "juliet@capulet.com/chamber",
  start: t("1469-07-21T02:56:15Z"),
  thread: "damduoeg08",
  subject: "She speaks!",
  version: 0,
  count: 3,
};

describe("renderSaveResult", () => {
  it("Ex. 22", () => {
    expect(canon(renderSaveResult(meta))).toBe(
      canon(`<save xmlns='urn:xmpp:archive'>
    <chat with='juliet@capulet.com/chamber'
          start='1469-07-21T02:56:15Z'
          thread='damduoeg08'
          subject='She speaks!'
          version='0'/>
  </save>`),
    );
  });
  it("Ex. 26 without thread", () => {
    const m: CollectionMeta = { with: meta.with, start: meta.start, subject: "She speaks twice!", version: 1, count: 0 };
    expect(canon(renderSaveResult(m))).toBe(
      canon(`<save xmlns='${A}'><chat with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' subject='She speaks twice!' version='1'/></save>`),
    );
  });
});

describe("renderList", () => {
  it("Ex. 41: empty full set → empty list", () => {
    expect(renderList({ items: [], count: 0 }).toString()).toBe(`<list xmlns="${A}"/>`);
  });
  it("page of collections with the set (Appendix C shape)", () => {
    const other: CollectionMeta = { with: "balcony@house.capulet.com", start: t("1469-07-21T03:16:37Z"), version: 3, count: 5 };
    const el = renderList({
      items: [meta, other],
      first: "1469-07-21T02:56:15Zjuliet@capulet.com",
      last: "1469-07-21T03:16:37Zbalcony@house.capulet.com",
      firstIndex: 0,
      count: 1372,
    });
    expect(canon(el)).toBe(
      canon(`<list xmlns='${A}'>
  <chat with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' thread='damduoeg08' subject='She speaks!' version='0'/>
  <chat with='balcony@house.capulet.com' start='1469-07-21T03:16:37Z' version='3'/>
  <set xmlns='${R}'>
    <first index='0'>1469-07-21T02:56:15Zjuliet@capulet.com</first>
    <last>1469-07-21T03:16:37Zbalcony@house.capulet.com</last>
    <count>1372</count>
  </set>
</list>`),
    );
  });
  it("max=0: only the count", () => {
    expect(renderList({ items: [], count: 12 }).toString()).toBe(`<list xmlns="${A}"><set xmlns="${R}"><count>12</count></set></list>`);
  });
});

describe("renderChat", () => {
  const items: TimedItem[] = [
    { kind: "from", at: t("1469-07-21T02:56:15Z"), secs: 0, payload: "<body>Art thou not Romeo, and a Montague?</body>" },
    { kind: "to", at: t("1469-07-21T02:56:26Z"), secs: 11, payload: "<body>Neither, fair saint, if either thee dislike.</body>" },
    { kind: "note", at: t("1469-07-21T03:04:35Z"), payload: "I think she might fancy me." },
  ];
  const full: CollectionMeta = {
    ...meta,
    version: 4,
    previous: { with: "benvolio@montague.net", start: t("1469-07-21T03:01:54Z") },
    next: { with: "balcony@house.capulet.com", start: t("1469-07-21T03:16:37Z") },
    form: `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>urn:x</value></field></x>`,
  };

  it("first page: links, form, items, set (Ex. 44 shape)", () => {
    const el = renderChat(full, { items, first: "0", last: "2", firstIndex: 0, count: 217 }, true);
    expect(canon(el)).toBe(
      canon(`<chat xmlns='${A}' with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' thread='damduoeg08' subject='She speaks!' version='4'>
  <previous with='benvolio@montague.net' start='1469-07-21T03:01:54Z'/>
  <next with='balcony@house.capulet.com' start='1469-07-21T03:16:37Z'/>
  <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:x</value></field></x>
  <from secs='0'><body>Art thou not Romeo, and a Montague?</body></from>
  <to secs='11'><body>Neither, fair saint, if either thee dislike.</body></to>
  <note utc='1469-07-21T03:04:35Z'>I think she might fancy me.</note>
  <set xmlns='${R}'><first index='0'>0</first><last>2</last><count>217</count></set>
</chat>`),
    );
  });

  it("later pages have no header", () => {
    const el = renderChat(full, { items: items.slice(1, 2), first: "1", last: "1", firstIndex: 1, count: 3 }, false);
    expect(el.getChild("previous")).toBeUndefined();
    expect(el.getChild("next")).toBeUndefined();
    expect(el.getChild("x")).toBeUndefined();
    expect(el.getChildren("to")).toHaveLength(1);
  });

  it("Ex. 46: empty collection → empty chat", () => {
    const m: CollectionMeta = { with: meta.with, start: meta.start, subject: "She speaks!", version: 5, count: 0 };
    expect(canon(renderChat(m, { items: [], count: 0 }, true))).toBe(
      canon(`<chat xmlns='${A}' with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' subject='She speaks!' version='5'/>`),
    );
  });

  it("items: utc where given, both when both, utc fallback, MUC attributes", () => {
    expect(
      renderChatItem({ kind: "from", at: t("1469-07-21T00:32:29Z"), utc: t("1469-07-21T00:32:29Z"), payload: "<body>a</body>" }).toString(),
    ).toBe(`<from utc="1469-07-21T00:32:29Z"><body>a</body></from>`);
    expect(
      renderChatItem({ kind: "to", at: t("2020-01-01T00:00:05.5Z"), secs: 5, utc: t("2020-01-01T00:00:05.5Z"), payload: "<body>b</body>" }).toString(),
    ).toBe(`<to secs="5" utc="2020-01-01T00:00:05Z"><body>b</body></to>`);
    expect(renderChatItem({ kind: "to", at: t("2020-01-01T00:00:07Z"), payload: "<body>c</body>" }).toString()).toBe(
      `<to utc="2020-01-01T00:00:07Z"><body>c</body></to>`,
    );
    expect(
      renderChatItem({ kind: "from", at: 0, secs: 3, name: "romeo", jid: "romeo@montague.net", payload: "<body>What hast thou found?</body>" }).toString(),
    ).toBe(`<from secs="3" name="romeo" jid="romeo@montague.net"><body>What hast thou found?</body></from>`);
  });

  it("message-mode payloads with namespaces come back intact", () => {
    const payload = `<body>hi</body><active xmlns="http://jabber.org/protocol/chatstates"/><e:x xmlns:e="urn:e" e:a="1">t</e:x>`;
    const el = renderChatItem({ kind: "to", at: 0, secs: 0, payload });
    expect(el.toString()).toBe(`<to secs="0">${payload}</to>`);
  });

  it("corrupt stored payload is shown as body text, not dropped", () => {
    const el = renderChatItem({ kind: "to", at: 0, secs: 0, payload: "<body>unclosed" });
    expect(el.toString()).toBe(`<to secs="0"><body>&lt;body&gt;unclosed</body></to>`);
  });

  it("corrupt stored form is skipped", () => {
    const el = renderChat({ ...meta, form: "<x" }, { items: [], count: 0 }, true);
    expect(el.children).toHaveLength(0);
  });
});

describe("renderModified", () => {
  it("Ex. 57 shape with first and last", () => {
    const changes: Change[] = [
      { with: "juliet@capulet.com/chamber", start: t("1469-07-21T02:56:15Z"), version: 0, removed: false, changedAt: 1 },
      { with: "balcony@house.capulet.com", start: t("1469-07-21T03:16:37Z"), version: 3, removed: true, changedAt: 2 },
    ];
    const el = renderModified({ items: changes, first: "a", last: "ja923ljasnvla09woei777", firstIndex: 0, count: 1372 });
    expect(canon(el)).toBe(
      canon(`<modified xmlns='urn:xmpp:archive'>
    <changed with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' version='0'/>
    <removed with='balcony@house.capulet.com' start='1469-07-21T03:16:37Z' version='3'/>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <first index='0'>a</first>
      <last>ja923ljasnvla09woei777</last>
      <count>1372</count>
    </set>
  </modified>`),
    );
  });
  it("nothing modified", () => {
    expect(renderModified({ items: [], count: 0 }).toString()).toBe(`<modified xmlns="${A}"/>`);
  });
});

describe("renderChatItem of a plain-text body", () => {
  // Built without parsing: it must serialize exactly as the parsed payload does.
  const viaParse = (payload: string): string => {
    const el = new Element("to", { secs: "0" });
    for (const n of parseSendableFragment(payload) ?? []) el.cnode(n);
    return el.toString();
  };
  const text = fc.array(fc.constantFrom(..."ab >\"'\t\n\r\u0001\u00e9😀\uFFFE".split(/(?:)/u)), { maxLength: 16 }).map((cs) => cs.join(""));

  it("serializes as the parsed payload would", () => {
    fc.assert(
      fc.property(text, (s) => {
        const payload = `<body>${s}</body>`;
        expect(renderChatItem({ kind: "to", at: 0, secs: 0, payload }).toString()).toBe(viaParse(payload));
      }),
      { numRuns: 5000 },
    );
  });

  it("leaves payloads with markup or references to the parser", () => {
    for (const payload of ["<body>a &amp; b</body>", "<body>x<b/>y</body>", "<body xml:lang='en'>hi</body>", "<body></body><subject>s</subject>"]) {
      expect(renderChatItem({ kind: "to", at: 0, secs: 0, payload }).toString()).toBe(viaParse(payload));
    }
  });
});

describe("chatHeaderSizeBound", () => {
  it("is never below the header's serialized size", () => {
    const str = fc.array(fc.constantFrom(..."a&<>\"'\u0001é😀\uFFFE".split(/(?:)/u)), { minLength: 1, maxLength: 40 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(str, fc.option(str, { nil: undefined }), fc.option(str, { nil: undefined }), fc.nat(), fc.integer({ min: 0, max: 253402300799999 }), (w, subject, thread, version, start) => {
        const meta: CollectionMeta = { with: w, start, version, count: 0, ...(subject !== undefined ? { subject } : {}), ...(thread !== undefined ? { thread } : {}) };
        expect(Buffer.byteLength(renderSaveResult(meta).getChild("chat")!.toString())).toBeLessThanOrEqual(chatHeaderSizeBound(meta));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("chatItemSizeBound", () => {
  it("is never below the item's serialized size", () => {
    const text = fc.array(fc.constantFrom(..."a>\"'\u0001é😀\uFFFE".split(/(?:)/u)), { maxLength: 200 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(text, fc.constantFrom("to" as const, "from" as const, "note" as const), fc.option(text, { nil: undefined }), (t, kind, name) => {
        const item = { kind, at: 0, secs: 0, payload: kind === "note" ? t : `<body>${t}</body>`, ...(name ? { name } : {}) };
        expect(Buffer.byteLength(renderChatItem(item).toString())).toBeLessThanOrEqual(chatItemSizeBound(item));
      }),
      { numRuns: 3000 },
    );
    // Stored text the node never writes (it escapes `>`), and quotes in a stored attribute.
    for (const payload of [`<body>${">".repeat(1000)}</body>`, `<body x='${'"'.repeat(1000)}'/>`]) {
      const item = { kind: "to" as const, at: 0, secs: 0, payload };
      expect(Buffer.byteLength(renderChatItem(item).toString())).toBeLessThanOrEqual(chatItemSizeBound(item));
    }
  });
});
