import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { chats, errorCondition, list, NS, retrieve, rsm, save } from "./support/archive.ts";
import { chat, connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode, waitUntil } from "./support/node.ts";
import { stackEnv, uniqueName } from "./support/stack.ts";
import { userPool, type User } from "./support/users.ts";

// Every archive operation that user A can aim at user B's archive, by every route A has
// through the real Prosody: A must get an error or only A's own data, and B's archive must
// read exactly the same afterwards.

const NS_FEED = "urn:x-archive-cluster:feed:0";
const NS_DELEGATION = "urn:xmpp:delegation:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const EPOCH = "1970-01-01T00:00:00Z";

const env = stackEnv();
const DOMAIN = env.XMPP_DOMAIN!;
const DOMAIN2 = env.XMPP_DOMAIN2!;
const COMPONENT = env.COMPONENT_JID!;

const tag = uniqueName("");
/** Text found only in B's archive: no answer to A may contain any of it. */
const B_BODY = `b-secret-${tag}`;
const B_THREAD = `b-thread-${tag}`;
const JULIET = `juliet-${tag}@capulet.test`;
const ROMEO = `romeo-${tag}@montague.test`;
const J_START = "2020-01-01T00:00:00Z";
const SECRETS = [B_BODY, B_THREAD, JULIET, ROMEO];

/** A user who attacks B's archive, with one collection of its own to recognise. */
interface Attacker extends User {
  own: { with: string; start: string };
}

let node: ArchiveNode;
let A: Attacker;
let D: Attacker;
let B: User;
let C: User;
/** B's automatic collection with C. */
let bConv: { with: string; start: string };
let bBefore: string;
let bPushesBefore: number;
const users = userPool();
const user = (prefix: string, domain?: string): Promise<User> => users.user(prefix, domain);

/** Sends an IQ with any attributes (the support helper sets only `to`) and waits for its answer. */
async function rawIq(c: TestClient, attrs: Record<string, string>, payload: Element, timeoutMs = 10_000): Promise<Element> {
  const id = `z${Math.random().toString(36).slice(2)}`;
  const reply = c.waitFor((el) => el.is("iq") && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"), timeoutMs);
  await c.xmpp.send(xml("iq", { id, ...attrs }, payload));
  return reply;
}

async function prefOf(c: TestClient): Promise<Element> {
  const r = await c.iq("get", xml("pref", { xmlns: NS }));
  expect(r.attrs.type).toBe("result");
  return r.getChild("pref", NS)!;
}

const modifiedSince = (start: string) => xml("modified", { xmlns: NS, start }, rsm({ max: 1000 }));

/** Everything B can read of B's archive, as text. */
async function snapshotB(): Promise<string> {
  const [pref, l, mod] = await Promise.all([
    B.c.iq("get", xml("pref", { xmlns: NS })),
    list(B.c, {}, { max: 1000 }),
    B.c.iq("get", modifiedSince(EPOCH)),
  ]);
  const cols = chats(l);
  const pages = await Promise.all(cols.map((col) => retrieve(B.c, col.attrs.with, col.attrs.start, { max: 1000 })));
  const parts = [pref, l, mod, ...pages].map((r) => {
    expect(r.attrs.type).toBe("result");
    return r.children.filter((x): x is Element => typeof x !== "string").map(String).join("");
  });
  return parts.join("\n");
}

const prefPushes = (c: TestClient) => c.received.filter((el) => el.is("iq") && el.attrs.type === "set" && el.attrs.from === COMPONENT && el.getChild("pref", NS)).length;

async function expectBUnchanged(): Promise<void> {
  expect(await snapshotB()).toBe(bBefore);
  expect(prefPushes(B.c)).toBe(bPushesBefore);
}

function expectNoBData(el: Element | undefined): void {
  const text = String(el ?? "");
  for (const s of SECRETS) expect(text).not.toContain(s);
}

function expectError(reply: Element, type: string, condition: string): void {
  expect(reply.attrs.type).toBe("error");
  expect(reply.getChild("error")?.attrs.type).toBe(type);
  expect(errorCondition(reply)).toBe(condition);
}

beforeAll(async () => {
  await resetRedis();
  // Each row reads B's whole archive again: well past the default per-user request rate.
  node = await startNode({ RATE_LIMIT_PER_USER: "1000" });
  const [a, b, c, d] = await Promise.all([user("authza"), user("authzb"), user("authzc"), user("authzd", DOMAIN2)]);
  B = b;
  C = c;
  A = { ...a, own: { with: "nurse@verona.test", start: "2019-03-01T10:00:00Z" } };
  D = { ...d, own: { with: "tybalt@verona.test", start: "2019-04-01T10:00:00Z" } };
  for (const u of [A, D]) {
    const r = await save(u.c, u.own.with, u.own.start, [xml("to", {}, xml("body", {}, `own data of ${u.acc.jid}`))]);
    expect(r.attrs.type).toBe("result");
  }

  // B: a conversation with C through the server, a manual collection, preferences of its own.
  await B.c.xmpp.send(chat(C.acc.jid, `${B_BODY} 1`));
  await C.c.xmpp.send(chat(B.acc.jid, `${B_BODY} 2`));
  await B.c.xmpp.send(chat(C.acc.jid, `${B_BODY} 3`));
  await waitUntil(async () => {
    const cols = chats(await list(B.c, { with: C.acc.jid }));
    if (cols.length !== 1) return false;
    const page = await retrieve(B.c, cols[0]!.attrs.with, cols[0]!.attrs.start);
    return (page.getChild("chat", NS)?.getChildren("to").length ?? 0) + (page.getChild("chat", NS)?.getChildren("from").length ?? 0) === 3;
  }, 20_000, 200);
  const conv = chats(await list(B.c, { with: C.acc.jid }))[0]!;
  bConv = { with: conv.attrs.with, start: conv.attrs.start };
  expect((await save(B.c, JULIET, J_START, [xml("from", {}, xml("body", {}, `${B_BODY} manual`))], { thread: B_THREAD })).attrs.type).toBe("result");
  const prefSet = await B.c.iq(
    "set",
    xml(
      "pref",
      { xmlns: NS },
      xml("default", { save: "message", otr: "approve" }),
      xml("item", { jid: ROMEO, save: "false", otr: "concede" }),
      xml("session", { thread: B_THREAD, save: "false" }),
    ),
  );
  expect(prefSet.attrs.type).toBe("result");

  // B's client answers archive queries sent to its full JID as a client does (RFC 6120 §8.4).
  B.c.xmpp.on("stanza", (el: Element) => {
    if (el.is("iq") && el.attrs.type === "get" && el.children.some((x) => typeof x !== "string" && x.attrs.xmlns === NS)) {
      B.c.xmpp
        .send(xml("iq", { type: "error", id: el.attrs.id, to: el.attrs.from }, xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }))))
        .catch(() => undefined);
    }
  });

  bBefore = await snapshotB();
  bPushesBefore = prefPushes(B.c);
  // The snapshot really holds B's data.
  for (const s of SECRETS) expect(bBefore).toContain(s);
}, 120_000);

afterAll(async () => {
  await users.stopAll();
  await node?.stop();
});

// ---- the matrix: every operation by every IQ route ----

interface Op {
  name: string;
  type: "get" | "set";
  payload(self: Attacker): Element;
  /** What the answer must be when the request acts on the sender's own archive. */
  own(reply: Element, self: Attacker): void | Promise<void>;
}

const ops: Op[] = [
  {
    name: "pref get",
    type: "get",
    payload: () => xml("pref", { xmlns: NS }),
    own(reply) {
      const pref = reply.getChild("pref", NS)!;
      // The attacker never set a default: B's is set.
      expect(pref.getChild("default")?.attrs.unset).toBe("true");
    },
  },
  {
    name: "pref set (item naming B)",
    type: "set",
    payload: () => xml("pref", { xmlns: NS }, xml("item", { jid: B.acc.jid, save: "false", otr: "concede" })),
    async own(reply, self) {
      expect(reply.attrs.type).toBe("result");
      const items = (await prefOf(self.c)).getChildren("item").map((i) => i.attrs.jid);
      expect(items).toContain(B.acc.jid);
    },
  },
  {
    name: "auto off",
    type: "set",
    payload: () => xml("auto", { xmlns: NS, save: "false", scope: "global" }),
    async own(reply, self) {
      expect(reply.attrs.type).toBe("result");
      expect((await prefOf(self.c)).getChild("auto")?.attrs.save).toBe("false");
    },
  },
  {
    name: "itemremove of B's item",
    type: "set",
    payload: () => xml("itemremove", { xmlns: NS }, xml("item", { jid: ROMEO })),
    own: (reply) => expect(reply.attrs.type).toBe("result"),
  },
  {
    name: "sessionremove of B's session",
    type: "set",
    payload: () => xml("sessionremove", { xmlns: NS }, xml("session", { thread: B_THREAD })),
    own: (reply) => expect(reply.attrs.type).toBe("result"),
  },
  {
    name: "save into B's collection key",
    type: "set",
    payload: (self) => xml("save", { xmlns: NS }, xml("chat", { with: bConv.with, start: bConv.start }, xml("to", {}, xml("body", {}, `upload by ${self.acc.jid}`)))),
    own(reply) {
      expect(reply.attrs.type).toBe("result");
      expect(reply.getChild("save", NS)?.getChild("chat")?.attrs.with).toBe(bConv.with);
    },
  },
  {
    name: "list",
    type: "get",
    payload: () => xml("list", { xmlns: NS }, rsm({ max: 100 })),
    own(reply, self) {
      expect(reply.attrs.type).toBe("result");
      expect(chats(reply).map((c) => `${c.attrs.with} ${c.attrs.start}`)).toContain(`${self.own.with} ${self.own.start}`);
    },
  },
  {
    name: "list with B's peer",
    type: "get",
    payload: () => xml("list", { xmlns: NS, with: JULIET }),
    own(reply) {
      expect(reply.attrs.type).toBe("result");
      expect(chats(reply)).toHaveLength(0);
    },
  },
  {
    name: "retrieve B's collection",
    type: "get",
    payload: () => xml("retrieve", { xmlns: NS, with: JULIET, start: J_START }),
    own: (reply) => expectError(reply, "cancel", "item-not-found"),
  },
  {
    name: "remove B's collection",
    type: "set",
    payload: () => xml("remove", { xmlns: NS, with: JULIET, start: J_START }),
    own: (reply) => expectError(reply, "cancel", "item-not-found"),
  },
  {
    name: "remove a range holding only B's collection",
    type: "set",
    payload: () => xml("remove", { xmlns: NS, start: J_START, end: "2020-01-02T00:00:00Z" }),
    own: (reply) => expectError(reply, "cancel", "item-not-found"),
  },
  {
    name: "remove open collections",
    type: "set",
    payload: () => xml("remove", { xmlns: NS, open: "true" }),
    own: (reply) => expectError(reply, "cancel", "item-not-found"),
  },
  {
    name: "modified",
    type: "get",
    payload: () => modifiedSince(EPOCH),
    own(reply, self) {
      expect(reply.attrs.type).toBe("result");
      const changed = reply.getChild("modified", NS)!.getChildren("changed").map((c) => `${c.attrs.with} ${c.attrs.start}`);
      expect(changed).toContain(`${self.own.with} ${self.own.start}`);
    },
  },
];

/**
 * own: acts on the sender's own archive; forbidden: the node refuses (auth); unavailable:
 * the server answers service-unavailable; peer: the IQ goes to B's client, never to the archive.
 */
type Outcome = "own" | "forbidden" | "unavailable" | "peer";

interface Route {
  name: string;
  by: () => Attacker;
  attrs: () => Record<string, string>;
  outcome: Outcome;
}

const upper = (jid: string) => jid.toUpperCase();

const routes: Route[] = [
  { name: "A, no `to` (delegated)", by: () => A, attrs: () => ({}), outcome: "own" },
  { name: "A, `to` = A's bare JID", by: () => A, attrs: () => ({ to: A.acc.jid }), outcome: "own" },
  { name: "A, `to` = B's bare JID", by: () => A, attrs: () => ({ to: B.acc.jid }), outcome: "forbidden" },
  { name: "A, `to` = B's bare JID in capitals", by: () => A, attrs: () => ({ to: upper(B.acc.jid) }), outcome: "forbidden" },
  { name: "A, `to` = an account that does not exist", by: () => A, attrs: () => ({ to: `nobody-${tag}@${DOMAIN}` }), outcome: "forbidden" },
  { name: "A, `to` = B's full JID", by: () => A, attrs: () => ({ to: B.c.jid }), outcome: "peer" },
  { name: "A, `to` = the server domain", by: () => A, attrs: () => ({ to: DOMAIN }), outcome: "own" },
  { name: "A, `to` = the other served domain", by: () => A, attrs: () => ({ to: DOMAIN2 }), outcome: "unavailable" },
  { name: "A, `to` = the component", by: () => A, attrs: () => ({ to: COMPONENT }), outcome: "own" },
  { name: "A, `to` = the component with a resource", by: () => A, attrs: () => ({ to: `${COMPONENT}/${B.acc.local}` }), outcome: "own" },
  { name: "A, `to` = B's name at the component", by: () => A, attrs: () => ({ to: `${B.acc.local}@${COMPONENT}` }), outcome: "own" },
  { name: "A, forged `from` = B's full JID, no `to`", by: () => A, attrs: () => ({ from: B.c.jid }), outcome: "own" },
  { name: "A, forged `from` = the server, `to` = the component", by: () => A, attrs: () => ({ from: DOMAIN, to: COMPONENT }), outcome: "own" },
  { name: "A, forged `from` = B's bare JID, `to` = B's bare JID", by: () => A, attrs: () => ({ from: B.acc.jid, to: B.acc.jid }), outcome: "forbidden" },
  { name: "D@other, no `to` (delegated)", by: () => D, attrs: () => ({}), outcome: "own" },
  { name: "D@other, `to` = B's bare JID", by: () => D, attrs: () => ({ to: B.acc.jid }), outcome: "unavailable" },
  { name: "D@other, `to` = B's server", by: () => D, attrs: () => ({ to: DOMAIN }), outcome: "unavailable" },
  { name: "D@other, `to` = the component", by: () => D, attrs: () => ({ to: COMPONENT }), outcome: "own" },
];

describe("A aims every archive operation at B's archive", () => {
  for (const op of ops) {
    describe(op.name, () => {
      for (const route of routes) {
        it(`${route.name}: ${route.outcome}`, async () => {
          const self = route.by();
          const attrs = route.attrs();
          const reply = await rawIq(self.c, { type: op.type, ...attrs }, op.payload(self));
          expectNoBData(reply);
          switch (route.outcome) {
            case "own":
              await op.own(reply, self);
              break;
            case "forbidden":
              expectError(reply, "auth", "forbidden");
              break;
            case "unavailable":
              expectError(reply, "cancel", "service-unavailable");
              break;
            case "peer":
              // Prosody delivers it to B's resource; the archive never sees it.
              expect(reply.attrs.from).toBe(B.c.jid);
              expect(B.c.received.some((el) => el.is("iq") && el.attrs.id === reply.attrs.id && el.attrs.from === self.c.jid)).toBe(true);
              if (op.type === "get") expectError(reply, "cancel", "service-unavailable");
              else expect(reply.children.filter((x) => typeof x !== "string")).toHaveLength(0);
              break;
          }
          await expectBUnchanged();
        });
      }
    });
  }
});

// ---- forged wrappers: what only the server may send, sent by a user ----

async function rejectedBySender(): Promise<number> {
  const m = await node.metrics.rejected.get();
  return m.values.find((v) => v.labels.reason === "sender")?.value ?? 0;
}

/**
 * Sends a stanza that must draw no answer, then a disco#info query to the component: the
 * node handles a connection's stanzas in order, so once that answer is back the first was
 * handled too. Returns what the sender received in between.
 */
async function sendUnanswered(c: TestClient, stanza: Element): Promise<Element[]> {
  const from = c.received.length;
  await c.xmpp.send(stanza);
  const probe = await c.iq("get", xml("query", { xmlns: NS_DISCO_INFO }), COMPONENT);
  expect(probe.attrs.type).toBe("result");
  // Past the edge's batching window, so a copy taken by mistake would be in B's archive.
  await new Promise((r) => setTimeout(r, 300));
  return c.received.slice(from).filter((el) => el !== probe && (el.is("message") || (el.is("iq") && el.attrs.type !== "set")));
}

const forgedCopy = (owner: string, from: string, to: string) => [
  xml("copy", { xmlns: NS_FEED, direction: "received", owner, feed: `forged-${tag}`, seq: "1" }),
  xml(
    "forwarded",
    { xmlns: NS_FORWARD },
    xml("delay", { xmlns: "urn:xmpp:delay", stamp: new Date().toISOString() }),
    xml("message", { xmlns: "jabber:client", type: "chat", from, to }, xml("body", {}, `forged-${tag}`)),
  ),
];

const delegation = (inner: Element) => xml("delegation", { xmlns: NS_DELEGATION }, xml("forwarded", { xmlns: NS_FORWARD }, inner));
const innerIq = (type: "get" | "set", payload: Element) => xml("iq", { xmlns: "jabber:client", type, id: "inner", from: B.c.jid }, payload);

/** A fresh connection of A, for stanzas after which the server closes the stream. */
async function throwaway(): Promise<{ c: TestClient; streamError: Promise<string | undefined> }> {
  const c = users.track(await connectClient(A.acc, `evil-${Math.random().toString(36).slice(2, 8)}`));
  const streamError = new Promise<string | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), 10_000);
    c.xmpp.on("element", (el: Element) => {
      if (el.name !== "stream:error") return;
      clearTimeout(t);
      resolve(el.children.find((x): x is Element => typeof x !== "string")?.name);
    });
  });
  return { c, streamError };
}

describe("forged feed and delegation wrappers", () => {
  it("a feed copy claiming owner B, sent to the component with a forged server `from`, is refused and unanswered", async () => {
    const before = await rejectedBySender();
    const got = await sendUnanswered(A.c, xml("message", { to: COMPONENT, from: DOMAIN }, ...forgedCopy(B.acc.jid, C.c.jid, B.acc.jid)));
    expect(got).toEqual([]);
    expect(await rejectedBySender()).toBe(before + 1);
    await expectBUnchanged();
  });

  it("a feed copy claiming owner B, sent to B's name at the component, is refused and unanswered", async () => {
    const before = await rejectedBySender();
    const got = await sendUnanswered(A.c, xml("message", { to: `${B.acc.local}@${COMPONENT}` }, ...forgedCopy(B.acc.jid, C.c.jid, B.acc.jid)));
    expect(got).toEqual([]);
    expect(await rejectedBySender()).toBe(before + 1);
    await expectBUnchanged();
  });

  it("a feed session notice for B sent to the component is ignored", async () => {
    const got = await sendUnanswered(A.c, xml("message", { to: COMPONENT }, xml("session", { xmlns: NS_FEED, jid: `${B.acc.jid}/evil`, state: "online" })));
    expect(got).toEqual([]);
    await expectBUnchanged();
  });

  it("a delegation wrapper in a message to the component is ignored", async () => {
    const got = await sendUnanswered(A.c, xml("message", { to: COMPONENT }, delegation(innerIq("get", xml("list", { xmlns: NS })))));
    expect(got).toEqual([]);
    await expectBUnchanged();
  });

  it.each([
    ["a list", "get" as const, () => xml("list", { xmlns: NS })],
    ["a retrieve", "get" as const, () => xml("retrieve", { xmlns: NS, with: JULIET, start: J_START })],
    ["a remove", "set" as const, () => xml("remove", { xmlns: NS, with: JULIET, start: J_START })],
    ["a pref set", "set" as const, () => xml("pref", { xmlns: NS }, xml("default", { save: "false", otr: "concede" }))],
  ])("a delegation IQ to the component carrying %s from B is forbidden", async (_n, type, payload) => {
    const reply = await rawIq(A.c, { type: "set", to: COMPONENT }, delegation(innerIq(type, payload())));
    expectNoBData(reply);
    expectError(reply, "auth", "forbidden");
    expect(reply.attrs.from).toBe(COMPONENT);
    await expectBUnchanged();
  });

  it.each([
    ["with no `to`", () => ({})],
    ["to the server domain", () => ({ to: DOMAIN })],
    ["to B's bare JID", () => ({ to: B.acc.jid })],
  ])("a delegation IQ %s never reaches the component: service-unavailable", async (_n, attrs) => {
    const reply = await rawIq(A.c, { type: "set", ...attrs() }, delegation(innerIq("get", xml("list", { xmlns: NS }))));
    expectNoBData(reply);
    expectError(reply, "cancel", "service-unavailable");
    await expectBUnchanged();
  });

  it("a delegation IQ in the server namespace claiming to come from the server closes the sender's stream", async () => {
    const { c, streamError } = await throwaway();
    await c.xmpp.send(xml("iq", { xmlns: "jabber:server", type: "set", id: "evil", from: DOMAIN, to: COMPONENT }, delegation(innerIq("get", xml("list", { xmlns: NS })))));
    expect(await streamError).toBe("unsupported-stanza-type");
    expect(c.received.filter((el) => el.attrs.id === "evil")).toEqual([]);
    await expectBUnchanged();
  });

  it("a feed copy in the server namespace claiming to come from the server closes the sender's stream", async () => {
    const before = await rejectedBySender();
    const { c, streamError } = await throwaway();
    await c.xmpp.send(xml("message", { xmlns: "jabber:server", from: DOMAIN, to: COMPONENT }, ...forgedCopy(B.acc.jid, C.c.jid, B.acc.jid)));
    expect(await streamError).toBe("unsupported-stanza-type");
    await new Promise((r) => setTimeout(r, 300));
    expect(await rejectedBySender()).toBe(before);
    await expectBUnchanged();
  });
});
