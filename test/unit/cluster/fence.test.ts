import { describe, expect, it } from "vitest";
import { FenceClock } from "../../../src/cluster/fence.ts";

describe("FenceClock", () => {
  it("orders every write of a later epoch after every write of an earlier one", () => {
    const old = new FenceClock(7, 0);
    const next = new FenceClock(8, 1_000_000);
    const late = old.next(40 * 86_400_000); // an old owner writing 40 days later
    const early = next.next(1_000_000);
    expect(early.greaterThan(late)).toBe(true);
  });

  it("is strictly increasing within a lease even when the clock stands still or goes back", () => {
    const c = new FenceClock(3, 1000);
    const a = c.next(5000);
    const b = c.next(5000);
    const d = c.next(4000);
    expect(b.greaterThan(a)).toBe(true);
    expect(d.greaterThan(b)).toBe(true);
  });
});
