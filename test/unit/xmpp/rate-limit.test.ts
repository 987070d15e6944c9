import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/xmpp/rate-limit.ts";

describe("RateLimiter", () => {
  it("lets a user burst, then refuses until tokens come back", () => {
    const r = new RateLimiter(5, 1000, 2);
    const t = 1_000_000;
    for (let i = 0; i < 10; i++) expect(r.take("a", t)).toBe("ok");
    expect(r.take("a", t)).toBe("user");
    expect(r.take("b", t)).toBe("ok");
    expect(r.take("a", t + 200)).toBe("ok");
    expect(r.take("a", t + 200)).toBe("user");
  });

  it("refuses everyone when the node's budget is spent", () => {
    const r = new RateLimiter(100, 3, 1);
    const t = 5_000;
    expect(r.take("a", t)).toBe("ok");
    expect(r.take("b", t)).toBe("ok");
    expect(r.take("c", t)).toBe("ok");
    expect(r.take("d", t)).toBe("node");
  });

  it("forgets idle users", () => {
    const r = new RateLimiter(5, 1000);
    r.take("a", 0);
    r.take("b", 100_000);
    r.take("c", 200_000);
    expect(r.size).toBeLessThanOrEqual(2);
  });
});
