import { Redis } from "ioredis";
import { pino } from "pino";
import { createLogger } from "../../src/log/logger.ts";
import { connectCassandra } from "../../src/store/cassandra-client.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { STORAGE_LEVEL } from "../../src/store/storage-level.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { chats, list, NS } from "./support/archive.ts";
import { chat, connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode, waitUntil } from "./support/node.ts";
import { createAccount, stackEnv } from "./support/stack.ts";

// What operators see: metrics after real traffic, health endpoints, Redis ACL authentication.
describe("operations", () => {
  let node: ArchiveNode;
  let second: ArchiveNode | undefined;
  const clients: TestClient[] = [];
  const ACL_USER = "archive-test";
  const ACL_PASS = "acl-secret-pw";

  beforeAll(async () => {
    await resetRedis();
    const env = stackEnv();
    const admin = new Redis(env.REDIS_URL!);
    await admin.call("ACL", "SETUSER", ACL_USER, "on", `>${ACL_PASS}`, "~*", "&*", "+@all");
    await admin.quit();
    node = await startNode({ REDIS_USERNAME: ACL_USER, REDIS_PASSWORD: ACL_PASS });
  });

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await second?.stop();
    await node?.stop();
  });

  async function scrape(): Promise<string> {
    const a = node.metricsAddress()!;
    return (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
  }

  function value(text: string, name: string, labels = ""): number {
    let total = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
        if (labels && !line.includes(labels)) continue;
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
    return total;
  }

  it("exposes every metric with real values after traffic", async () => {
    const a = createAccount("opsa");
    const b = createAccount("opsb");
    const ca = await connectClient(a);
    const cb = await connectClient(b);
    clients.push(ca, cb);
    await ca.iq("set", xml("pref", { xmlns: NS }, xml("item", { jid: "nobody@example.org", save: "false", otr: "concede" })));
    await ca.xmpp.send(chat(b.jid, "counted"));
    await ca.xmpp.send(chat("nobody@example.org", "dropped by preference"));
    await waitUntil(async () => chats(await list(ca, { with: b.jid })).length === 1, 20_000, 200);
    await ca.iq("get", xml("list", { xmlns: NS, start: "not a date" }));
    // A forged feed copy sent by a user straight to the component is refused.
    await ca.xmpp.send(
      xml("message", { to: stackEnv().COMPONENT_JID! }, xml("copy", { xmlns: "urn:x-archive-cluster:feed:0", direction: "sent", owner: b.jid, feed: "x", seq: "1" })),
    );
    let text = "";
    await waitUntil(async () => {
      text = await scrape();
      // B's copy goes through B's shard, which a's list does not wait for.
      return (
        value(text, "xmpp_archive_messages_rejected_total") > 0 &&
        value(text, "xmpp_archive_messages_dropped_total", 'reason="preference"') > 0 &&
        value(text, "xmpp_archive_messages_archived_total", 'direction="received"') > 0
      );
    }, 20_000, 200);
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "xmpp_archive_messages_archived_total",
      "xmpp_archive_messages_dropped_total",
      "xmpp_archive_messages_rejected_total",
      "xmpp_archive_iq_requests_total",
      "xmpp_archive_iq_duration_seconds_count",
      "xmpp_archive_xmpp_errors_sent_total",
      "xmpp_archive_cassandra_request_duration_seconds_count",
      "xmpp_archive_shards_owned",
      "xmpp_archive_lease_acquisitions_total",
      "xmpp_archive_active_actors",
      "xmpp_archive_component_connected",
    ]) {
      expect(value(text, name), name).toBeGreaterThan(0);
    }
    expect(value(text, "xmpp_archive_messages_archived_total", 'direction="sent"')).toBeGreaterThan(0);
    expect(value(text, "xmpp_archive_messages_archived_total", 'direction="received"')).toBeGreaterThan(0);
    expect(value(text, "xmpp_archive_xmpp_errors_sent_total", 'condition="bad-request"')).toBeGreaterThan(0);
    // Present even when nothing went wrong or nothing is waiting.
    for (const name of [
      "nodejs_eventloop_lag_seconds",
      "xmpp_archive_lease_losses_total",
      "xmpp_archive_lease_renew_failures_total",
      "xmpp_archive_cassandra_errors_total",
      "xmpp_archive_queue_depth",
      "xmpp_archive_queue_oldest_job_age_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    // A second node joining makes the first hand shards over.
    second = await startNode({}, false);
    await waitUntil(async () => value(await scrape(), "xmpp_archive_lease_losses_total") > 0, 20_000, 200);
    // No JIDs or message text in any label.
    expect(text).not.toContain(a.jid);
    expect(text).not.toContain("counted");
  });

  it("answers health and readiness, and shows the shard map", async () => {
    const { port } = node.metricsAddress()!;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, boolean> };
    expect(body.checks).toMatchObject({ redis: true, cassandra: true, cluster: true, component: true });
    const shards = (await (await fetch(`http://127.0.0.1:${port}/shards`)).json()) as {
      members: string[];
      storageLevel: number;
      leases: Record<string, string>;
    };
    expect(shards.members.length).toBeGreaterThanOrEqual(1);
    expect(shards.storageLevel).toBe(STORAGE_LEVEL);
    expect(Object.keys(shards.leases)).toHaveLength(8);
  });

  it("creates its keyspace with a per-data-center replication setting and migrates it", async () => {
    const env = stackEnv();
    const cfg = {
      contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
      localDataCenter: env.CASSANDRA_LOCAL_DC!,
      keyspace: "archive_nts_test",
      tls: false,
      replication: { class: "NetworkTopologyStrategy", [env.CASSANDRA_LOCAL_DC!]: "1" },
    };
    const client = await connectCassandra(cfg, createLogger("silent"));
    try {
      const ks = await client.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", ["archive_nts_test"]);
      const repl = ks.first()?.get("replication") as Record<string, string>;
      expect(repl.class).toContain("NetworkTopologyStrategy");
      expect(repl[env.CASSANDRA_LOCAL_DC!]).toBe("1");
      const versions = await client.execute("SELECT version FROM schema_migrations");
      expect(versions.rows.map((r) => r.get("version") as number).sort()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await client.shutdown();
    }
  });

  it("migrates a new keyspace once when three nodes start on it together", async () => {
    const env = stackEnv();
    const keyspace = `archive_race_${Date.now().toString(36)}`;
    const cfg = {
      contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
      localDataCenter: env.CASSANDRA_LOCAL_DC!,
      keyspace,
      tls: false,
      replication: { class: "SimpleStrategy", replication_factor: "1" },
    };
    // Each node's log, to count the steps it applied.
    const applied: number[] = [];
    const logFor = () => pino({ level: "info" }, { write: (line: string) => void (JSON.parse(line).msg === "schema migration applied" && applied.push(1)) });
    const clients = await Promise.all([0, 1, 2].map(() => connectCassandra(cfg, logFor())));
    try {
      const c = clients[0]!;
      // One node applied every step; the others waited for it.
      expect(applied).toHaveLength(MIGRATIONS.length);
      const versions = await c.execute("SELECT version FROM schema_migrations");
      expect(versions.rows.map((r) => r.get("version") as number).sort()).toEqual(MIGRATIONS.map((m) => m.version));
      // Every table of the last step is there, and the lock was given back.
      const tables = await c.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [keyspace]);
      expect(tables.rows.map((r) => r.get("table_name") as string)).toEqual(expect.arrayContaining(["open_collections", "list_versions", "collections"]));
      expect((await c.execute("SELECT holder FROM schema_lock WHERE id = 0")).rows).toHaveLength(0);
      await c.execute(`DROP KEYSPACE ${keyspace}`);
    } finally {
      await Promise.all(clients.map((c) => c.shutdown()));
    }
  });
});
