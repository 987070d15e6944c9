import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../../src/actors/user-actor.ts";
import { Metrics } from "../../../src/metrics/metrics.ts";
import { ActorRegistry } from "../../../src/node/actor-registry.ts";
import type { ArchiveStore } from "../../../src/store/archive-store.ts";

// Which actors the registry keeps, drops and reloads. Loading reads storage, so the context's
// store here only counts the loads (a user with no preferences and no peers yet).

function context(loads: string[]): ActorContext {
  const store = {
    loadPrefs: async (owner: string) => void loads.push(owner),
    somePeerStates: async () => ({ states: new Map(), complete: true }),
  } as unknown as ArchiveStore;
  return { store } as unknown as ActorContext;
}

const gauge = async (m: Metrics): Promise<number> => (await m.activeActors.get()).values[0]?.value ?? NaN;

describe("ActorRegistry", () => {
  it("drops one user's actor, so that the next use loads it again, and leaves the others", async () => {
    const loads: string[] = [];
    const ctx = context(loads);
    const metrics = new Metrics();
    const reg = new ActorRegistry(100, 60_000, metrics);
    const a = await reg.get("a@example.test", ctx);
    await reg.get("b@example.test", ctx);
    expect(await reg.get("a@example.test", ctx)).toBe(a);
    reg.drop("a@example.test");
    reg.drop("nobody@example.test");
    expect(reg.size).toBe(1);
    expect(await gauge(metrics)).toBe(1);
    expect(await reg.get("a@example.test", ctx)).not.toBe(a);
    await reg.get("b@example.test", ctx);
    expect(loads).toEqual(["a@example.test", "b@example.test", "a@example.test"]);
  });

  it("passivates the least recently used actor when full", async () => {
    const loads: string[] = [];
    const ctx = context(loads);
    const reg = new ActorRegistry(2, 60_000, new Metrics());
    await reg.get("a@example.test", ctx);
    await reg.get("b@example.test", ctx);
    await reg.get("a@example.test", ctx);
    await reg.get("c@example.test", ctx);
    expect(reg.size).toBe(2);
    await reg.get("a@example.test", ctx);
    await reg.get("b@example.test", ctx);
    expect(loads).toEqual(["a@example.test", "b@example.test", "c@example.test", "b@example.test"]);
  });

  it("drops the actors of a moved shard's users only", async () => {
    const ctx = context([]);
    const reg = new ActorRegistry(100, 60_000, new Metrics());
    for (const u of ["a1", "a2", "b1"]) await reg.get(`${u}@example.test`, ctx);
    reg.dropWhere((owner) => owner.startsWith("a"));
    expect(reg.size).toBe(1);
  });
});
