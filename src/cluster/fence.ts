import cassandra from "cassandra-driver";

const { Long } = cassandra.types;
export type Long = cassandra.types.Long;

/** Bits of a write timestamp below the epoch: microseconds since the lease was taken (about 50 days). */
export const EPOCH_SHIFT = 42;
export const MAX_OFFSET_US = 2 ** EPOCH_SHIFT - 1;

/**
 * Cassandra write timestamps for one lease: epoch in the high bits, a strictly increasing
 * offset in the low bits. Every write of a later owner (higher epoch) outranks every write
 * of an earlier one whatever the clocks say, so a stale owner cannot overwrite it.
 */
export class FenceClock {
  private last = -1;
  /** The epoch's part of every timestamp, computed once. */
  private readonly base: Long;
  constructor(
    readonly epoch: number,
    private readonly acquiredAtMs: number,
  ) {
    this.base = Long.fromNumber(epoch).shiftLeft(EPOCH_SHIFT);
  }

  next(nowMs = Date.now()): Long {
    const offset = Math.max(this.last + 1, Math.floor((nowMs - this.acquiredAtMs) * 1000));
    this.last = Math.min(offset, MAX_OFFSET_US);
    return this.base.add(Long.fromNumber(this.last));
  }

  /** True when the offset space is nearly used up and the lease should be taken anew. */
  exhausted(nowMs = Date.now()): boolean {
    return (nowMs - this.acquiredAtMs) * 1000 > MAX_OFFSET_US * 0.9;
  }
}
