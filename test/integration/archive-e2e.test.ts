import cassandra from "cassandra-driver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { chat, connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode, waitUntil } from "./support/node.ts";
import { createAccount, stackEnv, type Account } from "./support/stack.ts";

// The walking skeleton end to end: a real client's message goes through Prosody, the
// project's feed module, the component stream, a BullMQ queue and lands in Cassandra.
describe("a message archived end to end", () => {
  let node: ArchiveNode;
  let alice: Account;
  let bob: Account;
  let ca: TestClient;
  let cb: TestClient;
  let db: cassandra.Client;

  beforeAll(async () => {
    await resetRedis();
    // With the write thread on (off by default), so the path through it is covered end to end.
    node = await startNode({ CASSANDRA_WRITE_THREAD: "true" });
    alice = createAccount("alice");
    bob = createAccount("bob");
    ca = await connectClient(alice);
    cb = await connectClient(bob);
    const env = stackEnv();
    db = new cassandra.Client({
      contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
      localDataCenter: env.CASSANDRA_LOCAL_DC!,
      keyspace: "archive_test",
    });
    await db.connect();
  });

  afterAll(async () => {
    await ca?.stop();
    await cb?.stop();
    await db?.shutdown();
    await node?.stop();
  });

  it("stores the message once in each archive, with opposite directions", async () => {
    const body = "hello from alice";
    await ca.xmpp.send(chat(bob.jid, body));
    await cb.waitFor((el) => el.is("message") && el.getChildText("body") === body);
    const rows = async (owner: string) =>
      (await db.execute("SELECT kind, payload FROM items WHERE owner = ? ALLOW FILTERING", [owner], { prepare: true })).rows;
    await waitUntil(async () => (await rows(alice.jid)).length === 1 && (await rows(bob.jid)).length === 1, 20_000, 200);
    const [a] = await rows(alice.jid);
    const [b] = await rows(bob.jid);
    expect(a!.get("kind")).toBe("to");
    expect(b!.get("kind")).toBe("from");
    expect(a!.get("payload")).toContain(body);
    expect(b!.get("payload")).toContain(body);
  });

  it("answers preferences through delegation and advertises the stream feature", async () => {
    const reply = await ca.iq("get", xml("pref", { xmlns: "urn:xmpp:archive" }));
    expect(reply.toString()).toContain('type="result"');
    const pref = reply.getChild("pref", "urn:xmpp:archive");
    expect(pref?.getChild("auto")?.attrs.save).toBe("true");
    expect(pref?.getChild("default")?.attrs.unset).toBe("true");
    const feature = ca.features.flatMap((f) => f.getChildren("feature", "urn:xmpp:archive"));
    expect(feature.length).toBeGreaterThan(0);
    expect(feature[0]!.getChild("default")).toBeDefined();
  });
});
