import { compareCollectionKeys } from "../archive/cursors.ts";
import { jidMatches } from "../archive/jid-match.ts";
import type { CollectionMeta } from "../archive/model.ts";
import type { ArchiveStore } from "../store/archive-store.ts";
import { bareJid } from "../protocol/jid.ts";

export interface CollectionFilter {
  with?: string;
  exactmatch: boolean;
  start?: number;
  end?: number;
}

/**
 * Collections matching a list/remove filter, ordered by (start, with). A `with` that
 * names a user reads only that peer's partition; a domain `with` reads the owner's whole list.
 */
export async function matchCollections(store: ArchiveStore, owner: string, f: CollectionFilter): Promise<CollectionMeta[]> {
  const peerBare = f.with !== undefined && f.with.includes("@") ? bareJid(f.with) : undefined;
  const rows = await store.scanCollections(owner, {
    ...(peerBare !== undefined ? { peerBare } : {}),
    ...(f.start !== undefined ? { start: f.start } : {}),
    ...(f.end !== undefined ? { end: f.end } : {}),
  });
  const matched = f.with === undefined ? rows : rows.filter((c) => jidMatches(f.with!, f.exactmatch, c.with));
  return matched.sort(compareCollectionKeys);
}
