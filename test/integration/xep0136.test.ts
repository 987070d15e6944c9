import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { chats, errorCondition, iso, list, NS, retrieve, save, setOf } from "./support/archive.ts";
import { chat, connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode, waitUntil } from "./support/node.ts";
import { userPool } from "./support/users.ts";
import { stackEnv } from "./support/stack.ts";

// XEP-0136 exchanges end to end: real @xmpp/client users through Prosody's delegation.
let node: ArchiveNode;
const users = userPool();
const user = users.user;

beforeAll(async () => {
  await resetRedis();
  node = await startNode();
});
afterAll(async () => {
  await users.stopAll();
  await node?.stop();
});

const to = (body: string, secs?: number, utc?: string) =>
  xml("to", { ...(secs !== undefined ? { secs: String(secs) } : {}), ...(utc ? { utc } : {}) }, xml("body", {}, body));
const from = (body: string, secs?: number) => xml("from", { ...(secs !== undefined ? { secs: String(secs) } : {}) }, xml("body", {}, body));

describe("preferences", () => {
  it("reports server defaults with unset='true' and all three methods", async () => {
    const { c } = await user("pref");
    const reply = await c.iq("get", xml("pref", { xmlns: NS }));
    const pref = reply.getChild("pref", NS)!;
    expect(pref.getChild("auto")?.attrs.save).toBe("true");
    expect(pref.getChild("default")?.attrs).toMatchObject({ unset: "true", save: "body" });
    expect(pref.getChildren("method").map((m) => m.attrs.type).sort()).toEqual(["auto", "local", "manual"]);
  });

  it("sets default, item, session and method, pushes the change, and removes items and sessions", async () => {
    const { acc, c } = await user("prefset", undefined, "one");
    const other = users.track(await connectClient(acc, "two"));
    await other.iq("get", xml("pref", { xmlns: NS })); // asks for prefs: gets pushes from now on
    const set = await c.iq(
      "set",
      xml(
        "pref",
        { xmlns: NS },
        xml("default", { save: "body", otr: "concede", expire: "3600" }),
        xml("item", { jid: "romeo@montague.net", save: "false", otr: "concede" }),
        xml("session", { thread: "thr-1", save: "false" }),
        xml("method", { type: "auto", use: "prefer" }),
      ),
    );
    expect(set.attrs.type).toBe("result");
    const push = await other.waitFor((el) => el.is("iq") && el.attrs.type === "set" && !!el.getChild("pref", NS));
    expect(push.getChild("pref", NS)?.getChild("default")?.attrs.expire).toBe("3600");
    expect(push.getChild("pref", NS)?.getChildren("method")).toHaveLength(3);
    const got = (await c.iq("get", xml("pref", { xmlns: NS }))).getChild("pref", NS)!;
    expect(got.getChild("default")?.attrs.unset).not.toBe("true");
    expect(got.getChild("item")?.attrs).toMatchObject({ jid: "romeo@montague.net", save: "false" });
    expect(got.getChild("session")?.attrs.timeout).toBeDefined();
    const ir = await c.iq("set", xml("itemremove", { xmlns: NS }, xml("item", { jid: "romeo@montague.net" })));
    expect(ir.attrs.type).toBe("result");
    const sr = await c.iq("set", xml("sessionremove", { xmlns: NS }, xml("session", { thread: "thr-1" })));
    expect(sr.attrs.type).toBe("result");
    const after = (await c.iq("get", xml("pref", { xmlns: NS }))).getChild("pref", NS)!;
    expect(after.getChildren("item")).toHaveLength(0);
    expect(after.getChildren("session")).toHaveLength(0);
  });

  it("answers save='stream' with feature-not-implemented and a bad boolean with bad-request", async () => {
    const { c } = await user("prefbad");
    const r1 = await c.iq("set", xml("pref", { xmlns: NS }, xml("default", { save: "stream", otr: "concede" })));
    expect(errorCondition(r1)).toBe("feature-not-implemented");
    const r2 = await c.iq("set", xml("auto", { xmlns: NS, save: "maybe" }));
    expect(errorCondition(r2)).toBe("bad-request");
    const r3 = await c.iq("get", xml("auto", { xmlns: NS, save: "true" }));
    expect(errorCondition(r3)).toBe("bad-request");
  });
});

describe("automatic archiving", () => {
  it("groups a conversation into one collection with the peer's bare JID and keeps text byte for byte", async () => {
    const a = await user("autoa");
    const b = await user("autob");
    const long = "شكرا 你好 🎉👩‍👩‍👧 ".repeat(3000); // crosses TCP chunk boundaries
    // Each one answers what it has received, so the three are in this order at the server.
    await a.c.xmpp.send(chat(b.acc.jid, "first"));
    await b.c.waitFor((el) => el.getChildText("body") === "first");
    await b.c.xmpp.send(chat(a.acc.jid, "second"));
    await a.c.waitFor((el) => el.getChildText("body") === "second");
    await a.c.xmpp.send(chat(b.acc.jid, long));
    await b.c.waitFor((el) => el.getChildText("body") === long, 20_000);
    let l: Element | undefined;
    await waitUntil(async () => {
      l = await list(a.c, { with: b.acc.jid });
      const ch = chats(l);
      return ch.length === 1 && ch[0]!.attrs.version !== undefined && Number(setOf(l.getChild("list", NS)).count) === 1;
    }, 20_000, 300);
    const col = chats(l!)[0]!;
    expect(col.attrs.with).toBe(b.acc.jid);
    await waitUntil(async () => setOf((await retrieve(a.c, col.attrs.with, col.attrs.start)).getChild("chat", NS)).count === 3, 20_000, 300);
    const r = await retrieve(a.c, col.attrs.with, col.attrs.start);
    const items = r.getChild("chat", NS)!.children.filter((x): x is Element => typeof x !== "string" && x.name !== "set");
    expect(items.map((i) => i.name)).toEqual(["to", "from", "to"]);
    expect(items[2]!.getChildText("body")).toBe(long);
    // The peer's archive has the same messages with opposite directions.
    const lb = chats(await list(b.c, { with: a.acc.jid }));
    expect(lb).toHaveLength(1);
  });

  it("starts a new collection on a thread change and honours an item with save='false'", async () => {
    const a = await user("thra");
    const b = await user("thrb");
    const c3 = await user("thrc");
    await a.c.iq("set", xml("pref", { xmlns: NS }, xml("item", { jid: c3.acc.jid, save: "false", otr: "concede" })));
    await a.c.xmpp.send(chat(b.acc.jid, "t1", [xml("thread", {}, "T1")]));
    await a.c.xmpp.send(chat(b.acc.jid, "t2", [xml("thread", {}, "T2")]));
    await a.c.xmpp.send(chat(c3.acc.jid, "not archived"));
    await c3.c.waitFor((el) => el.getChildText("body") === "not archived");
    await waitUntil(async () => chats(await list(a.c, { with: b.acc.jid })).length === 2, 20_000, 300);
    expect(chats(await list(a.c, { with: c3.acc.jid }))).toHaveLength(0);
    const threads = chats(await list(a.c, { with: b.acc.jid })).map((x) => x.attrs.thread);
    expect(threads.sort()).toEqual(["T1", "T2"]);
  });

  it("archives nothing after <auto save='false'/> and again after switching back on", async () => {
    const a = await user("offa");
    const b = await user("offb");
    expect((await a.c.iq("set", xml("auto", { xmlns: NS, save: "false", scope: "global" }))).attrs.type).toBe("result");
    await a.c.xmpp.send(chat(b.acc.jid, "secret"));
    await b.c.waitFor((el) => el.getChildText("body") === "secret");
    const pref = (await a.c.iq("get", xml("pref", { xmlns: NS }))).getChild("pref", NS)!;
    expect(pref.getChild("auto")?.attrs.save).toBe("false");
    expect(chats(await list(a.c, { with: b.acc.jid }))).toHaveLength(0);
    await a.c.iq("set", xml("auto", { xmlns: NS, save: "true", scope: "global" }));
    await a.c.xmpp.send(chat(b.acc.jid, "public"));
    await waitUntil(async () => chats(await list(a.c, { with: b.acc.jid })).length === 1, 20_000, 300);
  });
});

describe("manual archiving", () => {
  it("creates at version 0, appends at version 1, updates the subject, and keeps secs and utc", async () => {
    const { c } = await user("man");
    const start = "1469-07-21T02:56:15Z";
    const r0 = await save(c, "juliet@capulet.com/chamber", start, [from("Art thou not Romeo?", 0), to("Neither, fair saint", 11)], { thread: "damduoeg08", subject: "She speaks!" });
    expect(r0.getChild("save", NS)?.getChild("chat")?.attrs.version).toBe("0");
    const r1 = await save(c, "juliet@capulet.com/chamber", "1469-07-21T02:56:15.000Z", [to("How cam'st thou hither?", 7)], { subject: "She speaks again" });
    expect(r1.getChild("save", NS)?.getChild("chat")?.attrs.version).toBe("1");
    const r = (await retrieve(c, "juliet@capulet.com/chamber", start)).getChild("chat", NS)!;
    expect(r.attrs.subject).toBe("She speaks again");
    expect(r.attrs.version).toBe("1");
    const items = r.children.filter((x): x is Element => typeof x !== "string" && x.name !== "set");
    expect(items.map((i) => [i.name, i.attrs.secs])).toEqual([
      ["from", "0"],
      ["to", "11"],
      ["to", "7"],
    ]);
  });

  it("refuses an empty <to/> and a bad start", async () => {
    const { c } = await user("manbad");
    expect(errorCondition(await save(c, "a@b.c", "2020-01-01T00:00:00Z", [xml("to", {})]))).toBe("bad-request");
    expect(errorCondition(await save(c, "a@b.c", "yesterday", [to("x")]))).toBe("bad-request");
  });
});

describe("list and retrieve with RSM", () => {
  let c: TestClient;
  const base = Date.UTC(2020, 0, 1);
  beforeAll(async () => {
    c = (await user("rsm")).c;
    for (let i = 0; i < 25; i++) {
      await save(c, `peer${i % 3}@example.org`, iso(base + i * 60_000), [to(`m${i}`)]);
    }
    // One long collection for retrieve paging.
    await save(c, "long@example.org", iso(base - 3600_000), Array.from({ length: 30 }, (_, i) => to(`line ${i}`, 1)));
  });

  it("pages forward with after, counts, and indexes the first item", async () => {
    const p1 = (await list(c, { start: iso(base) }, { max: 10 })).getChild("list", NS)!;
    const s1 = setOf(p1);
    expect(p1.getChildren("chat")).toHaveLength(10);
    expect(s1).toMatchObject({ count: 25, firstIndex: "0" });
    const p2 = (await list(c, { start: iso(base) }, { max: 10, after: s1.last })).getChild("list", NS)!;
    expect(setOf(p2).firstIndex).toBe("10");
    expect(p2.getChildren("chat")[0]!.attrs.start).toBe(iso(base + 10 * 60_000));
  });

  it("returns the last page for an empty <before/>, and pages backwards", async () => {
    const last = (await list(c, { start: iso(base) }, { max: 10, before: "" })).getChild("list", NS)!;
    expect(last.getChildren("chat")).toHaveLength(10);
    expect(setOf(last).firstIndex).toBe("15");
    const prev = (await list(c, { start: iso(base) }, { max: 10, before: setOf(last).first })).getChild("list", NS)!;
    expect(setOf(prev).firstIndex).toBe("5");
  });

  it("answers after the last item with an empty page that still counts, index jumps, and max=0", async () => {
    const all = (await list(c, { start: iso(base) }, { max: 100 })).getChild("list", NS)!;
    const end = (await list(c, { start: iso(base) }, { max: 10, after: setOf(all).last })).getChild("list", NS)!;
    expect(end.getChildren("chat")).toHaveLength(0);
    expect(setOf(end).count).toBe(25);
    const idx = (await list(c, { start: iso(base) }, { max: 5, index: 20 })).getChild("list", NS)!;
    expect(setOf(idx).firstIndex).toBe("20");
    expect(idx.getChildren("chat")).toHaveLength(5);
    const cnt = (await list(c, { start: iso(base) }, { max: 0 })).getChild("list", NS)!;
    expect(cnt.getChildren("chat")).toHaveLength(0);
    expect(setOf(cnt).count).toBe(25);
  });

  it("filters by with (bare matches) and by a [start, end) range", async () => {
    const p0 = chats(await list(c, { with: "peer0@example.org", start: iso(base) }, { max: 100 }));
    expect(p0).toHaveLength(9);
    const range = chats(await list(c, { start: iso(base), end: iso(base + 5 * 60_000) }, { max: 100 }));
    expect(range).toHaveLength(5);
    const none = await list(c, { with: "nobody@example.org" });
    expect(none.getChild("list", NS)?.children).toHaveLength(0);
  });

  it("pages one collection's messages by position and answers item-not-found for a missing one", async () => {
    const start = iso(base - 3600_000);
    const p1 = (await retrieve(c, "long@example.org", start, { max: 10 })).getChild("chat", NS)!;
    expect(setOf(p1)).toMatchObject({ count: 30, firstIndex: "0" });
    const p2 = (await retrieve(c, "long@example.org", start, { max: 10, after: setOf(p1).last })).getChild("chat", NS)!;
    expect(p2.getChildren("to")[0]!.getChildText("body")).toBe("line 10");
    // D5: the first element of every page counts from the collection's start.
    expect(p2.getChildren("to")[0]!.attrs.secs).toBe("11");
    const last = (await retrieve(c, "long@example.org", start, { max: 10, before: "" })).getChild("chat", NS)!;
    expect(setOf(last).firstIndex).toBe("20");
    const idx = (await retrieve(c, "long@example.org", start, { max: 3, index: 28 })).getChild("chat", NS)!;
    expect(idx.getChildren("to")).toHaveLength(2);
    expect(errorCondition(await retrieve(c, "long@example.org", iso(base - 7200_000)))).toBe("item-not-found");
    expect(errorCondition(await retrieve(c, "long@example.org", start, { after: "garbage!" }))).toBe("item-not-found");
  });
});

describe("remove and replication", () => {
  it("removes one collection, a range, all with a peer, reports item-not-found, and lists changes", async () => {
    const { c } = await user("rm");
    const t0 = Date.now() - 1000;
    const base = Date.UTC(2021, 5, 1);
    for (let i = 0; i < 6; i++) await save(c, `p${i % 2}@example.org`, iso(base + i * 3600_000), [to(`x${i}`)]);
    const one = await c.iq("set", xml("remove", { xmlns: NS, with: "p0@example.org", start: iso(base) }));
    expect(one.attrs.type).toBe("result");
    expect(chats(await list(c, {}, { max: 100 }))).toHaveLength(5);
    const range = await c.iq("set", xml("remove", { xmlns: NS, start: iso(base + 3600_000), end: iso(base + 3 * 3600_000) }));
    expect(range.attrs.type).toBe("result");
    expect(chats(await list(c, {}, { max: 100 }))).toHaveLength(3);
    const peer = await c.iq("set", xml("remove", { xmlns: NS, with: "p1@example.org", start: "0000-01-01T00:00:00Z", end: "9999-01-01T00:00:00Z" }));
    expect(peer.attrs.type).toBe("result");
    expect(chats(await list(c, {}, { max: 100 })).map((x) => x.attrs.with)).toEqual(["p0@example.org"]);
    const missing = await c.iq("set", xml("remove", { xmlns: NS, with: "p0@example.org", start: iso(base) }));
    expect(errorCondition(missing)).toBe("item-not-found");

    const mod = (await c.iq("get", xml("modified", { xmlns: NS, start: iso(t0) }, xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, xml("max", {}, "100"))))).getChild("modified", NS)!;
    expect(mod.getChildren("changed")).toHaveLength(1);
    expect(mod.getChildren("removed")).toHaveLength(5);
    expect(mod.getChildren("removed")[0]!.attrs.version).toBeDefined();
    const s = setOf(mod);
    expect(s.count).toBe(6);
    const after = (await c.iq("get", xml("modified", { xmlns: NS, start: iso(t0) }, xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, xml("max", {}, "10"), xml("after", {}, s.last!))))).getChild("modified", NS)!;
    expect(after.getChildren("changed").length + after.getChildren("removed").length).toBe(0);
  });

  it("removes only the open collections with open='true'", async () => {
    const a = await user("opena");
    const b = await user("openb");
    await save(a.c, b.acc.jid, "2019-01-01T00:00:00Z", [to("old, manual")]);
    await a.c.xmpp.send(chat(b.acc.jid, "negotiation"));
    await waitUntil(async () => chats(await list(a.c, { with: b.acc.jid })).length === 2, 20_000, 300);
    const r = await a.c.iq("set", xml("remove", { xmlns: NS, open: "true" }));
    expect(r.attrs.type).toBe("result");
    const left = chats(await list(a.c, { with: b.acc.jid }));
    expect(left.map((x) => x.attrs.start)).toEqual(["2019-01-01T00:00:00Z"]);
  });
});

describe("addressing, domains and discovery", () => {
  it("refuses a request addressed to another user's bare JID", async () => {
    const a = await user("auta");
    const b = await user("autb");
    await save(b.c, "x@example.org", "2020-01-01T00:00:00Z", [to("private")]);
    const r = await a.c.iq("get", xml("list", { xmlns: NS }), b.acc.jid);
    expect(r.attrs.type).toBe("error");
    expect(r.getChild("list", NS)?.getChildren("chat") ?? []).toHaveLength(0);
  });

  it("serves a user of the second domain and answers requests sent straight to the component", async () => {
    const env = stackEnv();
    const carol = await user("carol", env.XMPP_DOMAIN2);
    await save(carol.c, "x@example.org", "2020-01-01T00:00:00Z", [to("hi")]);
    expect(chats(await list(carol.c))).toHaveLength(1);
    const direct = await carol.c.iq("get", xml("list", { xmlns: NS }), env.COMPONENT_JID);
    expect(chats(direct)).toHaveLength(1);
  });

  it("advertises the archive features on the component and on the account", async () => {
    const env = stackEnv();
    const { acc, c } = await user("disco");
    const comp = await c.iq("get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), env.COMPONENT_JID);
    const vars = comp.getChild("query")!.getChildren("feature").map((f) => f.attrs.var);
    for (const f of ["urn:xmpp:archive", "urn:xmpp:archive:auto", "urn:xmpp:archive:manage", "urn:xmpp:archive:manual", "urn:xmpp:archive:pref", "http://jabber.org/protocol/rsm"]) {
      expect(vars).toContain(f);
    }
    const own = await c.iq("get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), acc.jid);
    const ownVars = own.getChild("query")?.getChildren("feature").map((f) => f.attrs.var) ?? [];
    expect(ownVars).toContain("urn:xmpp:archive:manage");
    const server = await c.iq("get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), acc.domain);
    expect(server.getChild("query")?.getChildren("feature").map((f) => f.attrs.var)).toContain("urn:xmpp:archive:pref");
  });
});

// What an actor knows of a user's collections survives its passivation: it is loaded again from
// the peer records in the owner's partition, and must agree with what was written and removed.
const bodies = async (c: TestClient, chatEl: Element): Promise<string[]> => {
  const r = (await retrieve(c, chatEl.attrs.with, chatEl.attrs.start)).getChild("chat", NS)!;
  return r.children.filter((x): x is Element => typeof x !== "string" && x.name !== "set").map((i) => i.getChildText("body") ?? "");
};

async function settled(c: TestClient, withJid: string, cond: (cols: Element[]) => boolean): Promise<Element[]> {
  let cols: Element[] = [];
  await waitUntil(async () => cond((cols = chats(await list(c, { with: withJid })))), 20_000, 200);
  return cols;
}

describe("collection state across actor reloads", () => {
  it("continues the open collection after the actor was passivated", async () => {
    const a = await user("conta");
    const b = await user("contb");
    await a.c.xmpp.send(chat(b.acc.jid, "one"));
    await a.c.xmpp.send(chat(b.acc.jid, "two"));
    const [col] = await settled(a.c, b.acc.jid, (cols) => cols.length === 1);
    await waitUntil(async () => (await bodies(a.c, col!)).length === 2, 20_000, 200);
    const before = Number(chats(await list(a.c, { with: b.acc.jid }))[0]!.attrs.version);
    expect(node.passivateIdle(0)).toBeGreaterThan(0);
    await a.c.xmpp.send(chat(b.acc.jid, "three"));
    await waitUntil(async () => (await bodies(a.c, col!)).length === 3, 20_000, 200);
    const after = chats(await list(a.c, { with: b.acc.jid }));
    expect(after).toHaveLength(1);
    expect(await bodies(a.c, after[0]!)).toEqual(["one", "two", "three"]);
    expect(Number(after[0]!.attrs.version)).toBe(before + 1);
    expect(after[0]!.attrs.start).toBe(col!.attrs.start);
  });

  it("continues the newer of two collections with one peer, opened together, after a reload", async () => {
    const a = await user("twoa");
    const b = await user("twob");
    // Sent together, so that both collections are most likely written by one pass of the owner.
    await a.c.xmpp.send(chat(b.acc.jid, "t1", [xml("thread", {}, "T1")]));
    await a.c.xmpp.send(chat(b.acc.jid, "t2", [xml("thread", {}, "T2")]));
    await settled(a.c, b.acc.jid, (cols) => cols.length === 2);
    node.passivateIdle(0);
    await a.c.xmpp.send(chat(b.acc.jid, "t2 again", [xml("thread", {}, "T2")]));
    const byThread = async () => new Map(chats(await list(a.c, { with: b.acc.jid })).map((c) => [c.attrs.thread as string, c]));
    await waitUntil(async () => {
      const t2 = (await byThread()).get("T2");
      return t2 !== undefined && (await bodies(a.c, t2)).length === 2;
    }, 20_000, 200);
    const cols = await byThread();
    expect([...cols.keys()].sort()).toEqual(["T1", "T2"]);
    expect(await bodies(a.c, cols.get("T2")!)).toEqual(["t2", "t2 again"]);
    expect(await bodies(a.c, cols.get("T1")!)).toEqual(["t1"]);
  });

  it("does not continue a removed open collection after a reload", async () => {
    const a = await user("rema");
    const b = await user("remb");
    await a.c.xmpp.send(chat(b.acc.jid, "gone"));
    const [col] = await settled(a.c, b.acc.jid, (cols) => cols.length === 1);
    const rm = await a.c.iq("set", xml("remove", { xmlns: NS, with: col!.attrs.with, start: col!.attrs.start }));
    expect(rm.attrs.type).toBe("result");
    node.passivateIdle(0);
    await a.c.xmpp.send(chat(b.acc.jid, "fresh"));
    const cols = await settled(a.c, b.acc.jid, (cs) => cs.length === 1);
    await waitUntil(async () => (await bodies(a.c, cols[0]!)).length > 0, 20_000, 200);
    // A new collection (perhaps at the same start, D2) with only the new message, at version 0.
    expect(await bodies(a.c, cols[0]!)).toEqual(["fresh"]);
    expect(cols[0]!.attrs.version).toBe("0");
  });

  it("continues every open collection of a user with more peers than a reload reads at once", async () => {
    const a = await user("many");
    // Peers with no account of their own: the sender's copies are archived all the same.
    const peers = Array.from({ length: 40 }, (_, i) => `many-peer-${String(i).padStart(2, "0")}-${Date.now().toString(36)}@${a.acc.domain}`);
    for (const p of peers) await a.c.xmpp.send(chat(p, `first ${p}`));
    const total = async () => Number(setOf((await list(a.c)).getChild("list", NS)).count);
    await waitUntil(async () => (await total()) === peers.length, 20_000, 200);
    node.passivateIdle(0);
    for (const p of peers) await a.c.xmpp.send(chat(p, `second ${p}`));
    // Each second message joins its peer's collection: no new collection, two messages in each.
    for (const p of [peers[0]!, peers[20]!, peers[39]!]) {
      const [col] = await settled(a.c, p, (cols) => cols.length === 1);
      await waitUntil(async () => (await bodies(a.c, col!)).length === 2, 20_000, 200);
      expect(await bodies(a.c, col!)).toEqual([`first ${p}`, `second ${p}`]);
    }
    await waitUntil(async () => (await Promise.all(peers.map(async (p) => chats(await list(a.c, { with: p })).map((c) => c.attrs.version)))).every((v) => v.length === 1 && v[0] === "1"), 20_000, 250);
    expect(await total()).toBe(peers.length);
  });

  it("keeps automatic messages out of a collection uploaded with the peer's bare JID", async () => {
    const a = await user("upa");
    const b = await user("upb");
    // An upload starting a few seconds ahead, then a message in that very second: the automatic
    // collection must move on by a second (D2) rather than land in the uploaded one.
    const start = Math.floor(Date.now() / 1000) * 1000 + 3000;
    const up = await save(a.c, b.acc.jid, iso(start), [xml("to", { secs: "0" }, xml("body", {}, "uploaded"))]);
    expect(up.attrs.type).toBe("result");
    node.passivateIdle(0);
    await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now() + 100)));
    await a.c.xmpp.send(chat(b.acc.jid, "live"));
    const cols = await settled(a.c, b.acc.jid, (cs) => cs.length === 2);
    const uploaded = cols.find((c) => c.attrs.start === iso(start));
    const live = cols.find((c) => c.attrs.start !== iso(start));
    expect(await bodies(a.c, uploaded!)).toEqual(["uploaded"]);
    await waitUntil(async () => (await bodies(a.c, live!)).length === 1, 20_000, 200);
    expect(await bodies(a.c, live!)).toEqual(["live"]);
    expect(Number(setOf((await list(a.c, { with: b.acc.jid })).getChild("list", NS)).count)).toBe(2);
  });
});
