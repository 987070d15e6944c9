/**
 * How many shard passes a node applies at once. A pass holds its copies in memory from the
 * moment they are fetched until Cassandra has them; with every owned shard running a pass at
 * once, all the node's backlog sits in the heap, survives young-generation collections and
 * goes out in small batches. With a few passes at a time the rest waits in Redis, and each pass
 * finds more of a user's copies together (fewer, larger batches).
 *
 * Slots are handed out in the order they were asked for, so every shard gets its turn.
 */
export class PassGate {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, not ${slots}`);
    this.free = slots;
  }

  /** Takes a slot if one is free, without waiting (and never ahead of those already waiting). */
  tryTake(): boolean {
    if (this.free === 0 || this.waiting.length > 0) return false;
    this.free--;
    return true;
  }

  /** Resolves once a slot is this caller's. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back: to the longest waiting caller, if any. */
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else if (this.free < this.slots) this.free++;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
}
