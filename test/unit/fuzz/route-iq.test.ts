import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Element } from "@xmpp/xml";
import { bareJid, prepJid } from "../../../src/protocol/jid.ts";
import { domainOf } from "../../../src/xmpp/feed.ts";
import { replyIq, routeIq, type IqRoute } from "../../../src/xmpp/iq-envelope.ts";
import type { StanzaError } from "../../../src/archive/model.ts";
import { anyText, jidValue, legalText, params, TIMEOUT_MS } from "./support.ts";
import { assertWellFormed, illegalChar } from "./xml-check.ts";

const DOMAINS = new Set(["example.test", "other.test"]);
const COMP = "archive.example.test";
const NS_DELEGATION = "urn:xmpp:delegation:2";
const NS_FORWARD = "urn:xmpp:forward:0";

const user = fc.constantFrom("alice", "Alice", "bob", "ALİCE", "mallory");
const served = fc.constantFrom("example.test", "other.test", "EXAMPLE.test", "example.test.");
const foreign = fc.constantFrom("evil.test", "example.test.evil", "test", "xample.test", COMP);
const resource = fc.option(fc.constantFrom("phone", "r/x", "Phone", " "), { nil: undefined });

const someJid: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(user, served, resource).map(([u, d, r]) => (r === undefined ? `${u}@${d}` : `${u}@${d}/${r}`)) },
  { weight: 2, arbitrary: fc.tuple(user, foreign, resource).map(([u, d, r]) => (r === undefined ? `${u}@${d}` : `${u}@${d}/${r}`)) },
  { weight: 2, arbitrary: fc.oneof(served, foreign) },
  { weight: 1, arbitrary: served.map((d) => `${d}/res`) },
  { weight: 2, arbitrary: jidValue },
);
const optJid = fc.option(someJid, { nil: undefined, freq: 4 });
const iqTypeAttr = fc.option(fc.constantFrom("get", "set", "get", "set", "result", "error", "GET", ""), { nil: undefined, freq: 8 });
const idAttr = fc.option(fc.oneof(legalText(6), fc.constant("")), { nil: undefined, freq: 8 });

const payloadEl: fc.Arbitrary<Element> = fc
  .tuple(
    fc.constantFrom("pref", "list", "query", "delegation"),
    fc.constantFrom("urn:xmpp:archive", "urn:xmpp:archive", "http://jabber.org/protocol/disco#info", "urn:other", ""),
  )
  .map(([n, ns]) => new Element(n, ns === "" ? {} : { xmlns: ns }));

function attrs(a: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
}

const innerIq = fc
  .record({
    from: optJid,
    to: fc.option(someJid, { nil: undefined, freq: 2 }),
    type: iqTypeAttr,
    id: idAttr,
    xmlns: fc.option(fc.constantFrom("jabber:client", "jabber:server", "urn:other"), { nil: undefined, freq: 2 }),
    name: fc.constantFrom("iq", "iq", "iq", "message"),
    payloads: fc.array(payloadEl, { maxLength: 3 }),
  })
  .map(({ name, payloads, ...a }) => {
    const el = new Element(name, attrs(a));
    for (const p of payloads) el.cnode(p);
    return el;
  });

/** The delegation wrapper, whole or forged: wrong namespaces, missing levels, two inner IQs. */
const wrapper = fc
  .tuple(
    fc.constantFrom(NS_DELEGATION, NS_DELEGATION, NS_DELEGATION, "urn:xmpp:delegation:1", "urn:other"),
    fc.constantFrom(NS_FORWARD, NS_FORWARD, NS_FORWARD, "urn:other", "none"),
    fc.array(innerIq, { minLength: 0, maxLength: 2 }),
  )
  .map(([dns, fns, inners]) => {
    const d = new Element("delegation", { xmlns: dns });
    const holder = fns === "none" ? d : d.c("forwarded", { xmlns: fns });
    for (const i of inners) holder.cnode(i);
    return d;
  });

/** Delegations a served server really sends, with one thing at a time possibly off. */
const plausibleDelegation = fc
  .record({
    domain: fc.constantFrom("example.test", "other.test"),
    user,
    resource,
    to: fc.option(fc.oneof(someJid, fc.constant("self"), fc.constant("server")), { nil: undefined }),
    type: fc.constantFrom("get", "set", "get", "set", "result"),
    payloads: fc.oneof({ weight: 4, arbitrary: payloadEl.map((p) => [p]) }, fc.array(payloadEl, { maxLength: 2 })),
  })
  .map(({ domain, user: u, resource: r, to, type, payloads }) => {
    const from = r === undefined ? `${u}@${domain}` : `${u}@${domain}/${r}`;
    const innerTo = to === "self" ? `${u}@${domain}` : to === "server" ? domain : to;
    const iq = new Element("iq", attrs({ xmlns: "jabber:client", type, id: "in", from, to: innerTo }));
    for (const p of payloads) iq.cnode(p);
    const el = new Element("iq", { type: "set", from: domain, to: COMP, id: "out" });
    el.c("delegation", { xmlns: NS_DELEGATION }).c("forwarded", { xmlns: NS_FORWARD }).cnode(iq);
    return el;
  });

const randomIq = fc
  .record({
    from: fc.oneof({ weight: 3, arbitrary: served }, { weight: 2, arbitrary: optJid }),
    to: fc.option(fc.constantFrom(COMP, "example.test", "x@example.test"), { nil: undefined }),
    type: iqTypeAttr,
    id: idAttr,
    kids: fc.array(fc.oneof({ weight: 3, arbitrary: wrapper }, { weight: 2, arbitrary: payloadEl }), { maxLength: 2 }),
  })
  .map(({ kids, ...a }) => {
    const el = new Element("iq", attrs(a));
    for (const k of kids) el.cnode(k);
    return el;
  });
const outerIq = fc.oneof({ weight: 3, arbitrary: randomIq }, { weight: 1, arbitrary: plausibleDelegation });

function checkRoute(el: Element, r: IqRoute): void {
  if (r.kind !== "archive") return;
  const { requester, owner, envelope, payload } = r.iq;
  expect(prepJid(requester)).toBe(requester);
  expect(requester).toContain("@");
  expect(owner).toBe(bareJid(requester));
  expect(DOMAINS.has(domainOf(requester))).toBe(true);
  expect(payload.getNS()).toBe("urn:xmpp:archive");
  const delegation = el.getChild("delegation", NS_DELEGATION);
  if (envelope.kind === "delegated") {
    expect(delegation).toBeDefined();
    expect(el.attrs.from).toBe(domainOf(requester));
    expect(envelope.outerFrom).toBe(domainOf(requester));
    expect(envelope.owner).toBe(owner);
    const inner = delegation?.getChild("forwarded", NS_FORWARD)?.getChild("iq");
    expect(inner).toBeDefined();
    expect(prepJid(String(inner?.attrs.from))).toBe(requester);
    const to = inner?.attrs.to;
    if (to !== undefined) {
      const t = prepJid(String(to));
      // Never another account's archive: only the owner's bare JID or the owner's server.
      expect([owner, domainOf(owner)]).toContain(t);
    }
  } else {
    // A direct IQ comes from the user's server, which stamps `from`: never a delegation wrapper.
    expect(delegation).toBeUndefined();
    expect(prepJid(String(el.attrs.from))).toBe(requester);
  }
}

const someError = fc.constantFrom<StanzaError | undefined>(
  undefined,
  { type: "modify", condition: "bad-request", text: "x <y> & 'z'" },
  { type: "cancel", condition: "item-not-found" },
  { type: "auth", condition: "forbidden" },
);

describe("routeIq (fuzz)", () => {
  it(
    "never throws; an archive route is always the requester's own archive in a served domain",
    () => {
      const kinds = new Set<string>();
      fc.assert(
        fc.property(outerIq, (el) => {
          const r = routeIq(el, DOMAINS, COMP);
          kinds.add(r.kind === "archive" ? r.iq.envelope.kind : r.kind);
          checkRoute(el, r);
        }),
        params(2),
      );
      // The generator reaches every outcome, including both kinds of archive route.
      expect([...kinds].sort()).toEqual(["component", "delegated", "direct", "ignore", "refuse"]);
    },
    TIMEOUT_MS,
  );

  it(
    "never gives another user's archive, whatever `to` the inner IQ names",
    () => {
      // Well-formed wrappers only, so that nearly every case gets past the sender checks.
      const inner = fc.tuple(user, resource, fc.option(someJid, { nil: undefined }), fc.constantFrom("get", "set"));
      fc.assert(
        fc.property(served, inner, (d, [u, r, to, type]) => {
          const from = r === undefined ? `${u}@${d}` : `${u}@${d}/${r}`;
          const outerFrom = prepJid(d) ?? d;
          const iq = new Element("iq", attrs({ xmlns: "jabber:client", type, id: "i", from, to }));
          iq.c("pref", { xmlns: "urn:xmpp:archive" });
          const el = new Element("iq", { type: "set", from: outerFrom, to: COMP, id: "o" });
          el.c("delegation", { xmlns: NS_DELEGATION }).c("forwarded", { xmlns: NS_FORWARD }).cnode(iq);
          const route = routeIq(el, DOMAINS, COMP);
          checkRoute(el, route);
          const t = to === undefined ? undefined : prepJid(to);
          const self = prepJid(from);
          if (t !== undefined && self !== null && t !== bareJid(self) && t !== domainOf(self)) expect(route.kind).not.toBe("archive");
          if (to === undefined && self !== null && DOMAINS.has(outerFrom) && domainOf(self) === outerFrom) expect(route.kind).toBe("archive");
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "replyIq never throws, and a delegated reply carries an inner jabber:client IQ",
    () => {
      fc.assert(
        fc.property(outerIq, someError, fc.boolean(), (el, error, withPayload) => {
          const route = routeIq(el, DOMAINS, COMP);
          if (route.kind === "ignore") return;
          const envelope = route.kind === "archive" ? route.iq.envelope : route.envelope;
          const result = error ? { error } : withPayload ? { payload: new Element("pref", { xmlns: "urn:xmpp:archive" }) } : {};
          const reply = replyIq(envelope, COMP, result);
          expect(reply.name).toBe("iq");
          if (envelope.kind === "delegated") {
            expect(reply.attrs).toMatchObject({ type: "result", to: envelope.outerFrom, from: COMP });
            const inner = reply.getChild("delegation", NS_DELEGATION)?.getChild("forwarded", NS_FORWARD)?.getChild("iq");
            expect(inner?.attrs.xmlns).toBe("jabber:client");
            expect(inner?.attrs.to).toBe(envelope.innerFrom);
            expect(inner?.attrs.type).toBe(error ? "error" : "result");
          } else {
            expect(reply.attrs.type).toBe(error ? "error" : "result");
          }
          // Whatever the request's attributes held, if it could arrive as XML the reply is sendable.
          if (illegalChar(el.toString()) === undefined) assertWellFormed(reply.toString());
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it("garbage in every attribute never throws", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("from", "to", "type", "id", "xmlns"), anyText(8)), { maxLength: 5 }), outerIq, (extra, el) => {
        for (const [k, v] of extra) el.attrs[k] = v;
        const r = routeIq(el, DOMAINS, COMP);
        checkRoute(el, r);
        if (r.kind !== "ignore") replyIq(r.kind === "archive" ? r.iq.envelope : r.envelope, COMP, {});
      }),
      params(),
    );
  }, TIMEOUT_MS);
});
