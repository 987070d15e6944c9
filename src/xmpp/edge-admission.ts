/**
 * Bounds the memory the edge spends on copies it has taken from the server but not yet queued
 * (they pile up while Redis is down or slow), without breaking any user's message order.
 *
 * Past `maxBytes` the edge sheds: it drops every new copy, unacknowledged, so the server module
 * keeps it. Once the held copies drain below half the limit, it asks each host that lost copies
 * to resend what it has not acknowledged, and keeps dropping a feed's copies numbered above the
 * first one it dropped until that one comes back: live copies must not overtake the resends.
 */
export class EdgeAdmission {
  private held = 0;
  private shedding = false;
  /** Per feed: the first copy dropped, which the resends must bring back first. */
  private readonly resumeAt = new Map<string, { seq: number; host: string; since: number; askedAt: number }>();

  constructor(
    private readonly maxBytes: number,
    /** Past this, a feed whose first dropped copy never came back is let go (the module lost it). */
    private readonly giveUpMs = 300_000,
    /** How long to wait for resends before asking again. */
    private readonly askAgainMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether to take a copy that is new to the edge (not a resend of one in flight or acknowledged).
   * A taken copy's bytes count until {@link release}.
   */
  admit(feed: string, host: string, seq: number, bytes: number): boolean {
    const r = this.resumeAt.get(feed);
    if (r && seq === r.seq && !this.shedding) this.resumeAt.delete(feed);
    else if (r && seq > r.seq) return false;
    if (this.shedding || this.held + bytes > this.maxBytes) {
      this.shedding = true;
      if (!r || seq < r.seq) this.resumeAt.set(feed, { seq, host, since: this.now(), askedAt: 0 });
      return false;
    }
    this.held += bytes;
    return true;
  }

  /**
   * Copies left the edge (queued, or given up). Returns the hosts to ask for a resend when
   * shedding just ended.
   */
  release(bytes: number): string[] {
    this.held = Math.max(0, this.held - bytes);
    if (!this.shedding || this.held > this.maxBytes / 2) return [];
    this.shedding = false;
    return this.ask(0);
  }

  /**
   * Called now and then: feeds still waiting for their first dropped copy are asked again
   * (a resync can be lost with the stream); after `giveUpMs` the wait ends.
   */
  tick(): string[] {
    if (this.shedding) return [];
    const now = this.now();
    for (const [feed, r] of this.resumeAt) if (now - r.since > this.giveUpMs) this.resumeAt.delete(feed);
    return this.ask(this.askAgainMs);
  }

  /** A new edge stream: the module resends everything unacknowledged, in order, anyway. */
  reset(): void {
    this.resumeAt.clear();
  }

  get bytesHeld(): number {
    return this.held;
  }

  get isShedding(): boolean {
    return this.shedding;
  }

  /** Hosts of the feeds last asked at least `afterMs` ago (marked as asked now). */
  private ask(afterMs: number): string[] {
    const now = this.now();
    const hosts = new Set<string>();
    for (const r of this.resumeAt.values()) {
      if (now - r.askedAt < afterMs) continue;
      r.askedAt = now;
      hosts.add(r.host);
    }
    return [...hosts];
  }
}
