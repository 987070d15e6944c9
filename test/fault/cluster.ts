import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, stackEnv } from "../integration/support/stack.ts";

// Real node processes against the local stack, for fault scenarios.

export interface ClusterOptions {
  keyspace: string;
  redisDb: number;
  shardCount: number;
  leaseTtlMs: number;
  basePort: number;
  logDir: string;
}

export class NodeProcess {
  proc: ChildProcess | undefined;
  /** Exits we did not cause (not our SIGKILL/SIGTERM). */
  crashes = 0;
  private expectingExit = false;

  constructor(
    readonly id: string,
    readonly metricsPort: number,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  start(): void {
    this.expectingExit = false;
    const log = createWriteStream(this.logFile, { flags: "a" });
    const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout?.pipe(log);
    proc.stderr?.pipe(log);
    proc.on("exit", (code, signal) => {
      if (!this.expectingExit && signal !== "SIGKILL") this.crashes++;
      if (!this.expectingExit) log.write(`\n[fault] exited code=${code} signal=${signal}\n`);
      if (this.proc === proc) this.proc = undefined;
    });
    this.proc = proc;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p) return Promise.resolve();
    this.expectingExit = true;
    return new Promise((resolve) => {
      p.once("exit", () => resolve());
      p.kill(signal);
    });
  }

  pause(): void {
    this.proc?.kill("SIGSTOP");
  }

  resume(): void {
    this.proc?.kill("SIGCONT");
  }

  async readiness(): Promise<{ ready: boolean; edge?: boolean } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      return (await res.json()) as { ready: boolean; edge?: boolean };
    } catch {
      return undefined;
    }
  }

  async queueAges(): Promise<number[]> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}/shards`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { queues: { oldestAgeSeconds: number }[] };
      return body.queues.map((q) => q.oldestAgeSeconds);
    } catch {
      return [];
    }
  }
}

export function makeCluster(n: number, o: ClusterOptions): NodeProcess[] {
  const env = stackEnv();
  mkdirSync(o.logDir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const id = `fault-node-${i + 1}`;
    const port = o.basePort + i;
    return new NodeProcess(
      id,
      port,
      {
        ...env,
        NODE_ID: id,
        REDIS_URL: `${env.REDIS_URL}/${o.redisDb}`,
        CASSANDRA_KEYSPACE: o.keyspace,
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: String(port),
        SHARD_COUNT: String(o.shardCount),
        LEASE_TTL_MS: String(o.leaseTtlMs),
        LOG_LEVEL: "info",
      },
      join(o.logDir, `${id}.log`),
    );
  });
}

export async function findEdge(nodes: NodeProcess[]): Promise<NodeProcess | undefined> {
  for (const n of nodes) if (n.running && (await n.readiness())?.edge) return n;
  return undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
