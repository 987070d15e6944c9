import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { FeedAckTracker } from "../../../src/xmpp/feed-acks.ts";
import { readFeedMessage } from "../../../src/xmpp/feed.ts";

function copy(attrs: Record<string, string>, inner: Record<string, string>, stamp = "2026-11-25T01:02:03.456Z") {
  return xml(
    "message",
    { from: "example.test", to: "archive.example.test" },
    xml("copy", { xmlns: "urn:x-archive-cluster:feed:0", feed: "F", seq: "7", ...attrs }),
    xml(
      "forwarded",
      { xmlns: "urn:xmpp:forward:0" },
      xml("delay", { xmlns: "urn:xmpp:delay", stamp }),
      xml("message", { xmlns: "jabber:client", type: "chat", ...inner }, xml("body", {}, "hi")),
    ),
  );
}

describe("readFeedMessage", () => {
  it("reads a sent copy for its owner", () => {
    const r = readFeedMessage(copy({ direction: "sent", owner: "alice@example.test" }, { from: "alice@example.test/p", to: "bob@x.org" }), "example.test");
    expect(r).toMatchObject({ kind: "copy", feed: "F", seq: 7, copy: { id: "F:7", owner: "alice@example.test", direction: "sent", at: Date.parse("2026-11-25T01:02:03.456Z") } });
  });

  it.each([
    ["a copy whose owner is not the sender", { direction: "sent", owner: "alice@example.test" }, { from: "bob@example.test/p", to: "alice@example.test" }, "addresses"],
    ["a received copy whose recipient is someone else", { direction: "received", owner: "alice@example.test" }, { from: "bob@x.org/p", to: "carol@example.test" }, "addresses"],
    ["a received copy whose owner is the sender", { direction: "received", owner: "alice@example.test" }, { from: "alice@example.test/p", to: "bob@x.org" }, "addresses"],
    ["a copy of a message between two other users", { direction: "sent", owner: "alice@example.test" }, { from: "bob@example.test/p", to: "carol@example.test" }, "addresses"],
    ["a copy whose message has no recipient", { direction: "sent", owner: "alice@example.test" }, { from: "alice@example.test/p" }, "addresses"],
    ["an owner of another domain", { direction: "sent", owner: "alice@other.test" }, { from: "alice@other.test/p", to: "bob@x.org" }, "owner"],
    ["a full JID as owner", { direction: "sent", owner: "alice@example.test/p" }, { from: "alice@example.test/p", to: "bob@x.org" }, "owner"],
    ["an unknown direction", { direction: "sideways", owner: "alice@example.test" }, { from: "alice@example.test/p", to: "bob@x.org" }, "direction"],
    ["a negative seq", { direction: "sent", owner: "alice@example.test", seq: "-1" }, { from: "alice@example.test/p", to: "bob@x.org" }, "numbering"],
  ])("refuses %s", (_n, attrs, inner, reason) => {
    const r = readFeedMessage(copy(attrs, inner), "example.test");
    expect(r).toEqual({ kind: "invalid", reason });
  });

  it("refuses a copy without a usable timestamp", () => {
    const r = readFeedMessage(copy({ direction: "sent", owner: "alice@example.test" }, { from: "alice@example.test/p", to: "b@x.org" }, "noon"), "example.test");
    expect(r).toEqual({ kind: "invalid", reason: "timestamp" });
  });

  it("carries the body payload, and every child only when that differs from it", () => {
    const wrap = (...children: ReturnType<typeof xml>[]) =>
      xml(
        "message",
        { from: "example.test", to: "archive.example.test" },
        xml("copy", { xmlns: "urn:x-archive-cluster:feed:0", feed: "F", seq: "7", direction: "sent", owner: "alice@example.test" }),
        xml(
          "forwarded",
          { xmlns: "urn:xmpp:forward:0" },
          xml("delay", { xmlns: "urn:xmpp:delay", stamp: "2026-11-25T01:02:03Z" }),
          xml("message", { xmlns: "jabber:client", from: "alice@example.test/p", to: "bob@x.org" }, ...children),
        ),
      );
    const plain = readFeedMessage(wrap(xml("body", {}, "a<b")), "example.test");
    expect(plain).toMatchObject({ kind: "copy", copy: { body: "<body>a&lt;b</body>" } });
    expect(plain?.kind === "copy" && "whole" in plain.copy).toBe(false);
    expect(plain?.kind === "copy" && "stanza" in plain.copy).toBe(false);
    const rich = readFeedMessage(
      wrap(xml("body", { "xml:lang": "en" }, "hi"), xml("active", { xmlns: "http://jabber.org/protocol/chatstates" }), xml("body", { "xml:lang": "de" }, "hallo"), xml("thread", {}, "T")),
      "example.test",
    );
    expect(rich).toMatchObject({
      kind: "copy",
      copy: {
        thread: "T",
        body: '<body xml:lang="en">hi</body><body xml:lang="de">hallo</body>',
        whole: '<body xml:lang="en">hi</body><active xmlns="http://jabber.org/protocol/chatstates"/><body xml:lang="de">hallo</body><thread>T</thread>',
      },
    });
  });

  it("ignores messages that are not feed copies", () => {
    expect(readFeedMessage(xml("message", { from: "example.test" }, xml("body", {}, "x")), "example.test")).toBeUndefined();
  });
});

describe("FeedAckTracker", () => {
  it("acknowledges the highest seq below which every copy is durable", () => {
    const t = new FeedAckTracker();
    for (const s of [1, 2, 3, 4]) expect(t.arrived("F", s)).toBe("new");
    expect(t.arrived("F", 3)).toBe("inflight");
    expect(t.durable("F", [2, 3])).toBeUndefined();
    expect(t.durable("F", [1])).toBe(3);
    expect(t.durable("F", [4])).toBe(4);
    expect(t.arrived("F", 2)).toBe("acked");
  });

  it("holds the acknowledgement back for copies that could not be queued, and takes their resend", () => {
    const t = new FeedAckTracker();
    for (const s of [1, 2, 3]) t.arrived("F", s);
    t.failed("F", [2]);
    expect(t.durable("F", [1, 3])).toBe(1);
    expect(t.arrived("F", 2)).toBe("new");
    expect(t.durable("F", [2])).toBe(3);
  });

  it("keeps feeds apart and forgets pending copies on reset", () => {
    const t = new FeedAckTracker();
    t.arrived("A", 1);
    t.arrived("B", 1);
    expect(t.durable("A", [1])).toBe(1);
    t.reset();
    expect(t.arrived("B", 1)).toBe("new");
    expect(t.durable("B", [1])).toBe(1);
  });
});
