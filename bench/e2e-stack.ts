import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../test/integration/support/stack.ts";

// Processes of the end-to-end benchmark: a Prosody instance of its own, an archive node as a
// child process, and the CPU accounting of both (and of the machine) from /proc.

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time (user + system) of a process in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Busy and total CPU time of the whole machine in seconds (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** The first process whose command line contains every one of `parts` (read-only lookup). */
export function findPid(parts: string[]): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
      if (parts.every((p) => cmd.includes(p))) return Number(d);
    } catch {
      // exited while listing
    }
  }
  return undefined;
}

export interface ProsodyOptions {
  state: string;
  c2sPort: number;
  componentPort: number;
  domain: string;
  componentJid: string;
  componentSecret: string;
}

/** A Prosody instance with the archive feed, on its own state directory and ports. */
export class ProsodyInstance {
  pid = 0;
  private logFrom = 0;

  constructor(readonly o: ProsodyOptions) {}

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PROSODY_STATE: this.o.state,
      XMPP_C2S_PORT: String(this.o.c2sPort),
      COMPONENT_PORT: String(this.o.componentPort),
      XMPP_DOMAIN: this.o.domain,
      COMPONENT_JID: this.o.componentJid,
      COMPONENT_SECRET: this.o.componentSecret,
      PROSODY_WITH_MAM: "0",
      PROSODY_STORAGE: "internal",
      PROSODY_ARCHIVE_FEED: "1",
    };
  }

  start(): void {
    execFileSync(join(ROOT, "deploy", "prosody", "start"), { env: this.env(), stdio: ["ignore", "pipe", "inherit"] });
    this.pid = Number(readFileSync(join(this.o.state, "prosody.pid"), "utf8").trim());
    this.logFrom = this.logSize();
  }

  stop(): void {
    execFileSync(join(ROOT, "deploy", "prosody", "stop"), { env: { ...process.env, PROSODY_STATE: this.o.state }, stdio: ["ignore", "pipe", "inherit"] });
  }

  version(): string {
    const m = [...readFileSync(join(this.o.state, "prosody.log"), "utf8").matchAll(/Prosody version (\S+)/g)].pop();
    return m?.[1] ?? "?";
  }

  private logSize(): number {
    const f = join(this.o.state, "prosody.log");
    return existsSync(f) ? readFileSync(f).length : 0;
  }

  /** Warning and error lines logged since start() (the SCRAM iteration notice aside). */
  problems(): string[] {
    const text = readFileSync(join(this.o.state, "prosody.log")).subarray(this.logFrom).toString("utf8");
    return text.split("\n").filter((l) => /\t(error|warn)\t/.test(l) && !/Iteration count/.test(l));
  }

  /** Lines of the archive feed resending unacknowledged copies since start(). */
  resends(): string[] {
    const text = readFileSync(join(this.o.state, "prosody.log")).subarray(this.logFrom).toString("utf8");
    return text.split("\n").filter((l) => /resent \d+ unacknowledged/.test(l));
  }

  /** Registers the accounts that do not exist yet (prosodyctl, a few at a time). */
  async ensureAccounts(names: string[], password: string): Promise<number> {
    const hostDir = encodeURIComponent(this.o.domain).replace(/\./g, "%2e"); // Prosody's datamanager encoding
    const dir = join(this.o.state, "data", hostDir, "accounts");
    const missing = names.filter((n) => !existsSync(join(dir, `${n}.dat`)));
    const env = { ...process.env, PROSODY_STATE: this.o.state };
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < missing.length) {
          const n = missing[next++]!;
          await run(join(ROOT, "deploy", "local", "adduser"), [n, password, this.o.domain], { env });
        }
      }),
    );
    return missing.length;
  }
}

/** An archive node started as `node --max-semi-space-size=256 --import tsx src/main.ts`, its output in a log file. */
export class NodeChild {
  private proc: ChildProcess | undefined;
  exited = false;

  constructor(
    readonly env: Record<string, string>,
    readonly metricsPort: number,
    readonly logFile: string,
  ) {}

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async start(timeoutMs = 180_000): Promise<void> {
    if (await this.get("/healthz").catch(() => undefined)) throw new Error(`port ${this.metricsPort} already answers: another node is running there`);
    const log = createWriteStream(this.logFile, { flags: "w" });
    // Only what the node needs: a shell's stray config variables must not change the run.
    const proc = spawn(process.execPath, ["--max-semi-space-size=256", "--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout?.pipe(log);
    proc.stderr?.pipe(log);
    proc.on("exit", () => (this.exited = true));
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`the node exited during start-up; see ${this.logFile}`);
      const ready = await this.get("/readyz").then((t) => JSON.parse(t) as { ready: boolean; edge?: boolean }, () => undefined);
      if (ready?.ready && ready.edge) break;
      if (Date.now() > deadline) throw new Error(`the node was not ready with the component stream in ${timeoutMs / 1000} s; see ${this.logFile}`);
      await sleep(200);
    }
  }

  async get(path: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }

  /** The sum over labels of each named metric (0 when absent). */
  async metrics(names: string[]): Promise<Record<string, number>> {
    const text = await this.get("/metrics");
    const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const sp = line.lastIndexOf(" ");
      const key = line.slice(0, sp);
      const name = key.includes("{") ? key.slice(0, key.indexOf("{")) : key;
      if (name in out) out[name]! += Number(line.slice(sp + 1));
    }
    return out;
  }

  /** The sample lines of the named metrics with a non-zero value, labels included. */
  async nonZero(names: string[]): Promise<string[]> {
    const text = await this.get("/metrics");
    return text.split("\n").filter((l) => names.some((n) => l.startsWith(`${n}{`) || l.startsWith(`${n} `)) && Number(l.slice(l.lastIndexOf(" ") + 1)) !== 0);
  }

  /** SIGTERM (the node's graceful stop), SIGKILL if it outlasts `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const p = this.proc;
    if (!p || this.exited) return;
    const gone = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(t);
  }
}
