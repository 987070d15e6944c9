import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { replyIq, routeIq } from "../../../src/xmpp/iq-envelope.ts";

const domains = new Set(["example.test", "other.test"]);
const COMP = "archive.example.test";
const pref = () => xml("pref", { xmlns: "urn:xmpp:archive" });

function delegated(outerFrom: string, inner: Record<string, string>, payload = pref()) {
  return xml(
    "iq",
    { type: "set", from: outerFrom, to: COMP, id: "outer" },
    xml(
      "delegation",
      { xmlns: "urn:xmpp:delegation:2" },
      xml("forwarded", { xmlns: "urn:xmpp:forward:0" }, xml("iq", { xmlns: "jabber:client", type: "get", id: "inner", ...inner }, payload)),
    ),
  );
}

describe("routeIq: whose archive a request may touch", () => {
  it("serves a delegated request without `to` as the sender's own archive", () => {
    const r = routeIq(delegated("example.test", { from: "Alice@Example.test/phone" }), domains, COMP);
    expect(r.kind).toBe("archive");
    if (r.kind === "archive") {
      expect(r.iq.owner).toBe("alice@example.test");
      expect(r.iq.requester).toBe("alice@example.test/phone");
    }
  });

  it.each([
    ["own bare JID", "alice@example.test", "archive"],
    ["own server", "example.test", "archive"],
    ["another user's bare JID", "bob@example.test", "refuse"],
    ["another domain", "other.test", "refuse"],
    ["another user's full JID", "bob@example.test/x", "refuse"],
  ])("with `to` set to %s", (_name, to, kind) => {
    const r = routeIq(delegated("example.test", { from: "alice@example.test/phone", to }), domains, COMP);
    expect(r.kind).toBe(kind);
    if (r.kind === "refuse") expect(r.error.condition).toBe("forbidden");
  });

  it("refuses a delegation wrapper not sent by a served domain", () => {
    const r = routeIq(delegated("evil.test", { from: "alice@example.test/phone" }), domains, COMP);
    expect(r.kind).toBe("refuse");
  });

  it("refuses a delegation wrapper sent by a user", () => {
    const r = routeIq(delegated("mallory@example.test/x", { from: "alice@example.test/phone" }), domains, COMP);
    expect(r.kind).toBe("refuse");
  });

  it("refuses a wrapper whose inner sender belongs to another domain than the wrapping server", () => {
    const r = routeIq(delegated("other.test", { from: "alice@example.test/phone" }), domains, COMP);
    expect(r.kind).toBe("refuse");
  });

  it("serves a direct request from a user of a served domain as that user's archive", () => {
    const r = routeIq(xml("iq", { type: "get", from: "bob@other.test/r", to: COMP, id: "1" }, pref()), domains, COMP);
    expect(r.kind === "archive" && r.iq.owner).toBe("bob@other.test");
  });

  it("refuses users of domains it does not serve", () => {
    const r = routeIq(xml("iq", { type: "get", from: "eve@remote.test/r", to: COMP, id: "1" }, pref()), domains, COMP);
    expect(r.kind).toBe("refuse");
  });

  it("answers a foreign payload namespace with service-unavailable through delegation", () => {
    const r = routeIq(delegated("example.test", { from: "alice@example.test/p" }, xml("query", { xmlns: "jabber:iq:roster" })), domains, COMP);
    expect(r.kind === "refuse" && r.error.condition).toBe("service-unavailable");
  });

  it("rejects an IQ with two payloads", () => {
    const r = routeIq(xml("iq", { type: "get", from: "bob@other.test/r", to: COMP, id: "1" }, pref(), pref()), domains, COMP);
    expect(r.kind === "refuse" && r.error.condition).toBe("bad-request");
  });

  it("ignores results and errors", () => {
    expect(routeIq(xml("iq", { type: "result", from: "example.test", id: "1" }), domains, COMP).kind).toBe("ignore");
  });
});

describe("replyIq", () => {
  it("wraps a delegated answer with an explicit jabber:client inner IQ addressed to the requester", () => {
    const r = routeIq(delegated("example.test", { from: "alice@example.test/phone" }), domains, COMP);
    if (r.kind !== "archive") throw new Error("expected archive");
    const out = replyIq(r.iq.envelope, COMP, { payload: xml("pref", { xmlns: "urn:xmpp:archive" }) });
    expect(out.attrs).toMatchObject({ type: "result", to: "example.test", id: "outer", from: COMP });
    const inner = out.getChild("delegation")!.getChild("forwarded")!.getChild("iq")!;
    expect(inner.attrs).toMatchObject({ xmlns: "jabber:client", type: "result", id: "inner", to: "alice@example.test/phone", from: "alice@example.test" });
  });

  it.each([
    ["the user's bare JID", "Alice@example.test", "alice@example.test"],
    ["the server", "example.test", "example.test"],
    ["another user (refused)", "bob@example.test", "bob@example.test"],
  ])("answers a request addressed to %s from that address", (_n, to, from) => {
    const r = routeIq(delegated("example.test", { from: "alice@example.test/phone", to }), domains, COMP);
    if (r.kind !== "archive" && r.kind !== "refuse") throw new Error("expected an answer");
    const env = r.kind === "archive" ? r.iq.envelope : r.envelope;
    const out = replyIq(env, COMP, r.kind === "archive" ? { payload: pref() } : { error: r.error });
    const inner = out.getChild("delegation")!.getChild("forwarded")!.getChild("iq")!;
    expect(inner.attrs).toMatchObject({ to: "alice@example.test/phone", from });
  });

  it("puts the error inside the delegated answer, the outer IQ staying a result", () => {
    const r = routeIq(delegated("example.test", { from: "alice@example.test/phone", to: "bob@example.test" }), domains, COMP);
    if (r.kind !== "refuse") throw new Error("expected refuse");
    const out = replyIq(r.envelope, COMP, { error: r.error });
    expect(out.attrs.type).toBe("result");
    const inner = out.getChild("delegation")!.getChild("forwarded")!.getChild("iq")!;
    expect(inner.attrs.type).toBe("error");
    expect(inner.getChild("error")!.getChild("forbidden")).toBeDefined();
  });
});
