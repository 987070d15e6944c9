/**
 * Tracks which copies of each feed are durable, to acknowledge them cumulatively:
 * the acknowledged position is the highest seq below which every copy seen is durable.
 */
export class FeedAckTracker {
  private readonly feeds = new Map<string, { pending: Set<number>; failed: Set<number>; maxSeen: number; acked: number }>();

  private feed(id: string) {
    let f = this.feeds.get(id);
    if (!f) {
      f = { pending: new Set(), failed: new Set(), maxSeen: -1, acked: -1 };
      this.feeds.set(id, f);
    }
    return f;
  }

  /**
   * Records an arriving copy: "new", "inflight" (a resend of one being queued now: drop it)
   * or "acked" (already durable: acknowledge again).
   */
  arrived(feed: string, seq: number): "new" | "inflight" | "acked" {
    // A feed first seen mid-way (a new edge, or after a restart) starts from its first copy.
    if (!this.feeds.has(feed)) this.feeds.set(feed, { pending: new Set(), failed: new Set(), maxSeen: seq - 1, acked: seq - 1 });
    const f = this.feed(feed);
    if (seq <= f.acked) return "acked";
    // A copy whose queuing failed stays unacknowledged; its resend is taken as new.
    if (f.failed.delete(seq)) return "new";
    if (f.pending.has(seq)) return "inflight";
    f.pending.add(seq);
    if (seq > f.maxSeen) f.maxSeen = seq;
    return "new";
  }

  /** Copies that could not be queued: they keep holding the acknowledgement back until resent. */
  failed(feed: string, seqs: number[]): void {
    const f = this.feed(feed);
    for (const s of seqs) if (f.pending.has(s)) f.failed.add(s);
  }

  /** Marks copies durable; returns the new cumulative ack position if it moved. */
  durable(feed: string, seqs: number[]): number | undefined {
    const f = this.feed(feed);
    for (const s of seqs) f.pending.delete(s);
    // Walk up from the last acknowledged position to the first copy still pending: each seq is
    // passed once over the feed's life, where scanning every pending copy per call is quadratic
    // under a backlog.
    let upTo = f.acked;
    while (upTo < f.maxSeen && !f.pending.has(upTo + 1)) upTo++;
    if (upTo > f.acked) {
      f.acked = upTo;
      return upTo;
    }
    return undefined;
  }

  /** Forgets pending state (after the stream dropped, the module resends everything unacknowledged). */
  reset(): void {
    for (const f of this.feeds.values()) {
      f.pending.clear();
      f.failed.clear();
      f.maxSeen = f.acked;
    }
  }
}
