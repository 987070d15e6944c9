// Shrunk counterexamples the fuzz properties found, kept as plain tests.
import { describe, expect, it } from "vitest";
import { Element } from "@xmpp/xml";
import type { CollectionMeta, TimedItem } from "../../../src/archive/model.ts";
import { renderPref } from "../../../src/protocol/render-pref.ts";
import { renderChat, renderChatItem, renderSaveResult } from "../../../src/protocol/render.ts";
import { readFeedMessage } from "../../../src/xmpp/feed.ts";
import { assertWellFormed } from "./xml-check.ts";

const META: CollectionMeta = { with: "juliet@capulet.com", start: 1_700_000_000_000, version: 0, count: 1 };
const item = (payload: string, kind: TimedItem["kind"] = "to"): TimedItem => ({ kind, at: META.start, payload, secs: 0 });
const sendable = (el: Element): string => {
  const s = el.toString();
  assertWellFormed(s, "urn:xmpp:archive");
  return s;
};

describe("renderers never emit XML the server refuses", () => {
  it("a stored payload that is a lone surrogate", () => {
    expect(sendable(renderChatItem(item("\ud800")))).toBe('<to secs="0">\ufffd</to>');
  });

  it("control characters in stored text, attributes and notes", () => {
    expect(sendable(renderChatItem(item("<body>\u0001</body>")))).toBe('<to secs="0"><body>\ufffd</body></to>');
    expect(sendable(renderChatItem({ ...item("x"), name: "\u0000" }))).toContain('name="\ufffd"');
    expect(sendable(renderChatItem(item("a\u0008b", "note")))).toContain(">a\ufffdb</note>");
    expect(sendable(renderSaveResult({ ...META, subject: "\u0000" }))).toContain('subject="\ufffd"');
  });

  it("stored content with an undeclared prefix or a name XML does not allow is shown as text", () => {
    expect(sendable(renderChatItem(item("<a:b/>")))).toBe('<to secs="0"><body>&lt;a:b/&gt;</body></to>');
    expect(sendable(renderChatItem(item('<a"b/>')))).toBe('<to secs="0"><body>&lt;a"b/&gt;</body></to>');
    expect(sendable(renderChatItem(item("<x xmlns:p=''><p:y/></x>")))).toContain("<body>");
    // What the service itself stores is kept as it was.
    const own = "<html xmlns='http://jabber.org/protocol/xhtml-im'><p:b xmlns:p='urn:p' xml:lang='en'>x</p:b></html>";
    expect(sendable(renderChatItem(item(own)))).toBe(
      '<to secs="0"><html xmlns="http://jabber.org/protocol/xhtml-im"><p:b xmlns:p="urn:p" xml:lang="en">x</p:b></html></to>',
    );
  });

  it("a corrupt stored form is left out", () => {
    const chat = renderChat({ ...META, form: "<p:x/>" }, { items: [], count: 0 }, true);
    expect(sendable(chat)).not.toContain("p:x");
    const good = renderChat({ ...META, form: "<x xmlns='jabber:x:data' type='form'/>" }, { items: [], count: 0 }, true);
    expect(sendable(good)).toContain('<x xmlns="jabber:x:data" type="form"/>');
  });

  it("a session thread with a control character", () => {
    const pref = renderPref({
      prefs: { items: [], sessions: [{ thread: "t\u0000", save: "body" }], methods: {} },
      auto: true,
      defaults: { save: "body", otr: "concede", methods: { auto: "prefer", local: "concede", manual: "concede" } },
    });
    expect(sendable(pref)).toContain('thread="t\ufffd"');
  });
});

describe("feed copies are numbered only as the server module numbers them", () => {
  const copy = (seq: string): Element => {
    const el = new Element("message", { from: "example.test" });
    el.c("copy", { xmlns: "urn:x-archive-cluster:feed:0", feed: "F", seq, direction: "sent", owner: "alice@example.test" });
    const fwd = el.c("forwarded", { xmlns: "urn:xmpp:forward:0" });
    fwd.c("delay", { xmlns: "urn:xmpp:delay", stamp: "2024-01-01T00:00:00Z" });
    fwd.c("message", { xmlns: "jabber:client", from: "alice@example.test/r", to: "bob@x.org" }).c("body").t("hi");
    return el;
  };

  it.each(["", " 7", "1e3", "0x10", "+3", "007", "1.0", "9007199254740993"])("refuses seq=%j", (seq) => {
    expect(readFeedMessage(copy(seq), "example.test")).toEqual({ kind: "invalid", reason: "numbering" });
  });

  it("accepts the module's decimal form", () => {
    expect(readFeedMessage(copy("0"), "example.test")).toMatchObject({ kind: "copy", seq: 0, copy: { id: "F:0" } });
    expect(readFeedMessage(copy("9007199254740991"), "example.test")).toMatchObject({ kind: "copy", seq: 9007199254740991 });
  });
});
