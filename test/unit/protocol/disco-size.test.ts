import { describe, expect, it } from "vitest";
import { Element } from "@xmpp/xml";
import {
  ARCHIVE_FEATURES,
  renderComponentDiscoInfo,
  renderDelegatedDiscoInfo,
  renderDiscoInfo,
} from "../../../src/protocol/disco.ts";
import { byteLength, fitToBudget } from "../../../src/protocol/size.ts";
import { renderChatItem } from "../../../src/protocol/render.ts";
import type { TimedItem } from "../../../src/archive/model.ts";

const D = "http://jabber.org/protocol/disco#info";

describe("disco", () => {
  it("features of Ex. 60 plus RSM", () => {
    expect(ARCHIVE_FEATURES).toEqual([
      "urn:xmpp:archive",
      "urn:xmpp:archive:auto",
      "urn:xmpp:archive:manage",
      "urn:xmpp:archive:manual",
      "urn:xmpp:archive:pref",
      "http://jabber.org/protocol/rsm",
    ]);
  });
  it("component disco#info", () => {
    const q = renderComponentDiscoInfo();
    expect(q.attrs).toEqual({ xmlns: D });
    expect(q.getChild("identity")?.attrs).toMatchObject({ category: "component", type: "archive" });
    expect(q.getChildren("feature").map((f) => f.attrs.var)).toEqual([D, ...ARCHIVE_FEATURES]);
  });
  it("delegation answer echoes the node", () => {
    const node = "urn:xmpp:delegation:2::urn:xmpp:archive";
    const q = renderDelegatedDiscoInfo(node);
    expect(q.attrs).toEqual({ xmlns: D, node });
    expect(q.getChild("identity")).toBeUndefined();
    expect(q.getChildren("feature").map((f) => f.attrs.var)).toEqual([...ARCHIVE_FEATURES]);
  });
  it("bare renderer", () => {
    expect(renderDiscoInfo().toString()).toBe(`<query xmlns="${D}"/>`);
  });
});

describe("size", () => {
  it("counts UTF-8 bytes of the serialization", () => {
    expect(byteLength("abc")).toBe(3);
    expect(byteLength("😀")).toBe(4);
    expect(byteLength(new Element("b").t("é&"))).toBe(`<b>é&amp;</b>`.length + 1);
  });
  it("fitToBudget takes leading items while they fit", () => {
    const items: TimedItem[] = Array.from({ length: 10 }, (_, i) => ({
      kind: "to",
      at: 0,
      secs: i,
      payload: `<body>${"x".repeat(10)}</body>`,
    }));
    const one = byteLength(renderChatItem(items[0] as TimedItem));
    expect(fitToBudget(items, renderChatItem, one * 3)).toBe(3);
    expect(fitToBudget(items, renderChatItem, one * 3 - 1)).toBe(2);
    expect(fitToBudget(items, renderChatItem, one - 1)).toBe(0);
    expect(fitToBudget(items, renderChatItem, 1e9)).toBe(10);
    expect(fitToBudget([], renderChatItem, 0)).toBe(0);
  });
});
