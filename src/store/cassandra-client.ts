import { readFileSync } from "node:fs";
import cassandra from "cassandra-driver";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { MIGRATIONS, keyspaceCql } from "./schema.ts";

export type CassandraClient = cassandra.Client;

/** What connecting needs of the Cassandra settings (the in-flight bounds belong to the stores). */
export type CassandraConnection = Omit<Config["cassandra"], "maxWritesInFlight" | "maxReadsInFlight">;

function baseOptions(cfg: CassandraConnection): cassandra.DseClientOptions {
  const opts: cassandra.DseClientOptions = {
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    socketOptions: { readTimeout: 20_000, connectTimeout: 5000 },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
  };
  if (cfg.username) {
    opts.authProvider = new cassandra.auth.PlainTextAuthProvider(cfg.username, cfg.password ?? "");
  }
  if (cfg.tls) {
    opts.sslOptions = cfg.tlsCaFile ? { ca: [readFileSync(cfg.tlsCaFile)] } : {};
  }
  return opts;
}

/**
 * Connects, creates the keyspace if missing and applies pending migrations.
 * Returns a client bound to the keyspace.
 */
export async function connectCassandra(cfg: CassandraConnection, log: Logger): Promise<CassandraClient> {
  const admin = new cassandra.Client(baseOptions(cfg));
  try {
    await admin.connect();
    await admin.execute(keyspaceCql(cfg.keyspace, cfg.replication));
  } finally {
    await admin.shutdown();
  }
  const client = new cassandra.Client({ ...baseOptions(cfg), keyspace: cfg.keyspace });
  await client.connect();
  await migrate(client, log);
  return client;
}

export async function migrate(client: CassandraClient, log: Logger): Promise<number> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)`,
  );
  const rs = await client.execute(`SELECT version FROM schema_migrations`);
  const applied = new Set(rs.rows.map((r) => r.get("version") as number));
  let current = Math.max(0, ...applied);
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    // Steps are idempotent (IF NOT EXISTS, or an ALTER whose "already exists" is ignored),
    // so two nodes migrating at once converge.
    for (const stmt of m.statements) {
      try {
        await client.execute(stmt);
      } catch (err) {
        // Another node applied the same step first.
        if (!/already exist|conflicts with an existing column/i.test((err as Error).message)) throw err;
      }
    }
    await client.execute(
      `INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)`,
      [m.version, m.description, new Date()],
      { prepare: true },
    );
    log.info({ version: m.version, description: m.description }, "schema migration applied");
    current = m.version;
  }
  return current;
}
