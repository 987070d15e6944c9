import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import cassandra from "cassandra-driver";
import { DEFAULT_CASSANDRA_RECONNECT_MAX_MS, type Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { MIGRATIONS, keyspaceCql } from "./schema.ts";

export type CassandraClient = cassandra.Client;

/**
 * What connecting needs of the Cassandra settings (the in-flight bounds belong to the stores);
 * tools and benchmarks may leave the reconnection cap to its default.
 */
export type CassandraConnection = Omit<Config["cassandra"], "maxWritesInFlight" | "maxReadsInFlight" | "writeThread" | "reconnectMaxMs"> &
  Partial<Pick<Config["cassandra"], "reconnectMaxMs">>;

/**
 * Waits between reconnection attempts to a host that went down: the driver's exponential schedule,
 * doubling from one second (or half the cap, if that is less) up to `maxMs`, with its jitter (up
 * to 15% either way) kept under the cap. The driver's default goes up to ten minutes; a host that
 * comes back after a long outage would then stay unused for as long, with every write and query
 * failing meanwhile. When other hosts are up they announce its return and the driver reconnects at
 * once; the cap matters when the whole cluster, or the way to it, was down.
 */
class CappedReconnection extends cassandra.policies.reconnection.ExponentialReconnectionPolicy {
  constructor(private readonly maxMs: number) {
    super(Math.min(1000, Math.floor(maxMs / 2)), maxMs, false);
  }

  override *newSchedule(): Generator<number, never> {
    const inner = super.newSchedule();
    for (;;) yield Math.min(this.maxMs, inner.next().value as number);
  }
}

/** The driver's options for these settings (`keyspace` unset: the caller adds it where wanted). */
export function baseOptions(cfg: CassandraConnection): cassandra.DseClientOptions {
  const opts: cassandra.DseClientOptions = {
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    socketOptions: { readTimeout: 20_000, connectTimeout: 5000 },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
    policies: { reconnection: new CappedReconnection(cfg.reconnectMaxMs ?? DEFAULT_CASSANDRA_RECONNECT_MAX_MS) },
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
 * Connects, creates the keyspace if missing and applies pending migrations. Returns a client
 * bound to the keyspace, or with `bound: false` one bound to none, for statements that name their
 * keyspace (the archive store's, statements.ts).
 */
export async function connectCassandra(cfg: CassandraConnection, log: Logger, { bound = true } = {}): Promise<CassandraClient> {
  const admin = new cassandra.Client(baseOptions(cfg));
  let keepAdmin = false;
  try {
    await admin.connect();
    await admin.execute(keyspaceCql(cfg.keyspace, cfg.replication));
    const client = new cassandra.Client({ ...baseOptions(cfg), keyspace: cfg.keyspace });
    try {
      await client.connect();
      await migrate(client, log);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw err;
    }
    if (bound) return client;
    await client.shutdown();
    keepAdmin = true;
    return admin;
  } finally {
    if (!keepAdmin) await admin.shutdown();
  }
}

/** How long a migration lock outlives a node that died holding it. */
const LOCK_TTL_SECONDS = 300;

/**
 * Applies the missing migration steps. Nodes that start together on a keyspace take turns:
 * one holds a lock (a lightweight transaction on `schema_lock`, expiring should it die) and
 * applies the steps; the others wait for it and then find nothing left to do. Concurrent schema
 * changes are best avoided in Cassandra, and a later step may undo what an earlier one made.
 */
export async function migrate(client: CassandraClient, log: Logger): Promise<number> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)`,
  );
  await client.execute(`CREATE TABLE IF NOT EXISTS schema_lock (id int PRIMARY KEY, holder text)`);
  const holder = randomUUID();
  for (;;) {
    const applied = await appliedVersions(client);
    if (MIGRATIONS.every((m) => applied.has(m.version))) return Math.max(0, ...applied);
    const rs = await client.execute(
      `INSERT INTO schema_lock (id, holder) VALUES (0, ?) IF NOT EXISTS USING TTL ${LOCK_TTL_SECONDS}`,
      [holder],
      { prepare: true },
    );
    if (rs.first()?.get("[applied]") !== true) {
      log.info("another node is migrating the keyspace; waiting");
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      return await applyMissing(client, log);
    } finally {
      await client.execute(`DELETE FROM schema_lock WHERE id = 0 IF holder = ?`, [holder], { prepare: true }).catch(() => undefined);
    }
  }
}

async function appliedVersions(client: CassandraClient): Promise<Set<number>> {
  const rs = await client.execute(`SELECT version FROM schema_migrations`);
  return new Set(rs.rows.map((r) => r.get("version") as number));
}

async function applyMissing(client: CassandraClient, log: Logger): Promise<number> {
  const applied = await appliedVersions(client);
  let current = Math.max(0, ...applied);
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    // Steps are idempotent (IF NOT EXISTS, or an ALTER whose "already exists" is ignored), so a
    // step cut short by a crash (its lock then expires) can run again.
    for (const stmt of m.statements) {
      try {
        await client.execute(stmt);
      } catch (err) {
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
