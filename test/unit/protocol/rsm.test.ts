import { describe, expect, it } from "vitest";
import { parseRsm, readRsmIn, renderSet } from "../../../src/protocol/rsm.ts";
import { ProtocolError } from "../../../src/protocol/errors.ts";
import { canon, x } from "./helpers.ts";

const R = "http://jabber.org/protocol/rsm";
const set = (inner: string) => parseRsm(x(`<set xmlns='${R}'>${inner}</set>`));

describe("parseRsm", () => {
  it.each([
    ["", {}],
    ["<max>30</max>", { max: 30 }],
    ["<max> 30 </max>", { max: 30 }],
    ["<max>+7</max>", { max: 7 }],
    ["<max>0</max>", { max: 0 }],
    ["<max>2147483647</max>", { max: 2147483647 }],
    ["<max>100</max><after>99</after>", { max: 100, after: "99" }],
    ["<after>1469-07-21T03:16:37Zbalcony@house.capulet.com</after>", { after: "1469-07-21T03:16:37Zbalcony@house.capulet.com" }],
    ["<after> spaced </after>", { after: " spaced " }],
    ["<before/>", { before: "" }],
    ["<max>10</max><before></before>", { max: 10, before: "" }],
    ["<before>abc</before>", { before: "abc" }],
    ["<index>0</index><max>5</max>", { index: 0, max: 5 }],
    ["<count>5</count><first>a</first><last>b</last><max>1</max>", { max: 1 }],
    ["<foo/><max>3</max>", { max: 3 }],
    ["<max xmlns='urn:other'>x</max><max>3</max>", { max: 3 }],
    ["<after>a</after><before>b</before>", { after: "a", before: "b" }],
  ])("%s", (inner, expected) => {
    expect(set(inner)).toEqual({ ok: true, value: expected });
  });

  it.each([
    "<max>-1</max>",
    "<max>abc</max>",
    "<max></max>",
    "<max/>",
    "<max>1.5</max>",
    "<max>1e3</max>",
    "<max>2147483648</max>",
    "<max>99999999999999999999</max>",
    "<index>-3</index>",
    "<index>x</index>",
    "<after/>",
    "<after></after>",
    "<max>1</max><max>2</max>",
    "<after>a</after><after>b</after>",
    "<before/><before/>",
    "<index>1</index><index>1</index>",
  ])("rejects %s", (inner) => {
    const r = set(inner);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ condition: "bad-request", type: "modify" });
  });

  it("readRsmIn finds the set among siblings, rejects two", () => {
    expect(readRsmIn(x(`<list xmlns='urn:xmpp:archive'><other xmlns='urn:x'/><set xmlns='${R}'><max>2</max></set></list>`))).toEqual({ max: 2 });
    expect(readRsmIn(x(`<list xmlns='urn:xmpp:archive'/>`))).toEqual({});
    expect(readRsmIn(x(`<list xmlns='urn:xmpp:archive'><set><max>2</max></set></list>`))).toEqual({});
    expect(() => readRsmIn(x(`<list xmlns='urn:xmpp:archive'><set xmlns='${R}'/><set xmlns='${R}'/></list>`))).toThrow(ProtocolError);
  });
});

describe("renderSet", () => {
  it("full page", () => {
    const el = renderSet({ items: [1, 2], first: "0", last: "99", firstIndex: 0, count: 217 });
    expect(canon(el)).toBe(canon(`<set xmlns='${R}'><first index='0'>0</first><last>99</last><count>217</count></set>`));
  });
  it("without index", () => {
    const el = renderSet({ items: [1], first: "a", last: "a", count: 1 });
    expect(el.toString()).toBe(`<set xmlns="${R}"><first>a</first><last>a</last><count>1</count></set>`);
  });
  it("empty page keeps only count (XEP-0059 Ex. 7, max=0)", () => {
    expect(renderSet({ items: [], count: 1372 }).toString()).toBe(`<set xmlns="${R}"><count>1372</count></set>`);
    expect(renderSet({ items: [], first: "x", last: "y", count: 3 }).toString()).toBe(`<set xmlns="${R}"><count>3</count></set>`);
  });
  it("escapes opaque UIDs", () => {
    expect(renderSet({ items: [1], first: "a<&>", last: "b", count: 1 }).toString()).toContain("<first>a&lt;&amp;&gt;</first>");
  });
});
