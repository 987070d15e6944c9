import { describe, expect, it } from "vitest";
import { afterAssign, assign, freeStart, isStillOpen, takenIn, wholeSecond } from "../../../src/archive/collections.ts";
import type { CollectionMessage, OpenCollection } from "../../../src/archive/collections.ts";

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5) + 678; // mid-second
const IDLE = 30 * 60 * 1000;
const ROMEO = "romeo@montague.net";

function run(messages: CollectionMessage[], opts: { autoOffAt?: (i: number) => number | undefined } = {}) {
  let open: OpenCollection | undefined;
  const log: { kind: string; start: number; with: string; position?: number; thread?: string | undefined }[] = [];
  messages.forEach((m, i) => {
    const a = assign(open, m, { idleMs: IDLE, autoOffAt: opts.autoOffAt?.(i) });
    open = afterAssign(open, a, m);
    log.push({
      kind: a.kind,
      start: a.key.start,
      with: a.key.with,
      position: a.kind === "append" ? a.position : 0,
      thread: open.thread,
    });
  });
  return { log, open };
}

describe("collection start and identity (D2, D4)", () => {
  it("start is the message's whole second, with is the bare JID", () => {
    const a = assign(undefined, { peer: `${ROMEO}/orchard`, at: T0 }, { idleMs: IDLE });
    expect(a).toEqual({ kind: "new", key: { with: ROMEO, start: T0 - 678 }, reason: "none" });
  });
  it("wholeSecond floors, also before 1970", () => {
    expect(wholeSecond(1999)).toBe(1000);
    expect(wholeSecond(-1)).toBe(-1000);
    expect(wholeSecond(-1000)).toBe(-1000);
  });
  it("colliding starts move +1 s until free", () => {
    const s = wholeSecond(T0);
    const taken = takenIn([
      { with: ROMEO, start: s },
      { with: ROMEO, start: s + 1000 },
      { with: "other@x", start: s + 2000 },
    ]);
    expect(freeStart(ROMEO, T0, taken)).toEqual({ with: ROMEO, start: s + 2000 });
    const a = assign(undefined, { peer: ROMEO, at: T0 }, { idleMs: IDLE, isTaken: taken });
    expect(a.key.start).toBe(s + 2000);
  });
  it("a broken isTaken cannot loop forever", () => {
    expect(() => freeStart(ROMEO, T0, () => true)).toThrow(RangeError);
  });
  it("an open collection for another peer is ignored", () => {
    const open: OpenCollection = { key: { with: "x@y", start: 0 }, lastAt: T0, count: 3, version: 2 };
    expect(assign(open, { peer: ROMEO, at: T0 + 1 }, { idleMs: IDLE })).toMatchObject({ kind: "new", reason: "none" });
  });
});

describe("boundaries (D3)", () => {
  it("appends within the idle gap and counts positions and versions", () => {
    const { log, open } = run([
      { peer: ROMEO, at: T0 },
      { peer: `${ROMEO}/a`, at: T0 + 1000 },
      { peer: `${ROMEO}/b`, at: T0 + IDLE + 1000 }, // exactly idleMs after the previous: still the same
    ]);
    expect(log.map((l) => [l.kind, l.position])).toEqual([["new", 0], ["append", 1], ["append", 2]]);
    expect(open).toEqual({ key: { with: ROMEO, start: wholeSecond(T0) }, lastAt: T0 + IDLE + 1000, count: 3, version: 2 });
  });
  it("an idle gap longer than idleMs starts a new collection", () => {
    const open: OpenCollection = { key: { with: ROMEO, start: wholeSecond(T0) }, lastAt: T0, count: 1, version: 0 };
    const a = assign(open, { peer: ROMEO, at: T0 + IDLE + 1 }, { idleMs: IDLE });
    expect(a).toMatchObject({ kind: "new", reason: "idle", key: { start: wholeSecond(T0 + IDLE + 1) } });
  });
  it("the gap counts from the last message, not from the start", () => {
    const msgs = Array.from({ length: 10 }, (_, i) => ({ peer: ROMEO, at: T0 + i * (IDLE - 1) }));
    expect(run(msgs).log.filter((l) => l.kind === "new")).toHaveLength(1);
  });
  it("out-of-order messages append and do not move lastAt back", () => {
    const { log, open } = run([
      { peer: ROMEO, at: T0 },
      { peer: ROMEO, at: T0 + 5000 },
      { peer: ROMEO, at: T0 - 60_000 },
    ]);
    expect(log.map((l) => l.kind)).toEqual(["new", "append", "append"]);
    expect(open?.lastAt).toBe(T0 + 5000);
  });

  describe("threads", () => {
    it("a different thread starts a new collection", () => {
      const { log } = run([
        { peer: ROMEO, at: T0, thread: "t1" },
        { peer: ROMEO, at: T0 + 2000, thread: "t1" },
        { peer: ROMEO, at: T0 + 4000, thread: "t2" },
      ]);
      expect(log.map((l) => [l.kind, l.thread])).toEqual([["new", "t1"], ["append", "t1"], ["new", "t2"]]);
    });
    it("a same-second thread change gets start +1 s (the closed collection's key is taken)", () => {
      const { log } = run([
        { peer: ROMEO, at: T0, thread: "t1" },
        { peer: ROMEO, at: T0 + 100, thread: "t2" },
      ]);
      expect(log[1]?.start).toBe(wholeSecond(T0) + 1000);
    });
    it("a thread-less message joins a threaded collection", () => {
      const { log } = run([
        { peer: ROMEO, at: T0, thread: "t1" },
        { peer: ROMEO, at: T0 + 1000 },
        { peer: ROMEO, at: T0 + 2000, thread: "t1" },
      ]);
      expect(log.map((l) => [l.kind, l.thread])).toEqual([["new", "t1"], ["append", "t1"], ["append", "t1"]]);
    });
    it("a threaded message joins a thread-less collection and gives it its thread", () => {
      const open: OpenCollection = { key: { with: ROMEO, start: wholeSecond(T0) }, lastAt: T0, count: 1, version: 0 };
      const msg = { peer: ROMEO, at: T0 + 1000, thread: "t9" };
      const a = assign(open, msg, { idleMs: IDLE });
      expect(a).toEqual({ kind: "append", key: open.key, position: 1, version: 1, adoptThread: "t9" });
      expect(afterAssign(open, a, msg).thread).toBe("t9");
      // After adopting, another thread is a different thread.
      expect(assign(afterAssign(open, a, msg), { peer: ROMEO, at: T0 + 2000, thread: "t8" }, { idleMs: IDLE }).kind).toBe("new");
    });
  });

  describe("automatic archiving switched off and on", () => {
    const open: OpenCollection = { key: { with: ROMEO, start: wholeSecond(T0) }, lastAt: T0, count: 4, version: 3 };
    it("a switch-off after the last message closes the collection", () => {
      expect(assign(open, { peer: ROMEO, at: T0 + 10 }, { idleMs: IDLE, autoOffAt: T0 + 5 })).toMatchObject({
        kind: "new",
        reason: "auto-restarted",
      });
      expect(assign(open, { peer: ROMEO, at: T0 + 10 }, { idleMs: IDLE, autoOffAt: T0 })).toMatchObject({ kind: "new" });
    });
    it("a switch-off before the last message does not", () => {
      expect(assign(open, { peer: ROMEO, at: T0 + 10 }, { idleMs: IDLE, autoOffAt: T0 - 1 })).toMatchObject({
        kind: "append",
        position: 4,
        version: 4,
      });
    });
    it("in a sequence", () => {
      const { log } = run(
        [
          { peer: ROMEO, at: T0 },
          { peer: ROMEO, at: T0 + 1000 },
          { peer: ROMEO, at: T0 + 5000 },
          { peer: ROMEO, at: T0 + 6000 },
        ],
        { autoOffAt: (i) => (i >= 2 ? T0 + 3000 : undefined) },
      );
      expect(log.map((l) => l.kind)).toEqual(["new", "append", "new", "append"]);
    });
  });
});

describe("isStillOpen", () => {
  const open: OpenCollection = { key: { with: ROMEO, start: 0 }, lastAt: T0, count: 1, version: 0 };
  it("open until idle, closed by a switch-off", () => {
    expect(isStillOpen(open, T0 + IDLE, IDLE)).toBe(true);
    expect(isStillOpen(open, T0 + IDLE + 1, IDLE)).toBe(false);
    expect(isStillOpen(open, T0 + 1, IDLE, T0)).toBe(false);
    expect(isStillOpen(open, T0 + 1, IDLE, T0 - 1)).toBe(true);
  });
});
