import { describe, expect, it } from "vitest";
import { ArchiveStore } from "../../../src/store/archive-store.ts";
import type { CassandraClient } from "../../../src/store/cassandra-client.ts";
import { statementsOf, tablesOf } from "../../../src/store/statements.ts";
import { Metrics } from "../../../src/metrics/metrics.ts";

// The node's client is bound to no keyspace, so a statement that does not name its keyspace
// would fail at Cassandra ("No keyspace has been specified").
describe("the store's statements", () => {
  const q = statementsOf("archive_x");

  it("name the keyspace of every table they touch", () => {
    for (const [name, text] of Object.entries(q)) {
      if (name === "tables") continue;
      const tables = [...(text as string).matchAll(/\b(?:FROM|INTO|UPDATE)\s+(\S+)/g)].map((m) => m[1]);
      expect(tables.length, name).toBeGreaterThan(0);
      for (const t of tables) expect(t, name).toMatch(/^archive_x\.[a-z_]+$/);
    }
    for (const t of Object.values(q.tables)) expect(t).toMatch(/^archive_x\.[a-z_]+$/);
  });

  it("refuse a keyspace that would need quoting or could inject CQL", () => {
    for (const bad of ["", "Archive", "1archive", "a-b", "a.b", "a; DROP KEYSPACE x", "a".repeat(49)]) {
      expect(() => tablesOf(bad), bad).toThrow();
    }
  });

  it("a store over a client bound to no keyspace must be given one", () => {
    const unbound = { keyspace: undefined } as unknown as CassandraClient;
    expect(() => new ArchiveStore(unbound, new Metrics())).toThrow(/keyspace/);
    expect(() => new ArchiveStore(unbound, new Metrics(), 8, undefined, "archive_x")).not.toThrow();
  });
});
