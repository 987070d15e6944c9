import { describe, expect, it } from "vitest";
import { EdgeAdmission } from "../../../src/xmpp/edge-admission.ts";

describe("EdgeAdmission: bounded edge memory without reordering", () => {
  it("takes copies while under the limit and counts their bytes until released", () => {
    const a = new EdgeAdmission(100);
    expect(a.admit("f", "h", 1, 60)).toBe(true);
    expect(a.bytesHeld).toBe(60);
    expect(a.release(60)).toEqual([]);
    expect(a.bytesHeld).toBe(0);
  });

  it("sheds everything once over the limit, then asks the host to resend once drained to half", () => {
    const a = new EdgeAdmission(100);
    expect(a.admit("f", "h", 1, 60)).toBe(true);
    expect(a.admit("f", "h", 2, 60)).toBe(false);
    expect(a.isShedding).toBe(true);
    // Small copies are refused too while shedding: nothing may overtake copy 2.
    expect(a.admit("f", "h", 3, 1)).toBe(false);
    expect(a.admit("g", "h2", 7, 1)).toBe(false);
    expect(a.release(60)).toEqual(["h", "h2"]);
    expect(a.isShedding).toBe(false);
  });

  it("after shedding, drops live copies that would overtake the first dropped one until it comes back", () => {
    const a = new EdgeAdmission(100);
    a.admit("f", "h", 1, 80);
    a.admit("f", "h", 2, 80);
    a.release(80);
    // A live copy arrives before the module has processed the resync.
    expect(a.admit("f", "h", 9, 1)).toBe(false);
    // The resends begin with copy 2, then follow in order.
    expect(a.admit("f", "h", 2, 1)).toBe(true);
    expect(a.admit("f", "h", 3, 1)).toBe(true);
    expect(a.admit("f", "h", 9, 1)).toBe(true);
  });

  it("asks again for resends that do not come, and gives up after a long wait", () => {
    let now = 0;
    const a = new EdgeAdmission(100, 300_000, 30_000, () => now);
    a.admit("f", "h", 1, 80);
    a.admit("f", "h", 2, 80);
    expect(a.release(80)).toEqual(["h"]);
    now = 10_000;
    expect(a.tick()).toEqual([]);
    now = 40_000;
    expect(a.tick()).toEqual(["h"]);
    now = 400_000;
    expect(a.tick()).toEqual([]);
    expect(a.admit("f", "h", 9, 1)).toBe(true);
  });

  it("forgets what it waited for when a new stream starts", () => {
    const a = new EdgeAdmission(100);
    a.admit("f", "h", 1, 80);
    a.admit("f", "h", 2, 80);
    a.release(80);
    a.reset();
    expect(a.admit("f", "h", 9, 1)).toBe(true);
  });
});
