import { describe, expect, it } from "vitest";
import { requestedSaveModes } from "../../../src/protocol/parse.ts";
import { err, ok } from "./helpers.ts";

const A = "urn:xmpp:archive";
const set = (inner: string) => `<iq type='set' id='p'><pref xmlns='${A}'>${inner}</pref></iq>`;

describe("pref get (Ex. 2)", () => {
  it("parses", () => {
    expect(ok(`<iq type='get' id='pref1'><pref xmlns='urn:xmpp:archive'/></iq>`)).toEqual({ op: "pref-get" });
  });
  it("refuses archive elements inside a get, ignores foreign ones", () => {
    expect(err(`<iq type='get'><pref xmlns='${A}'><bogus/></pref></iq>`)).toBe("bad-request/modify");
    expect(ok(`<iq type='get'><pref xmlns='${A}'><x xmlns='urn:example:other'/></pref></iq>`)).toEqual({ op: "pref-get" });
  });
});

describe("pref set examples", () => {
  it("Ex. 5 default modes", () => {
    expect(ok(`<iq type='set' id='pref2'>
  <pref xmlns='urn:xmpp:archive'>
    <default otr='prefer' save='false'/>
  </pref>
</iq>`)).toEqual({ op: "pref-set", default: { otr: "prefer", save: "false" }, items: [], sessions: [], methods: {} });
  });

  it("Ex. 8 contact modes", () => {
    expect(ok(`<iq type='set' id='pref3'>
  <pref xmlns='urn:xmpp:archive'>
    <item jid='romeo@montague.net' save='body' expire='604800' otr='concede'/>
  </pref>
</iq>`)).toEqual({
      op: "pref-set",
      items: [{ jid: "romeo@montague.net", exactmatch: false, save: "body", expire: 604800, otr: "concede" }],
      sessions: [],
      methods: {},
    });
  });

  it("Ex. 13 session modes", () => {
    expect(ok(`<iq type='set' id='pref4'>
  <pref xmlns='urn:xmpp:archive'>
    <session thread='ffd7076498744578d10edabfe7f4a866' save='body' otr='concede'/>
  </pref>
</iq>`)).toEqual({
      op: "pref-set",
      items: [],
      sessions: [{ thread: "ffd7076498744578d10edabfe7f4a866", save: "body", otr: "concede" }],
      methods: {},
    });
  });

  it("Ex. 18 method preferences", () => {
    expect(ok(`<iq type='set' id='pref5'>
  <pref xmlns='urn:xmpp:archive'>
    <method type='auto' use='concede'/>
    <method type='local' use='forbid'/>
    <method type='manual' use='prefer'/>
  </pref>
</iq>`)).toEqual({
      op: "pref-set",
      items: [],
      sessions: [],
      methods: { auto: "concede", local: "forbid", manual: "prefer" },
    });
  });

  it("any mix, several items and sessions, partial methods", () => {
    const r = ok(
      set(`<default save='body' otr='concede' expire='31536000' unset='true'/>
           <item jid='Romeo@Montague.net/Orchard' exactmatch='1' save='false' otr='require'/>
           <item jid='montague.net' exactmatch='false'/>
           <session thread='t1' save='false' timeout='99'/>
           <session thread='t2' save='message'/>
           <method type='local' use='prefer'/>`),
    );
    expect(r).toEqual({
      op: "pref-set",
      default: { save: "body", otr: "concede", expire: 31536000 },
      items: [
        { jid: "romeo@montague.net/Orchard", exactmatch: true, save: "false", otr: "require" },
        { jid: "montague.net", exactmatch: false },
      ],
      sessions: [
        { thread: "t1", save: "false" },
        { thread: "t2", save: "message" },
      ],
      methods: { local: "prefer" },
    });
    expect(requestedSaveModes(r)).toEqual(["body", "false", "false", "message"]);
  });

  it("auto inside pref (Gajim)", () => {
    expect(ok(set(`<auto save='1' scope='global'/>`))).toEqual({
      op: "pref-set",
      items: [],
      sessions: [],
      methods: {},
      auto: { save: true, scope: "global" },
    });
  });

  it("stream save mode parses (refused by the service)", () => {
    const r = ok(set(`<default save='stream' otr='concede'/>`));
    expect(requestedSaveModes(r)).toEqual(["stream"]);
  });
});

describe("pref set errors", () => {
  it.each([
    ["empty", ""],
    ["unknown archive child", `<foo/>`],
    ["foreign child (schema has no ##other)", `<x xmlns='urn:other'/>`],
    ["two defaults", `<default save='body' otr='concede'/><default save='body' otr='concede'/>`],
    ["two autos", `<auto save='true'/><auto save='false'/>`],
    ["default without otr", `<default save='body'/>`],
    ["default without save", `<default otr='concede'/>`],
    ["bad save", `<default save='all' otr='concede'/>`],
    ["bad otr", `<default save='body' otr='maybe'/>`],
    ["negative expire", `<default save='body' otr='concede' expire='-1'/>`],
    ["non-numeric expire", `<default save='body' otr='concede' expire='week'/>`],
    ["otr require with save", `<default save='body' otr='require'/>`],
    ["item otr require with save", `<item jid='a@b' save='message' otr='require'/>`],
    ["item without jid", `<item save='body' otr='concede'/>`],
    ["item bad exactmatch", `<item jid='a@b' exactmatch='yes'/>`],
    ["item bad save", `<item jid='a@b' save='some'/>`],
    ["session without thread", `<session save='body'/>`],
    ["session empty thread", `<session thread='' save='body'/>`],
    ["session without save", `<session thread='t'/>`],
    ["method without use", `<method type='auto'/>`],
    ["method bad type", `<method type='remote' use='prefer'/>`],
    ["method bad use", `<method type='auto' use='maybe'/>`],
    ["method twice", `<method type='auto' use='prefer'/><method type='auto' use='forbid'/>`],
    ["auto without save", `<auto/>`],
    ["auto bad scope", `<auto save='true' scope='forever'/>`],
  ])("%s → bad-request", (_name, inner) => {
    expect(err(set(inner))).toBe("bad-request/modify");
  });

  it("malformed item jid → jid-malformed", () => {
    expect(err(set(`<item jid='a@@b' save='body' otr='concede'/>`))).toBe("jid-malformed/modify");
    expect(err(set(`<item jid='' save='body' otr='concede'/>`))).toBe("jid-malformed/modify");
  });
});

describe("auto (Ex. 34, 36)", () => {
  it.each([
    [`<iq type='set' id='auto1'><auto save='true' xmlns='urn:xmpp:archive'/></iq>`, true, "stream"],
    [`<iq type='set' id='auto3'><auto save='false' xmlns='urn:xmpp:archive'/></iq>`, false, "stream"],
    [`<iq type='set'><auto save='1' xmlns='${A}'/></iq>`, true, "stream"],
    [`<iq type='set'><auto save=' 0 ' xmlns='${A}' scope='global'/></iq>`, false, "global"],
    [`<iq type='set'><auto save='true' scope='stream' xmlns='${A}'><x xmlns='urn:other'/></auto></iq>`, true, "stream"],
  ])("%s", (iq, save, scope) => {
    expect(ok(iq)).toEqual({ op: "auto", save, scope });
  });

  it.each([
    `<iq type='set'><auto xmlns='${A}'/></iq>`,
    `<iq type='set'><auto save='yes' xmlns='${A}'/></iq>`,
    `<iq type='set'><auto save='TRUE' xmlns='${A}'/></iq>`,
    `<iq type='set'><auto save='' xmlns='${A}'/></iq>`,
    `<iq type='set'><auto save='true' scope='session' xmlns='${A}'/></iq>`,
    `<iq type='set'><auto save='true' xmlns='${A}'><default/></auto></iq>`,
    `<iq type='get'><auto save='true' xmlns='${A}'/></iq>`,
  ])("rejects %s", (iq) => {
    expect(err(iq)).toBe("bad-request/modify");
  });
});

describe("itemremove (Ex. 11) and sessionremove (Ex. 16)", () => {
  it("Ex. 11", () => {
    expect(ok(`<iq type='set' id='remove1'>
  <itemremove xmlns='urn:xmpp:archive'>
    <item jid='benvolio@montague.net'/>
  </itemremove>
</iq>`)).toEqual({ op: "itemremove", items: [{ jid: "benvolio@montague.net", exactmatch: false }] });
  });
  it("several items", () => {
    expect(ok(`<iq type='set'><itemremove xmlns='${A}'><item jid='A@B.c'/><item jid='b.c' exactmatch='true'/></itemremove></iq>`)).toEqual({
      op: "itemremove",
      items: [
        { jid: "a@b.c", exactmatch: false },
        { jid: "b.c", exactmatch: true },
      ],
    });
  });
  it("Ex. 16", () => {
    expect(ok(`<iq type='set' id='remove2'>
  <sessionremove xmlns='urn:xmpp:archive'>
    <session thread='ffd7076498744578d10edabfe7f4a866'/>
  </sessionremove>
</iq>`)).toEqual({ op: "sessionremove", threads: ["ffd7076498744578d10edabfe7f4a866"] });
  });
  it.each([
    [`<itemremove xmlns='${A}'/>`, "bad-request/modify"],
    [`<itemremove xmlns='${A}'><item/></itemremove>`, "bad-request/modify"],
    [`<itemremove xmlns='${A}'><item jid='x@'/></itemremove>`, "jid-malformed/modify"],
    [`<itemremove xmlns='${A}'><session thread='t'/></itemremove>`, "bad-request/modify"],
    [`<itemremove xmlns='${A}'><item jid='a@b'/><x xmlns='urn:o'/></itemremove>`, "bad-request/modify"],
    [`<sessionremove xmlns='${A}'/>`, "bad-request/modify"],
    [`<sessionremove xmlns='${A}'><session/></sessionremove>`, "bad-request/modify"],
    [`<sessionremove xmlns='${A}'><item jid='a@b'/></sessionremove>`, "bad-request/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='set'>${payload}</iq>`)).toBe(cond);
  });
});

describe("IQ type and dispatch (D14, D1)", () => {
  it.each([
    ["set", "list"],
    ["set", "retrieve"],
    ["set", "modified"],
    ["get", "auto"],
    ["get", "itemremove"],
    ["get", "sessionremove"],
    ["get", "save"],
    ["get", "remove"],
  ])("%s <%s/> → bad-request", (type, name) => {
    expect(err(`<iq type='${type}'><${name} xmlns='${A}'/></iq>`)).toBe("bad-request/modify");
  });
  it("unknown element or namespace → service-unavailable", () => {
    expect(err(`<iq type='get'><chat xmlns='${A}'/></iq>`)).toBe("service-unavailable/cancel");
    expect(err(`<iq type='get'><toString xmlns='${A}'/></iq>`)).toBe("service-unavailable/cancel");
    expect(err(`<iq type='get'><pref xmlns='http://www.xmpp.org/extensions/xep-0136.html#ns'/></iq>`)).toBe(
      "service-unavailable/cancel",
    );
    expect(err(`<iq type='get'><list xmlns='urn:xmpp:tmp:archive'/></iq>`)).toBe("service-unavailable/cancel");
  });
  it("prefixed archive payloads are recognized by namespace", () => {
    expect(ok(`<iq type='get'><a:pref xmlns:a='${A}'/></iq>`)).toEqual({ op: "pref-get" });
  });
});
