import { compareCollectionKeys } from "../archive/cursors.ts";
import { jidMatches } from "../archive/jid-match.ts";
import type { CollectionKey, CollectionMeta } from "../archive/model.ts";
import type { ArchiveStore, CollectionScan } from "../store/archive-store.ts";

export interface CollectionFilter {
  with?: string;
  exactmatch: boolean;
  start?: number;
  end?: number;
}

/** The time range of the owner's collections a filter reads (`with` is matched on what it returns). */
export function scanOf(f: CollectionFilter): CollectionScan {
  return {
    ...(f.start !== undefined ? { start: f.start } : {}),
    ...(f.end !== undefined ? { end: f.end } : {}),
  };
}

function keep<K extends CollectionKey>(f: CollectionFilter, rows: K[]): K[] {
  const matched = f.with === undefined ? rows : rows.filter((c) => jidMatches(f.with!, f.exactmatch, c.with));
  return matched.sort(compareCollectionKeys);
}

/** Collections matching a list/remove filter, whole rows, ordered by (start, with). */
export async function matchCollections(store: ArchiveStore, owner: string, f: CollectionFilter): Promise<CollectionMeta[]> {
  return keep(f, await store.scanCollections(owner, scanOf(f)));
}

/** The keys matching a filter, from all of a user's keys, order kept. */
export function selectKeys(f: CollectionFilter, all: readonly CollectionKey[]): CollectionKey[] {
  return all.filter(
    (k) =>
      (f.start === undefined || k.start >= f.start) &&
      (f.end === undefined || k.start < f.end) &&
      (f.with === undefined || jidMatches(f.with, f.exactmatch, k.with)),
  );
}
