import { describe, expect, it } from "vitest";
import type { ArchiveRequest, CollectionMeta, TimedItem, UploadedChat } from "../../../src/archive/model.ts";
import { renderChat } from "../../../src/protocol/render.ts";
import { err, ok, t } from "./helpers.ts";

const A = "urn:xmpp:archive";
const chatOf = (r: ArchiveRequest): UploadedChat => {
  if (r.op !== "save") throw new Error(r.op);
  return r.chat;
};
const save = (attrs: string, inner: string) =>
  `<iq type='set'><save xmlns='${A}'><chat with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z' ${attrs}>${inner}</chat></save></iq>`;

describe("save examples", () => {
  it("Ex. 21: secs accumulate from start, note keeps its utc", () => {
    const c = chatOf(
      ok(`<iq type='set' id='up1'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='juliet@capulet.com/chamber'
          start='1469-07-21T02:56:15Z'
          thread='damduoeg08'
          subject='She speaks!'>
      <from secs='0'><body>Art thou not Romeo, and a Montague?</body></from>
      <to secs='11'><body>Neither, fair saint, if either thee dislike.</body></to>
      <from secs='7'><body>How cam'st thou hither, tell me, and wherefore?</body></from>
      <note utc='1469-07-21T03:04:35Z'>I think she might fancy me.</note>
    </chat>
  </save>
</iq>`),
    );
    expect(c).toEqual({
      with: "juliet@capulet.com/chamber",
      start: t("1469-07-21T02:56:15Z"),
      thread: "damduoeg08",
      subject: "She speaks!",
      items: [
        { kind: "from", at: t("1469-07-21T02:56:15Z"), payload: "<body>Art thou not Romeo, and a Montague?</body>" },
        { kind: "to", at: t("1469-07-21T02:56:26Z"), payload: "<body>Neither, fair saint, if either thee dislike.</body>" },
        { kind: "from", at: t("1469-07-21T02:56:33Z"), payload: "<body>How cam'st thou hither, tell me, and wherefore?</body>" },
        { kind: "note", at: t("1469-07-21T03:04:35Z"), payload: "I think she might fancy me." },
      ],
      // The three messages were timed by `secs`; the note by its `utc`.
      relative: [0, 1, 2],
    });
  });

  it("Ex. 25: subject change without messages; version ignored", () => {
    const c = chatOf(
      ok(`<iq type='set' id='subject1'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='juliet@capulet.com/chamber'
          start='1469-07-21T02:56:15Z'
          subject='She speaks twice!' version='7'/>
  </save>
</iq>`),
    );
    expect(c).toEqual({
      with: "juliet@capulet.com/chamber",
      start: t("1469-07-21T02:56:15Z"),
      subject: "She speaks twice!",
      items: [],
    });
  });

  it("Ex. 27: utc message before start; later secs count from start", () => {
    const c = chatOf(
      ok(`<iq type='set' id='up2'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='juliet@capulet.com/chamber'
          start='1469-07-21T02:56:15Z'
          subject='She speaks!'>
      <from utc='1469-07-21T00:32:29Z'><body>Art thou not Romeo, and a Montague?</body></from>
      <to secs='11'><body>Neither, fair saint, if either thee dislike.</body></to>
      <from secs='7'><body>How cam'st thou hither, tell me, and wherefore?</body></from>
    </chat>
  </save>
</iq>`),
    );
    expect(c.items.map((i) => new Date(i.at).toISOString())).toEqual([
      "1469-07-21T00:32:29.000Z",
      "1469-07-21T02:56:26.000Z",
      "1469-07-21T02:56:33.000Z",
    ]);
  });

  it("Ex. 28: groupchat with name and jid", () => {
    const c = chatOf(
      ok(`<iq type='set' id='up3'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='balcony@house.capulet.com'
          start='1469-07-21T03:16:37Z'>
      <from secs='0' name='benvolio'><body>She will invite him to some supper.</body></from>
      <from secs='6' name='mercutio'><body>A bawd, a bawd, a bawd! So ho!</body></from>
      <from secs='3' name='romeo' jid='romeo@montague.net'><body>What hast thou found?</body></from>
    </chat>
  </save>
</iq>`),
    );
    expect(c.items).toEqual([
      { kind: "from", at: t("1469-07-21T03:16:37Z"), payload: "<body>She will invite him to some supper.</body>", name: "benvolio" },
      { kind: "from", at: t("1469-07-21T03:16:43Z"), payload: "<body>A bawd, a bawd, a bawd! So ho!</body>", name: "mercutio" },
      {
        kind: "from",
        at: t("1469-07-21T03:16:46Z"),
        payload: "<body>What hast thou found?</body>",
        name: "romeo",
        jid: "romeo@montague.net",
      },
    ]);
  });

  it("Ex. 29/30: links", () => {
    const next = chatOf(
      ok(`<iq type='set' id='link1'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='benvolio@montague.net'
          start='1469-07-21T03:01:54Z'>
      <next with='balcony@house.capulet.com' start='1469-07-21T03:16:37Z'/>
      <to secs='0'><body>O, I am fortune's fool!</body></to>
      <from secs='4'><body>Why dost thou stay?</body></from>
    </chat>
  </save>
</iq>`),
    );
    expect(next.next).toEqual({ with: "balcony@house.capulet.com", start: t("1469-07-21T03:16:37Z") });
    expect(next.previous).toBeUndefined();
    expect(next.items).toHaveLength(2);
    const prev = chatOf(
      ok(save("", `<previous with='benvolio@montague.net' start='1469-07-21T03:01:54.750+00:00'/>`)),
    );
    expect(prev.previous).toEqual({ with: "benvolio@montague.net", start: t("1469-07-21T03:01:54Z") });
  });

  it("Ex. 31: links without attributes remove them", () => {
    const c = chatOf(
      ok(`<iq type='set' id='link3'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='balcony@house.capulet.com'
          start='1469-07-21T03:16:37Z'>
      <previous/>
      <next/>
    </chat>
  </save>
</iq>`),
    );
    expect(c.previous).toBeNull();
    expect(c.next).toBeNull();
  });

  it("Ex. 32: the data form is kept serialized", () => {
    const c = chatOf(
      ok(`<iq type='set' id='form1'>
  <save xmlns='urn:xmpp:archive'>
    <chat with='benvolio@montague.net'
          start='1469-07-21T03:01:54Z'>
      <to secs='0'><body>O, I am fortune's fool!</body></to>
      <from secs='4'><body>Why dost thou stay?</body></from>
      <x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://example.com/archiving</value></field><field var='task'><value>1</value></field></x>
    </chat>
  </save>
</iq>`),
    );
    expect(c.form).toBe(
      `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>http://example.com/archiving</value></field><field var="task"><value>1</value></field></x>`,
    );
    expect(c.items).toHaveLength(2);
  });
});

describe("save details", () => {
  it("start is floored to the second and with is prepared", () => {
    const c = chatOf(
      ok(`<iq type='set'><save xmlns='${A}'><chat with='Juliet@Capulet.com/Chamber' start='1469-07-21T04:56:15.999+02:00'/></save></iq>`),
    );
    expect(c.with).toBe("juliet@capulet.com/Chamber");
    expect(c.start).toBe(t("1469-07-21T02:56:15Z"));
  });

  it("utc and secs on one message: utc gives the time, secs still advance the sum", () => {
    const c = chatOf(
      ok(
        save(
          "",
          `<to secs='5' utc='1469-07-21T02:56:17.250Z'><body>a</body></to><from secs='1'><body>b</body></from><from><body>c</body></from><note>n</note>`,
        ),
      ),
    );
    expect(c.items.map((i) => i.at)).toEqual([
      t("1469-07-21T02:56:17.250Z"),
      t("1469-07-21T02:56:21Z"),
      t("1469-07-21T02:56:21Z"),
      t("1469-07-21T02:56:21Z"),
    ]);
  });

  it("keeps every child: bodies, several bodies, foreign elements; skips foreign chat children", () => {
    const c = chatOf(
      ok(
        save(
          "",
          `<from secs='0'><body xml:lang='en'>hi</body><body xml:lang='fr'>salut</body><active xmlns='http://jabber.org/protocol/chatstates'/></from><y xmlns='urn:other'/>`,
        ),
      ),
    );
    expect(c.items).toEqual([
      {
        kind: "from",
        at: t("1469-07-21T02:56:15Z"),
        payload: `<body xml:lang="en">hi</body><body xml:lang="fr">salut</body><active xmlns="http://jabber.org/protocol/chatstates"/>`,
      },
    ]);
  });

  it("declares namespaces inherited from outside the payload", () => {
    const c = chatOf(
      ok(
        `<iq type='set' xmlns:e='urn:ext'><save xmlns='${A}'><chat with='a@b' start='2020-01-01T00:00:00Z'><to><e:thing e:attr='1'>x</e:thing></to><a:from xmlns:a='${A}'><body>y</body></a:from></chat></save></iq>`,
      ),
    );
    expect(c.items[0]?.payload).toBe(`<e:thing e:attr="1" xmlns:e="urn:ext">x</e:thing>`);
    // <body> inside a prefixed <a:from> is in the archive namespace through <chat>: no xmlns needed.
    expect(c.items[1]?.payload).toBe(`<body>y</body>`);
  });

  it.each([
    ["empty to", `<to secs='1'/>`],
    ["text-only from", `<from secs='1'>text</from>`],
    ["negative secs", `<to secs='-1'><body>a</body></to>`],
    ["fractional secs", `<to secs='1.5'><body>a</body></to>`],
    ["bad utc", `<to utc='yesterday'><body>a</body></to>`],
    ["utc without zone", `<to utc='1469-07-21T02:56:15'><body>a</body></to>`],
    ["note bad utc", `<note utc='1469-02-30T00:00:00Z'>x</note>`],
    ["unknown archive child", `<message><body>a</body></message>`],
    ["two previous", `<previous/><previous/>`],
    ["two next", `<next/><next/>`],
    ["two forms", `<x xmlns='jabber:x:data' type='submit'/><x xmlns='jabber:x:data' type='submit'/>`],
    ["link with only with", `<previous with='a@b'/>`],
    ["link with only start", `<next start='1469-07-21T02:56:15Z'/>`],
    ["link bad start", `<next with='a@b' start='soon'/>`],
    ["undeclared prefix", `<to><q:x>1</q:x></to>`],
    ["secs past 9999", `<to secs='999999999999'><body>a</body></to>`],
  ])("%s → bad-request", (_name, inner) => {
    expect(err(save("", inner))).toBe("bad-request/modify");
  });

  it.each([
    ["link bad with", `<previous with='a@@b' start='1469-07-21T02:56:15Z'/>`],
    ["message jid malformed", `<from jid='@x'><body>a</body></from>`],
  ])("%s → jid-malformed", (_name, inner) => {
    expect(err(save("", inner))).toBe("jid-malformed/modify");
  });

  it.each([
    [`<save xmlns='${A}'/>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat with='a@b' start='2020-01-01T00:00:00Z'/><chat with='a@b' start='2020-01-01T00:00:00Z'/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><list/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat xmlns='urn:other' with='a@b' start='2020-01-01T00:00:00Z'/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat start='2020-01-01T00:00:00Z'/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat with='a@b'/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat with='a@b' start=''/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat with='a@b' start='2020-01-01'/></save>`, "bad-request/modify"],
    [`<save xmlns='${A}'><chat with='' start='2020-01-01T00:00:00Z'/></save>`, "jid-malformed/modify"],
    [`<save xmlns='${A}'><chat with='a b@c' start='2020-01-01T00:00:00Z'/></save>`, "jid-malformed/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='set'>${payload}</iq>`)).toBe(cond);
  });
});

describe("payload round trip (save → store → retrieve)", () => {
  const texts = [
    "emoji 😀👩‍👩‍👧‍👦🏳️‍🌈",
    "RTL שלום עולם مرحبا بالعالم",
    "CJK 你好，世界 こんにちは 안녕하세요",
    `specials & < > " ' &amp; ]]>`,
    "tabs\tand\nnewlines",
    "combining e\u0301 and astral 𝄞",
  ];
  it.each(texts)("%s", (text) => {
    const body = `<body>${text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")}</body>`;
    const inner = `${body}<x xmlns='urn:ext' a='${text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll("'", "&apos;")}'/>`;
    const c = chatOf(ok(save("", `<from secs='0'>${inner}</from><note utc='1469-07-21T02:56:20Z'>${body.slice(6, -7)}</note>`)));
    const msg = c.items[0];
    const note = c.items[1];
    if (msg === undefined || note === undefined) throw new Error("items");
    expect(note.payload).toBe(text);
    const meta: CollectionMeta = { with: c.with, start: c.start, version: 0, count: 2 };
    const items: TimedItem[] = [
      { ...msg, secs: 0 },
      { ...note, utc: note.at },
    ];
    const out = renderChat(meta, { items, count: 2, first: "0", last: "1", firstIndex: 0 }, true);
    const from = out.getChild("from");
    if (from === undefined) throw new Error("from");
    // The stored payload comes back byte for byte.
    const rendered = from.children.map((n) => (typeof n === "string" ? n : n.toString())).join("");
    expect(Buffer.from(rendered, "utf8").equals(Buffer.from(msg.payload, "utf8"))).toBe(true);
    expect(from.getChild("body")?.getText()).toBe(text);
    expect(from.getChild("x")?.attrs.a).toBe(text);
    expect(out.getChild("note")?.getText()).toBe(text);
  });
});
