import { describe, expect, it } from "vitest";
import { err, ok, t } from "./helpers.ts";

const A = "urn:xmpp:archive";
const R = "http://jabber.org/protocol/rsm";

describe("list (Ex. 38–42)", () => {
  it("Ex. 38", () => {
    expect(ok(`<iq type='get' id='juliet1'>
  <list xmlns='urn:xmpp:archive'
        with='juliet@capulet.com'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>30</max>
    </set>
  </list>
</iq>`)).toEqual({ op: "list", with: "juliet@capulet.com", exactmatch: false, rsm: { max: 30 } });
  });
  it("Ex. 39", () => {
    expect(ok(`<iq type='get' id='period1'>
  <list xmlns='urn:xmpp:archive'
        with='juliet@capulet.com'
        start='1469-07-21T02:00:00Z'
        end='1479-07-21T04:00:00Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>30</max>
    </set>
  </list>
</iq>`)).toEqual({
      op: "list",
      with: "juliet@capulet.com",
      exactmatch: false,
      start: t("1469-07-21T02:00:00Z"),
      end: t("1479-07-21T04:00:00Z"),
      rsm: { max: 30 },
    });
  });
  it("Ex. 40", () => {
    expect(ok(`<iq type='get' id='list1'>
  <list xmlns='urn:xmpp:archive'
        start='1469-07-21T02:00:00Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>30</max>
    </set>
  </list>
</iq>`)).toEqual({ op: "list", exactmatch: false, start: t("1469-07-21T02:00:00Z"), rsm: { max: 30 } });
  });
  it("Ex. 42", () => {
    expect(ok(`<iq type='get' id='list2'>
  <list xmlns='urn:xmpp:archive'
        start='1469-07-21T02:00:00Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>30</max>
      <after>1469-07-21T03:16:37Zbalcony@house.capulet.com</after>
    </set>
  </list>
</iq>`)).toEqual({
      op: "list",
      exactmatch: false,
      start: t("1469-07-21T02:00:00Z"),
      rsm: { max: 30, after: "1469-07-21T03:16:37Zbalcony@house.capulet.com" },
    });
  });
  it("no set, exactmatch, fractional bounds kept exact, foreign children ignored", () => {
    expect(
      ok(`<iq type='get'><list xmlns='${A}' with='Capulet.com' exactmatch='1' start='2020-01-01T00:00:00.500Z'><x xmlns='urn:o'/></list></iq>`),
    ).toEqual({ op: "list", with: "capulet.com", exactmatch: true, start: t("2020-01-01T00:00:00.500Z"), rsm: {} });
  });
  it.each([
    [`<list xmlns='${A}' with='a@@b'/>`, "jid-malformed/modify"],
    [`<list xmlns='${A}' start='2020-01-01'/>`, "bad-request/modify"],
    [`<list xmlns='${A}' end='x'/>`, "bad-request/modify"],
    [`<list xmlns='${A}' exactmatch='yes'/>`, "bad-request/modify"],
    [`<list xmlns='${A}'><chat with='a@b' start='2020-01-01T00:00:00Z'/></list>`, "bad-request/modify"],
    [`<list xmlns='${A}'><set xmlns='${R}'><max>-1</max></set></list>`, "bad-request/modify"],
    [`<list xmlns='${A}'><set xmlns='${R}'/><set xmlns='${R}'/></list>`, "bad-request/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='get'>${payload}</iq>`)).toBe(cond);
  });
});

describe("retrieve (Ex. 43, 47)", () => {
  it("Ex. 43", () => {
    expect(ok(`<iq type='get' id='page1'>
  <retrieve xmlns='urn:xmpp:archive'
            with='juliet@capulet.com/chamber'
            start='1469-07-21T02:56:15Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>100</max>
    </set>
  </retrieve>
</iq>`)).toEqual({ op: "retrieve", with: "juliet@capulet.com/chamber", start: t("1469-07-21T02:56:15Z"), rsm: { max: 100 } });
  });
  it("Ex. 47", () => {
    expect(ok(`<iq type='get' id='page2'>
  <retrieve xmlns='urn:xmpp:archive'
            with='juliet@capulet.com/chamber'
            start='1469-07-21T02:56:15Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>100</max>
      <after>99</after>
    </set>
  </retrieve>
</iq>`)).toEqual({
      op: "retrieve",
      with: "juliet@capulet.com/chamber",
      start: t("1469-07-21T02:56:15Z"),
      rsm: { max: 100, after: "99" },
    });
  });
  it("ignores exactmatch (Gajim sends it), floors start, accepts offsets and empty before", () => {
    expect(
      ok(`<iq type='get'><retrieve xmlns='${A}' exactmatch='maybe' with='a@b' start='1469-07-21T03:56:15.123+01:00'><set xmlns='${R}'><max>10</max><before/></set></retrieve></iq>`),
    ).toEqual({ op: "retrieve", with: "a@b", start: t("1469-07-21T02:56:15Z"), rsm: { max: 10, before: "" } });
  });
  it.each([
    [`<retrieve xmlns='${A}' start='2020-01-01T00:00:00Z'/>`, "bad-request/modify"],
    [`<retrieve xmlns='${A}' with='a@b'/>`, "bad-request/modify"],
    [`<retrieve xmlns='${A}' with='a@b' start='2020-01-01T00:00:00'/>`, "bad-request/modify"],
    [`<retrieve xmlns='${A}' with='a@' start='2020-01-01T00:00:00Z'/>`, "jid-malformed/modify"],
    [`<retrieve xmlns='${A}' with='a@b' start='2020-01-01T00:00:00Z'><note/></retrieve>`, "bad-request/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='get'>${payload}</iq>`)).toBe(cond);
  });
});

describe("remove (Ex. 48–54)", () => {
  it.each([
    [
      "Ex. 48 single",
      `<remove xmlns='urn:xmpp:archive' with='juliet@capulet.com/chamber' start='1469-07-21T02:56:15Z'/>`,
      { with: "juliet@capulet.com/chamber", start: t("1469-07-21T02:56:15Z") },
    ],
    [
      "Ex. 49 range with bare JID",
      `<remove xmlns='urn:xmpp:archive' with='juliet@capulet.com' start='1469-07-21T02:00:00Z' end='1469-07-21T04:00:00Z'/>`,
      { with: "juliet@capulet.com", start: t("1469-07-21T02:00:00Z"), end: t("1469-07-21T04:00:00Z") },
    ],
    [
      "Ex. 50 after a date",
      `<remove xmlns='urn:xmpp:archive' start='1469-07-21T02:00:00Z' end='2038-01-01T00:00:00Z'/>`,
      { start: t("1469-07-21T02:00:00Z"), end: t("2038-01-01T00:00:00Z") },
    ],
    [
      "Ex. 51 before a date (year 0000)",
      `<remove xmlns='urn:xmpp:archive' start='0000-01-01T00:00:00Z' end='1469-07-21T04:00:00Z'/>`,
      { start: t("0000-01-01T00:00:00Z"), end: t("1469-07-21T04:00:00Z") },
    ],
    ["Ex. 52 all", `<remove xmlns='urn:xmpp:archive'/>`, {}],
    [
      "Ex. 53 open with JID",
      `<remove xmlns='urn:xmpp:archive' with='juliet@capulet.com/chamber' open='true'/>`,
      { with: "juliet@capulet.com/chamber", open: true },
    ],
    ["Ex. 54 all open", `<remove xmlns='urn:xmpp:archive' open='true'/>`, { open: true }],
    ["exactmatch", `<remove xmlns='urn:xmpp:archive' with='capulet.com' exactmatch='1' open='0'/>`, { with: "capulet.com", exactmatch: true }],
    [
      "single mode floors start",
      `<remove xmlns='urn:xmpp:archive' with='a@b' start='1469-07-21T02:56:15.600Z'/>`,
      { with: "a@b", start: t("1469-07-21T02:56:15Z") },
    ],
    [
      "range mode keeps start exact",
      `<remove xmlns='urn:xmpp:archive' start='1469-07-21T02:56:15.600Z'/>`,
      { start: t("1469-07-21T02:56:15.600Z") },
    ],
  ])("%s", (_name, payload, expected) => {
    expect(ok(`<iq type='set'>${payload}</iq>`)).toEqual({ op: "remove", exactmatch: false, open: false, ...expected });
  });

  it.each([
    [`<remove xmlns='${A}' with=''/>`, "jid-malformed/modify"],
    [`<remove xmlns='${A}' start='today'/>`, "bad-request/modify"],
    [`<remove xmlns='${A}' open='yes'/>`, "bad-request/modify"],
    [`<remove xmlns='${A}' exactmatch='2'/>`, "bad-request/modify"],
    [`<remove xmlns='${A}'><x xmlns='urn:o'/></remove>`, "bad-request/modify"],
    [`<remove xmlns='${A}'><chat/></remove>`, "bad-request/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='set'>${payload}</iq>`)).toBe(cond);
  });
});

describe("modified (Ex. 56, 58)", () => {
  it("Ex. 56", () => {
    expect(ok(`<iq type='get' id='sync1'>
  <modified xmlns='urn:xmpp:archive'
            start='1469-07-21T01:14:47Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <max>50</max>
    </set>
  </modified>
</iq>`)).toEqual({ op: "modified", start: t("1469-07-21T01:14:47Z"), rsm: { max: 50 } });
  });
  it("Ex. 58", () => {
    expect(ok(`<iq type='get' id='sync2'>
  <modified xmlns='urn:xmpp:archive'
            start='1469-07-21T01:14:47Z'>
    <set xmlns='http://jabber.org/protocol/rsm'>
      <after>ja923ljasnvla09woei777</after>
      <max>50</max>
    </set>
  </modified>
</iq>`)).toEqual({ op: "modified", start: t("1469-07-21T01:14:47Z"), rsm: { after: "ja923ljasnvla09woei777", max: 50 } });
  });
  it("keeps millisecond start; 1970 epoch", () => {
    expect(ok(`<iq type='get'><modified xmlns='${A}' start='1970-01-01T00:00:00.250Z'/></iq>`)).toEqual({
      op: "modified",
      start: 250,
      rsm: {},
    });
  });
  it.each([
    [`<modified xmlns='${A}'/>`, "bad-request/modify"],
    [`<modified xmlns='${A}' start='1970'/>`, "bad-request/modify"],
    [`<modified xmlns='${A}' start='1970-01-01T00:00:00Z'><changed/></modified>`, "bad-request/modify"],
  ])("%s → %s", (payload, cond) => {
    expect(err(`<iq type='get'>${payload}</iq>`)).toBe(cond);
  });
});
