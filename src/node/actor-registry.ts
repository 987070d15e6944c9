import { UserActor, type ActorContext } from "../actors/user-actor.ts";
import type { Metrics } from "../metrics/metrics.ts";

/**
 * The per-user actors this node holds, activated on first use and passivated when idle
 * or when memory is short (least recently used first), so memory follows active users.
 */
export class ActorRegistry {
  // Map iteration order is insertion order: re-inserting on use keeps it least-recent first.
  private readonly actors = new Map<string, UserActor>();

  constructor(
    private readonly maxActors: number,
    private readonly idleMs: number,
    private readonly metrics: Metrics,
  ) {}

  async get(owner: string, ctx: ActorContext): Promise<UserActor> {
    let actor = this.actors.get(owner);
    if (actor) {
      this.actors.delete(owner);
    } else {
      actor = await UserActor.load(owner, ctx);
      while (this.actors.size >= this.maxActors) {
        const oldest = this.actors.keys().next().value;
        if (oldest === undefined) break;
        this.actors.delete(oldest);
      }
    }
    this.actors.set(owner, actor);
    this.metrics.activeActors.set(this.actors.size);
    return actor;
  }

  /** Drops actors idle for longer than `idleMs` (the configured idle time); their state is in Cassandra. */
  passivateIdle(now = Date.now(), idleMs = this.idleMs): number {
    let n = 0;
    for (const [owner, actor] of this.actors) {
      if (now - actor.lastUsed > idleMs) {
        this.actors.delete(owner);
        n++;
      }
    }
    this.metrics.activeActors.set(this.actors.size);
    return n;
  }

  /**
   * Drops one user's actor, so that its next use reloads it from storage (after a failed write its
   * memory may be ahead of what Cassandra has). One lookup: during an outage every owner in every
   * pass can fail, and a scan per failure would grow with all the actors held.
   */
  drop(owner: string): void {
    if (this.actors.delete(owner)) this.metrics.activeActors.set(this.actors.size);
  }

  /** Drops the actors of users the node no longer owns (their shard moved). */
  dropWhere(pred: (owner: string) => boolean): void {
    for (const owner of [...this.actors.keys()]) if (pred(owner)) this.actors.delete(owner);
    this.metrics.activeActors.set(this.actors.size);
  }

  get size(): number {
    return this.actors.size;
  }
}
