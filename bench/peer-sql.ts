import { execFileSync } from "node:child_process";

// SQL access for the peer benchmark through Debian's command-line clients (Node 20 has no
// SQLite, and the benchmark needs nothing more than a few statements): sqlite3 for SQLite,
// psql for PostgreSQL. Both return rows of tab-separated fields (values must not contain
// tabs or newlines).

/** One database that mod_storage_sql writes, and what differs between them. */
export interface SqlDb {
  /** Runs SQL and returns the rows. */
  rows(sql: string): string[][];
  /** Whether mod_storage_sql has created its archive table yet. */
  hasArchiveTable(): boolean;
  /** A fresh random version 4 UUID per row, lower case (as Prosody's util.uuid makes them). */
  uuidExpr: string;
  /** `INSERT ... SELECT <select> FROM <numbers>` with `i` running over 0 .. n - 1. */
  numbered(n: number, insert: string, select: string): string;
  /** Wraps a bulk load: one transaction, and what the database wants after one. */
  bulk(sql: string): string;
}

export function value(db: SqlDb, sql: string): string | undefined {
  return db.rows(sql)[0]?.[0];
}

export const lit = (s: string | number): string => (typeof s === "number" ? String(s) : `'${s.replace(/'/g, "''")}'`);

const rowsOf = (out: string): string[][] =>
  out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));

function aptInstall(pkg: string): void {
  process.stdout.write(`peer: installing ${pkg} from Debian...\n`);
  execFileSync("apt-get", ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "--no-install-recommends", pkg], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

export function ensureSqliteCli(): void {
  try {
    execFileSync("sqlite3", ["-version"], { stdio: "pipe" });
  } catch {
    aptInstall("sqlite3");
  }
}

export function sqliteDb(file: string): SqlDb {
  return {
    rows: (sql) =>
      rowsOf(
        execFileSync("sqlite3", ["-batch", "-noheader", "-separator", "\t", "-cmd", ".timeout 30000", file], {
          input: sql,
          encoding: "utf8",
          maxBuffer: 64 << 20,
        }),
      ),
    hasArchiveTable() {
      return value(this, "SELECT name FROM sqlite_master WHERE name = 'prosodyarchive';") !== undefined;
    },
    uuidExpr:
      "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))",
    numbered: (n, insert, select) => `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${n}) ${insert} ${select} FROM n;`,
    bulk: (sql) => `PRAGMA cache_size = -262144; BEGIN IMMEDIATE; ${sql} COMMIT;`,
  };
}

export interface PgAddress {
  port: number;
  database: string;
  user: string;
}

export function postgresDb(pg: PgAddress): SqlDb {
  return {
    rows: (sql) =>
      rowsOf(
        execFileSync("psql", ["-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"], {
          input: sql,
          encoding: "utf8",
          maxBuffer: 64 << 20,
        }),
      ),
    hasArchiveTable() {
      return value(this, "SELECT to_regclass('prosodyarchive') IS NOT NULL;") === "t";
    },
    uuidExpr: "gen_random_uuid()::text",
    numbered: (n, insert, select) => `${insert} ${select} FROM generate_series(0, ${n - 1}) AS n(i);`,
    // The statistics a provider's autovacuum would gather soon after, so the planner sees the table as it is.
    bulk: (sql) => `BEGIN; ${sql} COMMIT; ANALYZE prosodyarchive;`,
  };
}
