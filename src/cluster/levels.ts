// Storage levels across the cluster's members (see src/store/storage-level.ts): pure rules, so
// they test without Redis.

/** The lowest storage level among live members, and a number that changes whenever it falls. */
export interface ClusterLevel {
  level: number;
  generation: number;
}

/**
 * The lowest level among `live` members. A member without an advertised level (or an unreadable
 * one) runs a version from before levels: 0. `self` counts with its own level, advertised or not.
 */
export function lowestLevel(live: readonly string[], advertised: Readonly<Record<string, string>>, self: string, selfLevel: number): number {
  let lowest = selfLevel;
  for (const m of live) {
    if (m === self) continue;
    const n = Number(advertised[m]);
    lowest = Math.min(lowest, Number.isInteger(n) && n >= 0 ? n : 0);
  }
  return lowest;
}

/**
 * The cluster's level after observing `level`. The generation moves on whenever the level falls,
 * so whatever a reader learnt while it was higher is not trusted again when it comes back up.
 */
export function nextClusterLevel(prev: ClusterLevel, level: number): ClusterLevel {
  if (level === prev.level) return prev;
  return { level, generation: level < prev.level ? prev.generation + 1 : prev.generation };
}

/** Members with an advertised level that are no longer in the membership set (never `self`). */
export function staleLevels(advertised: Readonly<Record<string, string>>, members: ReadonlySet<string>, self: string): string[] {
  return Object.keys(advertised).filter((m) => m !== self && !members.has(m));
}
