import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { z } from "zod";

// The node's whole configuration, read once at start from the environment (and,
// for secrets, from mounted files named by *_FILE variables), validated so that a
// bad value stops the node with a clear message instead of failing later.

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
  .pipe(z.array(z.string()).min(1));

const replication = z
  .string()
  .regex(
    /^(SimpleStrategy:\d+|NetworkTopologyStrategy:[A-Za-z0-9_.-]+=\d+(,[A-Za-z0-9_.-]+=\d+)*)$/,
    "expected SimpleStrategy:N or NetworkTopologyStrategy:dc1=N,dc2=M",
  );

/** The cap on the wait between attempts to reconnect to a Cassandra host (ms). */
export const DEFAULT_CASSANDRA_RECONNECT_MAX_MS = 5000;
/** A keyspace name the project accepts: a lower-case CQL identifier, which statements use unquoted. */
export const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

const schema = z.object({
  NODE_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
  XMPP_DOMAINS: list,
  COMPONENT_JID: z.string().min(1),
  COMPONENT_SERVICE: z.string().regex(/^xmpp:\/\/[^:/]+:\d+$/, "expected xmpp://host:port"),
  COMPONENT_SECRET: z.string().min(1),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "expected redis:// or rediss://"),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_TLS: bool.default(false),
  REDIS_TLS_CA_FILE: z.string().optional(),
  CASSANDRA_CONTACT_POINTS: list,
  CASSANDRA_LOCAL_DC: z.string().min(1),
  CASSANDRA_KEYSPACE: z.string().regex(KEYSPACE_NAME, "a lower-case CQL identifier"),
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
  CASSANDRA_TLS: bool.default(false),
  CASSANDRA_TLS_CA_FILE: z.string().optional(),
  CASSANDRA_REPLICATION: replication.default("SimpleStrategy:1"),
  CASSANDRA_MAX_WRITES_IN_FLIGHT: int(1, 4096).default(128),
  CASSANDRA_MAX_READS_IN_FLIGHT: int(1, 4096).default(256),
  /**
   * Run the shard owners' write batches on a thread of their own (with a driver client of its own):
   * for nodes given more than two cores; on two it measured no faster and costs more memory.
   */
  CASSANDRA_WRITE_THREAD: bool.default(false),
  /**
   * Longest wait between attempts to reconnect to a Cassandra host that went down. The driver's own
   * default grows to 10 minutes, so a node could go on failing its writes and queries for minutes
   * after a whole-cluster outage ended; an attempt every few seconds costs nothing.
   */
  CASSANDRA_RECONNECT_MAX_MS: int(100, 600_000).default(DEFAULT_CASSANDRA_RECONNECT_MAX_MS),
  METRICS_HOST: z.string().default("0.0.0.0"),
  METRICS_PORT: int(0, 65535).default(9464),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SHARD_COUNT: int(1, 4096).default(64),
  /** Shard passes (a shard's waiting jobs, applied together) a node runs at once; the rest wait in Redis. */
  SHARD_PASSES_IN_FLIGHT: int(1, 4096).default(2),
  DEFAULT_MAX: int(1, 10_000).default(100),
  MAX_PAGE_SIZE: int(1, 10_000).default(1000),
  /** Pages are cut before their stanza exceeds this many bytes (Prosody drops a component over ~512 KB). */
  MAX_REPLY_BYTES: int(4096, 10_000_000).default(256 * 1024),
  FORCE_ARCHIVING: bool.default(false),
  AUTO_ARCHIVING_ENABLED: bool.default(true),
  COLLECTION_IDLE_SECONDS: int(1, 30 * 86_400).default(1800),
  MAX_SAVE_ITEMS: int(1, 1_000_000).default(5000),
  /** Collection keys the query path keeps in memory over all users (0: none). */
  LIST_CACHE_KEYS: int(0, 100_000_000).default(1_000_000),
  /** Longest a user's cached collection keys are trusted (collections that expire by TTL count until then). */
  LIST_CACHE_SECONDS: int(1, 86_400).default(60),
  CHANGE_RETENTION_DAYS: int(1, 3650).default(365),
  /** How long a query waits for the user's earlier writes to be applied (read-your-writes). */
  READ_BARRIER_MS: int(0, 120_000).default(5000),
  /** How long a command waits for its result before answering with an error. */
  COMMAND_TIMEOUT_MS: int(100, 300_000).default(15_000),
  SHUTDOWN_TIMEOUT_SECONDS: int(1, 3600).default(25),
  LEASE_TTL_MS: int(1000, 600_000).default(10_000),
  ACTOR_IDLE_SECONDS: int(1, 86_400).default(600),
  MAX_ACTORS: int(10, 10_000_000).default(200_000),
  /** Copies the edge holds before they are queued (they pile up while Redis is down); past it, the server keeps them. */
  EDGE_BUFFER_BYTES: int(1_000_000, 10_000_000_000).default(64 * 1024 * 1024),
  /** Archive requests one user may make per second (a burst of twice that is allowed). */
  RATE_LIMIT_PER_USER: int(1, 1_000_000).default(50),
  /** Archive requests the node answers per second over all users. */
  RATE_LIMIT_PER_NODE: int(1, 10_000_000).default(5000),
});

export type ConfigInput = z.input<typeof schema>;

export interface Config {
  nodeId: string;
  domains: string[];
  component: { jid: string; service: string; secret: string };
  redis: { url: string; username?: string; password?: string; tls: boolean; tlsCaFile?: string };
  cassandra: {
    contactPoints: string[];
    localDataCenter: string;
    keyspace: string;
    username?: string;
    password?: string;
    tls: boolean;
    tlsCaFile?: string;
    replication: Record<string, string>;
    /** Requests of the shard owners' writers at Cassandra at once, at most (reads they make included). */
    maxWritesInFlight: number;
    /** Requests of the query path at Cassandra at once, at most. */
    maxReadsInFlight: number;
    /** The write batches run on a worker thread with a client of its own. */
    writeThread: boolean;
    /** Longest wait between attempts to reconnect to a host that went down, ms. */
    reconnectMaxMs: number;
  };
  metrics: { host: string; port: number };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  shardCount: number;
  /** Shard passes the node applies at once over all the shards it owns. */
  passesInFlight: number;
  archive: {
    defaultMax: number;
    maxPageSize: number;
    maxReplyBytes: number;
    forceArchiving: boolean;
    autoArchivingEnabled: boolean;
    collectionIdleMs: number;
    maxSaveItems: number;
    changeRetentionMs: number;
    listCacheKeys: number;
    listCacheMaxAgeMs: number;
  };
  readBarrierMs: number;
  commandTimeoutMs: number;
  shutdownTimeoutMs: number;
  leaseTtlMs: number;
  actorIdleMs: number;
  maxActors: number;
  rateLimit: { perUser: number; perNode: number };
  /** Bytes of copies the edge holds before they are queued. */
  edgeBufferBytes: number;
}

/** Secret values may come from a file (Kubernetes secret volume) instead of the environment. */
const SECRET_KEYS = ["COMPONENT_SECRET", "REDIS_PASSWORD", "CASSANDRA_PASSWORD"] as const;

export class ConfigError extends Error {}

function resolveSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const key of SECRET_KEYS) {
    const file = env[`${key}_FILE`];
    if (file && !env[key]) {
      try {
        out[key] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      } catch (err) {
        throw new ConfigError(`${key}_FILE: cannot read ${file}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

function parseReplication(spec: string): Record<string, string> {
  const [cls, rest = ""] = spec.split(":") as [string, string?];
  if (cls === "SimpleStrategy") return { class: "SimpleStrategy", replication_factor: rest };
  const out: Record<string, string> = { class: "NetworkTopologyStrategy" };
  for (const pair of rest.split(",")) {
    const [dc, n] = pair.split("=") as [string, string];
    out[dc] = n;
  }
  return out;
}

/** Reads and validates the configuration; throws ConfigError naming every bad key (never their values). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const withSecrets = resolveSecretFiles(env);
  // Empty strings count as unset, so `FOO=` in a file behaves like no FOO.
  const cleaned = Object.fromEntries(
    Object.entries(withSecrets).filter(([, v]) => v !== undefined && v !== ""),
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  return {
    nodeId: c.NODE_ID,
    domains: c.XMPP_DOMAINS.map((d) => d.toLowerCase()),
    component: { jid: c.COMPONENT_JID, service: c.COMPONENT_SERVICE, secret: c.COMPONENT_SECRET },
    redis: {
      url: c.REDIS_URL,
      username: c.REDIS_USERNAME,
      password: c.REDIS_PASSWORD,
      tls: c.REDIS_TLS || c.REDIS_URL.startsWith("rediss://"),
      tlsCaFile: c.REDIS_TLS_CA_FILE,
    },
    cassandra: {
      contactPoints: c.CASSANDRA_CONTACT_POINTS,
      localDataCenter: c.CASSANDRA_LOCAL_DC,
      keyspace: c.CASSANDRA_KEYSPACE,
      username: c.CASSANDRA_USERNAME,
      password: c.CASSANDRA_PASSWORD,
      tls: c.CASSANDRA_TLS,
      tlsCaFile: c.CASSANDRA_TLS_CA_FILE,
      replication: parseReplication(c.CASSANDRA_REPLICATION),
      maxWritesInFlight: c.CASSANDRA_MAX_WRITES_IN_FLIGHT,
      maxReadsInFlight: c.CASSANDRA_MAX_READS_IN_FLIGHT,
      writeThread: c.CASSANDRA_WRITE_THREAD,
      reconnectMaxMs: c.CASSANDRA_RECONNECT_MAX_MS,
    },
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
    shardCount: c.SHARD_COUNT,
    passesInFlight: c.SHARD_PASSES_IN_FLIGHT,
    archive: {
      defaultMax: c.DEFAULT_MAX,
      maxPageSize: Math.max(c.MAX_PAGE_SIZE, 1),
      maxReplyBytes: c.MAX_REPLY_BYTES,
      forceArchiving: c.FORCE_ARCHIVING,
      autoArchivingEnabled: c.AUTO_ARCHIVING_ENABLED,
      collectionIdleMs: c.COLLECTION_IDLE_SECONDS * 1000,
      maxSaveItems: c.MAX_SAVE_ITEMS,
      changeRetentionMs: c.CHANGE_RETENTION_DAYS * 86_400_000,
      listCacheKeys: c.LIST_CACHE_KEYS,
      listCacheMaxAgeMs: c.LIST_CACHE_SECONDS * 1000,
    },
    readBarrierMs: c.READ_BARRIER_MS,
    commandTimeoutMs: c.COMMAND_TIMEOUT_MS,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    leaseTtlMs: c.LEASE_TTL_MS,
    actorIdleMs: c.ACTOR_IDLE_SECONDS * 1000,
    maxActors: c.MAX_ACTORS,
    rateLimit: { perUser: c.RATE_LIMIT_PER_USER, perNode: c.RATE_LIMIT_PER_NODE },
    edgeBufferBytes: c.EDGE_BUFFER_BYTES,
  };
}

/** The configuration with secrets masked, for the start-up log line. */
export function describeConfig(c: Config): Record<string, unknown> {
  return {
    ...c,
    component: { ...c.component, secret: "***" },
    redis: { ...c.redis, password: c.redis.password ? "***" : undefined },
    cassandra: { ...c.cassandra, password: c.cassandra.password ? "***" : undefined },
  };
}
