import { describe, expect, it } from "vitest";
import { chunksOf } from "../../../src/store/archive-store.ts";

const item = (bytes: number) => ({ kind: "to" as const, at: 0, payload: "x".repeat(bytes) });

describe("item batches", () => {
  it("cut by count", () => {
    const items = Array.from({ length: 5 }, () => item(1));
    expect(chunksOf([0, 1, 2, 3, 4], items, 2, 1 << 20)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("cut by bytes, keeping an item larger than the bound in a batch of its own", () => {
    const items = [item(600), item(600), item(5000), item(10)];
    expect(chunksOf([0, 1, 2, 3], items, 200, 1000)).toEqual([[0], [1], [2], [3]]);
  });

  it("keeps order and loses nothing", () => {
    const items = Array.from({ length: 1000 }, (_, i) => item((i * 37) % 3000));
    const chunks = chunksOf(items.map((_, i) => i), items, 200, 50_000);
    expect(chunks.flat()).toEqual(items.map((_, i) => i));
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(200);
  });
});
