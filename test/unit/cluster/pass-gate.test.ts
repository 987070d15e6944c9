import { describe, expect, it } from "vitest";
import { PassGate } from "../../../src/cluster/pass-gate.ts";

const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe("PassGate", () => {
  it("hands out as many slots as it has, then makes callers wait", async () => {
    const gate = new PassGate(2);
    expect(gate.tryTake()).toBe(true);
    expect(await settled(gate.take())).toBe(true);
    expect(gate.tryTake()).toBe(false);
    const third = gate.take();
    expect(await settled(third)).toBe(false);
    expect(gate.queued).toBe(1);
    gate.give();
    expect(await settled(third)).toBe(true);
    expect(gate.queued).toBe(0);
  });

  it("serves waiting callers in the order they asked, and never lets tryTake jump the line", async () => {
    const gate = new PassGate(1);
    await gate.take();
    const order: string[] = [];
    const a = gate.take().then(() => order.push("a"));
    const b = gate.take().then(() => order.push("b"));
    gate.give();
    expect(gate.tryTake()).toBe(false);
    await a;
    gate.give();
    await b;
    expect(order).toEqual(["a", "b"]);
  });

  it("never holds more free slots than it was made with", () => {
    const gate = new PassGate(1);
    gate.give();
    gate.give();
    expect(gate.tryTake()).toBe(true);
    expect(gate.tryTake()).toBe(false);
  });

  it("refuses a count that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new PassGate(bad)).toThrow(RangeError);
  });
});
