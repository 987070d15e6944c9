import { describe, expect, it } from "vitest";
import { ListKeyCache } from "../../../src/query/list-key-cache.ts";

const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ with: `p${i}@example.org`, start: i }));

describe("ListKeyCache", () => {
  it("returns what was stored with its stamp", () => {
    const c = new ListKeyCache(100, 60_000);
    c.set("a@x", "v1", keys(3));
    expect(c.get("a@x")).toEqual({ version: "v1", keys: keys(3), loadedAt: expect.any(Number) });
    expect(c.get("b@x")).toBeUndefined();
  });

  it("forgets an entry past its age", () => {
    let now = 0;
    const c = new ListKeyCache(100, 1000, () => now);
    c.set("a@x", "v1", keys(3));
    now = 1000;
    expect(c.get("a@x")).toBeDefined();
    now = 1001;
    expect(c.get("a@x")).toBeUndefined();
    expect(c.size).toEqual({ users: 0, keys: 0 });
  });

  it("evicts the least recently used users once the key budget is exceeded", () => {
    const c = new ListKeyCache(10, 60_000);
    c.set("a@x", "v", keys(4));
    c.set("b@x", "v", keys(4));
    c.get("a@x");
    c.set("c@x", "v", keys(4));
    expect(c.get("b@x")).toBeUndefined();
    expect(c.get("a@x")).toBeDefined();
    expect(c.get("c@x")).toBeDefined();
    expect(c.size).toEqual({ users: 2, keys: 8 });
  });

  it("does not keep a list larger than the whole budget, and replaces a user's entry", () => {
    const c = new ListKeyCache(5, 60_000);
    c.set("a@x", "v1", keys(6));
    expect(c.get("a@x")).toBeUndefined();
    c.set("a@x", "v1", keys(2));
    c.set("a@x", "v2", keys(3));
    expect(c.get("a@x")?.version).toBe("v2");
    expect(c.size).toEqual({ users: 1, keys: 3 });
  });

  it("keeps nothing with a budget of 0", () => {
    const c = new ListKeyCache(0, 60_000);
    c.set("a@x", "v", keys(1));
    expect(c.get("a@x")).toBeUndefined();
  });
});
