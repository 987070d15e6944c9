/**
 * Token buckets: per key (a user's bare JID) and for the whole node. A request that finds
 * its bucket empty is refused rather than queued, so one user cannot slow the others down.
 * Buckets of idle keys are forgotten, so memory follows the users active in the last minute.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private node: { tokens: number; at: number };
  private lastSweep = 0;

  constructor(
    private readonly perKeyPerSecond: number,
    private readonly perNodePerSecond: number,
    /** Burst: how many seconds' worth of tokens a bucket holds. */
    private readonly burstSeconds = 2,
  ) {
    this.node = { tokens: perNodePerSecond * burstSeconds, at: 0 };
  }

  /** "ok", or which limit refused the request. */
  take(key: string, now = Date.now()): "ok" | "user" | "node" {
    if (now - this.lastSweep > 60_000) this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: this.perKeyPerSecond * this.burstSeconds, at: now };
    this.refill(b, this.perKeyPerSecond, now);
    this.refill(this.node, this.perNodePerSecond, now);
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      return "user";
    }
    if (this.node.tokens < 1) return "node";
    b.tokens -= 1;
    this.node.tokens -= 1;
    this.buckets.set(key, b);
    return "ok";
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(b: { tokens: number; at: number }, rate: number, now: number): void {
    b.tokens = Math.min(rate * this.burstSeconds, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
  }
}
