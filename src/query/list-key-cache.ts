import type { CollectionKey } from "../archive/model.ts";

interface Entry {
  version: string;
  keys: CollectionKey[];
  loadedAt: number;
  /**
   * Set when `version` is the stamp of the user's collections partition, read while every
   * node wrote it: the cluster's level generation then. Absent: read from list_versions.
   */
  generation?: number;
}

/**
 * Users' collection keys (sorted by start, with), kept by the node that answers their
 * queries so that counting a list and finding any page of it costs no scan. An entry is
 * used only while the user's list stamp in storage is unchanged (every new or removed
 * collection changes it) and for at most `maxAgeMs`, which bounds how long collections that
 * expired by TTL still count. Least recently used users go first once `maxKeys` is exceeded.
 */
export class ListKeyCache {
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(
    private readonly maxKeys: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached entry if it is young enough (its stamp is for the caller to compare). */
  get(owner: string): { version: string; keys: readonly CollectionKey[]; generation?: number } | undefined {
    const e = this.entries.get(owner);
    if (!e) return undefined;
    if (this.now() - e.loadedAt > this.maxAgeMs) {
      this.delete(owner);
      return undefined;
    }
    // Re-inserted: Map order is the recency order.
    this.entries.delete(owner);
    this.entries.set(owner, e);
    return e;
  }

  set(owner: string, version: string, keys: CollectionKey[], generation?: number): void {
    this.delete(owner);
    if (keys.length > this.maxKeys) return;
    const e: Entry = { version, keys, loadedAt: this.now() };
    if (generation !== undefined) e.generation = generation;
    this.entries.set(owner, e);
    this.total += keys.length;
    for (const [victim] of this.entries) {
      if (this.total <= this.maxKeys) break;
      this.delete(victim);
    }
  }

  delete(owner: string): void {
    const e = this.entries.get(owner);
    if (!e) return;
    this.entries.delete(owner);
    this.total -= e.keys.length;
  }

  get size(): { users: number; keys: number } {
    return { users: this.entries.size, keys: this.total };
  }
}
