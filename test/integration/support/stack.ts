import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "../../../src/log/logger.ts";
import { connectCassandra, type CassandraClient, type CassandraConnection } from "../../../src/store/cassandra-client.ts";

// Endpoints of the local stack started by deploy/local/up (listed in .local/stack.env).

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function stackEnv(): Record<string, string> {
  const file = join(ROOT, ".local", "stack.env");
  if (!existsSync(file)) throw new Error(`${file} missing: run deploy/local/up first`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** A name no earlier run used, so tests never see each other's archives. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString("hex")}`;
}

export interface Account {
  local: string;
  domain: string;
  jid: string;
  password: string;
}

export function createAccount(prefix: string, domain?: string): Account {
  const env = stackEnv();
  const d = domain ?? env.XMPP_DOMAIN!;
  const local = uniqueName(prefix);
  const password = `pw-${local}`;
  execFileSync(join(ROOT, "deploy", "local", "adduser"), [local, password, d], { stdio: "pipe" });
  return { local, domain: d, jid: `${local}@${d}`, password };
}

/** The settings for the stack's Cassandra, on the keyspace the store-level tests share. */
export function testKeyspace(): CassandraConnection {
  const env = stackEnv();
  return {
    contactPoints: env.CASSANDRA_CONTACT_POINTS!.split(","),
    localDataCenter: env.CASSANDRA_LOCAL_DC!,
    keyspace: "archive_test",
    tls: false,
    replication: { class: "SimpleStrategy", replication_factor: "1" },
  };
}

/** A client of the tests' shared keyspace (created and migrated if missing). */
export function connectTestKeyspace(): Promise<CassandraClient> {
  return connectCassandra(testKeyspace(), createLogger("silent"));
}
