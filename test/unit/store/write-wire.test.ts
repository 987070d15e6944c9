import cassandra from "cassandra-driver";
import { describe, expect, it } from "vitest";
import { batchOptions, errorFromWire, errorToWire, fromWire, toWire, type BatchQuery } from "../../../src/store/write-wire.ts";

const { Long, TimeUuid, unset } = cassandra.types;

/** Numbers texts as a write thread's sender does: in the order first seen. */
function numbering(): { textNumber: (t: string) => number; texts: string[] } {
  const texts: string[] = [];
  return {
    texts,
    textNumber: (t) => {
      const n = texts.indexOf(t);
      return n >= 0 ? n : texts.push(t) - 1;
    },
  };
}

/** What a message between threads does to a value. */
const cloned = <T>(v: T): T => structuredClone(v);

describe("batches crossing to the write thread", () => {
  it("sends each statement text once and the statements by number", () => {
    const { textNumber, texts } = numbering();
    const queries: BatchQuery[] = [
      { query: "INSERT A", params: ["u", 1] },
      { query: "INSERT B", params: ["u", 2] },
      { query: "INSERT A", params: ["u", 3] },
    ];
    const wire = toWire(7, queries, { logged: false, timestamp: Long.fromNumber(5) }, textNumber);
    expect(wire.id).toBe(7);
    expect(wire.texts).toEqual([0, 1, 0]);
    expect(texts).toEqual(["INSERT A", "INSERT B"]);
    expect(fromWire(cloned(wire), texts)).toEqual(queries);
  });

  it("keeps a fenced timestamp's 64 bits, which a number would round", () => {
    const ts = Long.fromNumber(123_456).shiftLeft(42).add(Long.fromNumber(987_654_321));
    expect(ts.toNumber()).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    const wire = cloned(toWire(1, [{ query: "Q", params: [] }], { logged: true, timestamp: ts }, () => 0));
    const opts = batchOptions(wire);
    expect((opts.timestamp as cassandra.types.Long).equals(ts)).toBe(true);
    expect(opts.logged).toBe(true);
    expect(opts.prepare).toBe(true);
  });

  it("turns the driver's unset into undefined and UUIDs into their text, leaving the caller's params alone", () => {
    const stamp = TimeUuid.now();
    const params = ["owner", unset, stamp, null, 42, "<body>x</body>"];
    const wire = cloned(toWire(1, [{ query: "Q", params }], { logged: false, timestamp: Long.ONE }, () => 0));
    expect(wire.params[0]).toEqual(["owner", undefined, stamp.toString(), null, 42, "<body>x</body>"]);
    expect(params[1]).toBe(unset);
    expect(params[2]).toBe(stamp);
  });

  it("refuses a statement whose text the thread was never sent", () => {
    const wire = toWire(1, [{ query: "Q", params: [] }], { logged: false, timestamp: Long.ONE }, () => 3);
    expect(() => fromWire(wire, ["A"])).toThrow(/unknown/);
  });
});

describe("errors crossing back", () => {
  it("keeps a driver error a driver error (retried by the shard), with its name, message and code", () => {
    const original = new cassandra.errors.ResponseError(0x2200, "Batch too large");
    const back = errorFromWire(cloned(errorToWire(original)));
    expect(back).toBeInstanceOf(cassandra.errors.DriverError);
    expect(back.name).toBe("ResponseError");
    expect(back.message).toBe("Batch too large");
    expect((back as Error & { code?: number }).code).toBe(0x2200);
  });

  it("keeps any other error out of the driver's kind, so it is not retried forever", () => {
    const back = errorFromWire(cloned(errorToWire(new TypeError("Not a valid Uuid"))));
    expect(back).not.toBeInstanceOf(cassandra.errors.DriverError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("Not a valid Uuid");
    expect(errorFromWire(errorToWire("thrown text")).message).toBe("thrown text");
  });
});
