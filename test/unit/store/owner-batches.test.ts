import { describe, expect, it } from "vitest";
import { packed } from "../../../src/store/archive-store.ts";

// Several collections' statements for the owner's partition, packed into batches.

describe("owner batches", () => {
  it("puts everything in one batch while it fits, the first statements before and the last after", () => {
    expect(packed([["a1", "a2"], ["b1"]], ["F"], ["L"], 10)).toEqual([["F", "a1", "a2", "b1", "L"]]);
  });

  it("never splits a collection's statements, even one larger than the bound", () => {
    const big = Array.from({ length: 7 }, (_, i) => `b${i}`);
    expect(packed([["a1", "a2"], big, ["c1"]], [], [], 4)).toEqual([["a1", "a2"], big, ["c1"]]);
  });

  it("keeps order and loses nothing, the first statements in the first batch and the last in the last", () => {
    const groups = Array.from({ length: 50 }, (_, g) => Array.from({ length: (g * 7) % 5 + 1 }, (_, i) => `${g}.${i}`));
    const out = packed(groups, ["F"], ["L"], 12);
    expect(out.flat()).toEqual(["F", ...groups.flat(), "L"]);
    expect(out[0]![0]).toBe("F");
    expect(out.at(-1)!.at(-1)).toBe("L");
    for (const b of out) expect(b.length).toBeLessThanOrEqual(13);
    // Every group sits whole in one batch.
    for (const g of groups) expect(out.some((b) => g.every((q) => b.includes(q)))).toBe(true);
  });

  it("gives no batch for nothing", () => {
    expect(packed([], [], [], 10)).toEqual([]);
  });
});
