// Owner → shard → node. The shard of a user must never change for a given shard count (it
// names the queue the user's work goes through), so the hash is fixed here: FNV-1a 32-bit
// over the UTF-8 bytes with a murmur3 finalizer for better spread of the low bits.
// Shard → node uses rendezvous (highest random weight) hashing: when a node joins or leaves,
// only the shards it gains or loses move.

export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3 fmix32. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-8 encoding of `s` (lone surrogates as U+FFFD, like TextEncoder), without allocating. */
export function fnv1a32String(s: string): number {
  let h = 0x811c9dc5;
  // Byte by byte, inline: it runs for every message copy.
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    }
  }
  return h >>> 0;
}

export function hash32(s: string): number {
  return mix32(fnv1a32String(s));
}

/** Shard of an owner; the input must be the prepared bare JID so every path agrees. */
export function shardOf(ownerBareJid: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`invalid shard count: ${shardCount}`);
  return hash32(ownerBareJid) % shardCount;
}

/** Rendezvous weight of a node for a shard. */
export function weight(shard: number, nodeId: string): number {
  return hash32(`${shard}\u0000${nodeId}`);
}

/** The live node that owns a shard: highest weight, ties to the smaller node id. Undefined when none is live. */
export function ownerOf(shard: number, liveNodeIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of liveNodeIds) {
    const w = weight(shard, node);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** The shards `nodeId` owns among `liveNodeIds`. */
export function shardsOwnedBy(nodeId: string, liveNodeIds: readonly string[], shardCount: number): number[] {
  const owned: number[] = [];
  for (let s = 0; s < shardCount; s++) if (ownerOf(s, liveNodeIds) === nodeId) owned.push(s);
  return owned;
}
