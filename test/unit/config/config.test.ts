import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../../src/config/config.ts";

const base = {
  XMPP_DOMAINS: "Example.test, other.test",
  COMPONENT_JID: "archive.example.test",
  COMPONENT_SERVICE: "xmpp://127.0.0.1:15347",
  COMPONENT_SECRET: "s3cret",
  REDIS_URL: "redis://127.0.0.1:16390",
  CASSANDRA_CONTACT_POINTS: "127.0.0.1:19042",
  CASSANDRA_LOCAL_DC: "datacenter1",
  CASSANDRA_KEYSPACE: "archive",
};

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig(base);
    expect(c.domains).toEqual(["example.test", "other.test"]);
    expect(c.archive).toMatchObject({ defaultMax: 100, maxPageSize: 1000, forceArchiving: false, autoArchivingEnabled: true });
    expect(c.cassandra.replication).toEqual({ class: "SimpleStrategy", replication_factor: "1" });
    expect(c.cassandra.writeThread).toBe(false);
    expect(c.passesInFlight).toBe(2);
  });

  it("turns the write thread on", () => {
    expect(loadConfig({ ...base, CASSANDRA_WRITE_THREAD: "true" }).cassandra.writeThread).toBe(true);
    expect(() => loadConfig({ ...base, CASSANDRA_WRITE_THREAD: "maybe" })).toThrow(/CASSANDRA_WRITE_THREAD/);
  });

  it("caps the wait between reconnections to Cassandra", () => {
    expect(loadConfig(base).cassandra.reconnectMaxMs).toBe(5000);
    expect(loadConfig({ ...base, CASSANDRA_RECONNECT_MAX_MS: "20000" }).cassandra.reconnectMaxMs).toBe(20_000);
    expect(() => loadConfig({ ...base, CASSANDRA_RECONNECT_MAX_MS: "50" })).toThrow(/CASSANDRA_RECONNECT_MAX_MS/);
    expect(() => loadConfig({ ...base, CASSANDRA_RECONNECT_MAX_MS: "3600000" })).toThrow(/CASSANDRA_RECONNECT_MAX_MS/);
  });

  it("names every bad key without echoing secret values", () => {
    try {
      loadConfig({ ...base, REDIS_URL: "http://x", DEFAULT_MAX: "-1", COMPONENT_SECRET: "" });
      throw new Error("should have failed");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain("REDIS_URL");
      expect(msg).toContain("DEFAULT_MAX");
      expect(msg).toContain("COMPONENT_SECRET");
    }
  });

  it("reads secrets from files and masks them when described", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    writeFileSync(join(dir, "secret"), "from-file\n");
    const { COMPONENT_SECRET: _s, ...rest } = base;
    const c = loadConfig({ ...rest, COMPONENT_SECRET_FILE: join(dir, "secret"), CASSANDRA_PASSWORD: "pw" });
    expect(c.component.secret).toBe("from-file");
    const shown = JSON.stringify(describeConfig(c));
    expect(shown).not.toContain("from-file");
    expect(shown).not.toContain('"pw"');
  });

  it("parses a NetworkTopologyStrategy replication setting", () => {
    const c = loadConfig({ ...base, CASSANDRA_REPLICATION: "NetworkTopologyStrategy:dc1=3,dc2=2" });
    expect(c.cassandra.replication).toEqual({ class: "NetworkTopologyStrategy", dc1: "3", dc2: "2" });
  });
});
