import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { chats, iso, list, NS, retrieve, save, setOf } from "./support/archive.ts";
import { chat, connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode, waitUntil } from "./support/node.ts";
import { createAccount, type Account } from "./support/stack.ts";

// What an actor knows of a user's collections survives its passivation: it is loaded again from
// the peer records in the owner's partition, and must agree with what was written and removed.
let node: ArchiveNode;
const open: TestClient[] = [];
async function user(prefix: string): Promise<{ acc: Account; c: TestClient }> {
  const acc = createAccount(prefix);
  const c = await connectClient(acc);
  open.push(c);
  return { acc, c };
}

beforeAll(async () => {
  await resetRedis();
  node = await startNode();
});
afterAll(async () => {
  for (const c of open) await c.stop();
  await node?.stop();
});

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
