// Small helpers shared by the benchmarks: timing, percentiles, and the result files.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export async function timeMany(n: number, fn: () => Promise<unknown>, warmup = Math.min(20, n)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

/** Two calls timed against each other: the node's and the raw read's, say. */
export type Pair = readonly [() => Promise<unknown>, () => Promise<unknown>];

/**
 * Times several pairs of calls in rounds, `n` samples of each call after a warm-up. Each round
 * takes one sample of every call, so all of them see the same conditions (a compaction, another
 * process's burst, the machine slowing over minutes) rather than one pair alone: page costs at
 * different depths are compared with each other, not only with their raw reads. Which pair
 * starts a round rotates, and which call of a pair goes first alternates.
 */
export async function timeRounds(n: number, pairs: readonly Pair[], warmup = Math.min(20, n)): Promise<[number[], number[]][]> {
  for (let i = 0; i < warmup; i++) {
    for (const [a, b] of pairs) {
      await a();
      await b();
    }
  }
  const out = pairs.map((): [number[], number[]] => [[], []]);
  const one = async (fn: () => Promise<unknown>, into: number[]) => {
    const t = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - t) / 1e6);
  };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < pairs.length; k++) {
      const j = (i + k) % pairs.length;
      const [a, b] = pairs[j]!;
      const [ta, tb] = out[j]!;
      if (i % 2 === 0) {
        await one(a, ta);
        await one(b, tb);
      } else {
        await one(b, tb);
        await one(a, ta);
      }
    }
  }
  return out;
}

export function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export type Row = Record<string, string | number>;

/** Prints a table and writes it as JSON and Markdown under bench/results/. */
export function report(root: string, name: string, title: string, rows: Row[], notes: string[] = []): void {
  const head = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => head.map((h) => (typeof r[h] === "number" ? fmt(r[h] as number) : String(r[h]))));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  const md = [`## ${title}`, "", line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line), "", ...notes].join("\n");
  process.stdout.write(`${md}\n\n`);
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ title, rows, notes, at: new Date().toISOString() }, null, 1));
  writeFileSync(join(dir, `${name}.md`), `${md}\n`);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/**
 * CPU seconds used so far by the local stack's Cassandra and Redis (read from /proc by the pid
 * files `deploy/local/up` writes; NaN where either is not to be found): the rest of what the
 * machine spends on a run, beside the benchmark's own process.
 */
export function stackCpu(root: string): { cassandra: number; redis: number } {
  const tick = 100; // USER_HZ, 100 on Linux
  const of = (name: string): number => {
    try {
      const pid = readFileSync(join(root, ".local", name, `${name}.pid`), "utf8").trim();
      // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      return NaN;
    }
  };
  return { cassandra: of("cassandra"), redis: of("redis") };
}

/**
 * CPU seconds the hypervisor has taken from this machine so far (steal, summed over its cores,
 * from /proc/stat; NaN where not to be read): time the machine's processes were ready to run
 * and were not, which slows whichever run it falls on without showing in any process's CPU.
 */
export function machineSteal(): number {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/);
    return Number(cpu[8]) / 100; // USER_HZ ticks
  } catch {
    return NaN;
  }
}

/**
 * Waits until the stack's Cassandra is quiet (under a tenth of a core for three seconds running),
 * at most `maxMs`, so that a measurement does not start during the flushes and compactions the
 * previous one left behind. Returns the seconds waited.
 */
export async function untilQuiet(root: string, maxMs = 120_000): Promise<number> {
  const t0 = Date.now();
  let quiet = 0;
  let prev = stackCpu(root).cassandra;
  while (quiet < 3 && Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = stackCpu(root).cassandra;
    quiet = Number.isNaN(now) ? 3 : now - prev < 0.1 ? quiet + 1 : 0;
    prev = now;
  }
  return (Date.now() - t0) / 1000;
}
