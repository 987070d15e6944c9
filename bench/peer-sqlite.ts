import { execFileSync } from "node:child_process";

// SQLite access for the peer benchmark through Debian's sqlite3 CLI (Node 20 has no SQLite).

export function ensureSqliteCli(): void {
  try {
    execFileSync("sqlite3", ["-version"], { stdio: "pipe" });
  } catch {
    process.stdout.write("peer: installing sqlite3 from Debian...\n");
    execFileSync("apt-get", ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "--no-install-recommends", "sqlite3"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
}

/** Runs SQL and returns the rows, tab-separated fields (values must not contain tabs or newlines). */
export function sqlite(db: string, sql: string): string[][] {
  const out = execFileSync("sqlite3", ["-batch", "-noheader", "-separator", "\t", "-cmd", ".timeout 30000", db], {
    input: sql,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

export function sqliteValue(db: string, sql: string): string | undefined {
  return sqlite(db, sql)[0]?.[0];
}

export const lit = (s: string | number): string => (typeof s === "number" ? String(s) : `'${s.replace(/'/g, "''")}'`);
