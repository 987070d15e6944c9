import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { absoluteTimes, timeItems } from "../../../src/archive/secs.ts";
import type { ArchivedItem, ItemKind } from "../../../src/archive/model.ts";

const START = Date.UTC(1469, 6, 21, 2, 56, 15);
const msg = (at: number, kind: ItemKind = "from"): ArchivedItem => ({ kind, at, payload: "<body>x</body>" });

/** What a cumulative client (QXmpp, Gajim) computes: start + sum of secs; utc items read as given. */
function clientTimes(start: number, timed: { secs?: number; utc?: number }[]): number[] {
  return absoluteTimes(start, timed);
}

describe("timeItems (D5)", () => {
  it("0.51 s intervals alternate 0/1 and the running sum tracks absolute time", () => {
    const items = Array.from({ length: 40 }, (_, i) => msg(START + i * 510));
    const timed = timeItems(START, items);
    expect(timed.slice(0, 6).map((t) => t.secs)).toEqual([0, 1, 0, 1, 0, 1]);
    let sum = 0;
    timed.forEach((t, i) => {
      expect(t.utc).toBeUndefined();
      sum += t.secs ?? 0;
      expect(Math.abs(START + sum * 1000 - items[i]!.at)).toBeLessThanOrEqual(500);
    });
  });

  it("whole-second times give exact deltas", () => {
    const timed = timeItems(START, [msg(START), msg(START + 6000), msg(START + 9000)]);
    expect(timed.map((t) => t.secs)).toEqual([0, 6, 3]);
  });

  it("every page counts from start: a later page's first secs is its offset from start", () => {
    const items = [msg(START + 1000), msg(START + 61_000), msg(START + 62_000)];
    const page2 = timeItems(START, items.slice(1));
    expect(page2.map((t) => t.secs)).toEqual([61, 1]);
  });

  it("a message before start gets utc and leaves the running sum alone", () => {
    const timed = timeItems(START, [msg(START - 5000), msg(START + 2000), msg(START - 1), msg(START + 3000)]);
    expect(timed).toMatchObject([{ utc: START - 5000 }, { secs: 2 }, { utc: START - 1 }, { secs: 1 }]);
    expect(timed[0]?.secs).toBeUndefined();
  });

  it("out-of-order messages get utc", () => {
    const timed = timeItems(START, [msg(START + 10_000), msg(START + 4000), msg(START + 10_400), msg(START + 12_000)]);
    expect(timed).toMatchObject([{ secs: 10 }, { utc: START + 4000 }, { secs: 0 }, { secs: 2 }]);
  });

  it("notes always carry utc and do not count", () => {
    const timed = timeItems(START, [msg(START + 1000), msg(START + 3000, "note"), msg(START + 5000, "to")]);
    expect(timed).toMatchObject([{ secs: 1 }, { utc: START + 3000, kind: "note" }, { secs: 4, kind: "to" }]);
    expect(timed[1]?.secs).toBeUndefined();
  });

  it("keeps the item fields", () => {
    const item: ArchivedItem = { kind: "from", at: START, payload: "<body>hi</body>", name: "nick", jid: "a@b/c" };
    expect(timeItems(START, [item])).toEqual([{ ...item, secs: 0 }]);
  });

  it("property: a cumulative reader recovers every time within half a second", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100_000, max: 10_000_000 }), { maxLength: 60 }), (offsets) => {
        const items = offsets.map((o) => msg(START + o));
        const timed = timeItems(START, items);
        const read = clientTimes(START, timed);
        timed.forEach((t, i) => {
          if (t.secs !== undefined) expect(t.secs).toBeGreaterThanOrEqual(0);
          expect(Math.abs(read[i]! - items[i]!.at)).toBeLessThanOrEqual(500);
        });
        // Sorted, not-before-start input never needs utc.
        const sorted = [...offsets].filter((o) => o >= 0).sort((a, b) => a - b).map((o) => msg(START + o));
        expect(timeItems(START, sorted).every((t) => t.utc === undefined)).toBe(true);
      }),
    );
  });
});

describe("absoluteTimes (uploads)", () => {
  it("secs are cumulative from start", () => {
    expect(absoluteTimes(START, [{ secs: 0 }, { secs: 6 }, { secs: 3 }])).toEqual([START, START + 6000, START + 9000]);
  });
  it("utc gives the time and does not move the running sum", () => {
    expect(absoluteTimes(START, [{ utc: START - 3600_000 }, { secs: 5 }, { utc: START + 99_000 }, { secs: 1 }])).toEqual([
      START - 3600_000,
      START + 5000,
      START + 99_000,
      START + 6000,
    ]);
  });
  it("an element with both counts its secs but is timed by utc; neither → the running sum", () => {
    expect(absoluteTimes(START, [{ secs: 2, utc: START + 50_000 }, {}, { secs: 1 }])).toEqual([
      START + 50_000,
      START + 2000,
      START + 3000,
    ]);
  });
});
