import { describe, expect, it } from "vitest";
import { lowestLevel, nextClusterLevel, staleLevels } from "../../../src/cluster/levels.ts";

describe("lowestLevel", () => {
  it("is the lowest advertised among live members, with the node's own level for itself", () => {
    expect(lowestLevel(["a", "b", "me"], { a: "2", b: "1", me: "0" }, "me", 3)).toBe(1);
    expect(lowestLevel(["me"], {}, "me", 1)).toBe(1);
  });

  it("counts a member without a level, or with one it cannot read, as 0", () => {
    expect(lowestLevel(["a", "me"], {}, "me", 1)).toBe(0);
    for (const bad of ["", "x", "-1", "1.5", "NaN"]) expect(lowestLevel(["a", "me"], { a: bad }, "me", 1)).toBe(0);
  });

  it("ignores levels of members that are not live", () => {
    expect(lowestLevel(["a", "me"], { a: "1", gone: "0" }, "me", 1)).toBe(1);
  });
});

describe("nextClusterLevel", () => {
  it("keeps the generation while the level rises or stays", () => {
    const start = { level: 0, generation: 0 };
    expect(nextClusterLevel(start, 0)).toBe(start);
    expect(nextClusterLevel(start, 1)).toEqual({ level: 1, generation: 0 });
  });

  it("moves the generation on whenever the level falls, and not back when it rises again", () => {
    const fell = nextClusterLevel({ level: 2, generation: 4 }, 1);
    expect(fell).toEqual({ level: 1, generation: 5 });
    expect(nextClusterLevel(fell, 2)).toEqual({ level: 2, generation: 5 });
  });
});

describe("staleLevels", () => {
  it("names the members with a level that left the membership set, never the node itself", () => {
    expect(staleLevels({ a: "1", b: "1", me: "1" }, new Set(["a"]), "me").sort()).toEqual(["b"]);
    expect(staleLevels({}, new Set(), "me")).toEqual([]);
  });
});
