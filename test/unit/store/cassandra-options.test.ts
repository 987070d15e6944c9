import { describe, expect, it } from "vitest";
import { baseOptions } from "../../../src/store/cassandra-client.ts";

const conn = {
  contactPoints: ["127.0.0.1:19042"],
  localDataCenter: "datacenter1",
  keyspace: "archive",
  tls: false,
  replication: { class: "SimpleStrategy", replication_factor: "1" },
};

/** The first `n` waits of a fresh reconnection schedule, ms. */
function waits(opts: ReturnType<typeof baseOptions>, n: number): number[] {
  const schedule = opts.policies!.reconnection!.newSchedule();
  return Array.from({ length: n }, () => schedule.next().value as number);
}

describe("the driver's reconnection schedule", () => {
  it("doubles from a second and never waits longer than the cap", () => {
    const w = waits(baseOptions({ ...conn, reconnectMaxMs: 8000 }), 40);
    expect(w[0]).toBeGreaterThanOrEqual(1000);
    expect(w[0]).toBeLessThanOrEqual(1150);
    expect(Math.max(...w)).toBeLessThanOrEqual(8000);
    // Past the doublings it stays near the cap (the driver takes up to 15% off).
    for (const x of w.slice(10)) expect(x).toBeGreaterThanOrEqual(8000 * 0.85);
  });

  it("keeps under any cap, the driver's jitter included", () => {
    for (const cap of [100, 1500, 4500, 9000, 600_000]) {
      expect(Math.max(...waits(baseOptions({ ...conn, reconnectMaxMs: cap }), 60)), String(cap)).toBeLessThanOrEqual(cap);
    }
  });

  it("keeps to the default cap when the settings name none", () => {
    // A whole-cluster outage of any length: the next attempt is never more than 5 s away.
    expect(Math.max(...waits(baseOptions(conn), 80))).toBeLessThanOrEqual(5000);
  });

  it("starts at half a cap below two seconds, and still never passes it", () => {
    const w = waits(baseOptions({ ...conn, reconnectMaxMs: 300 }), 10);
    expect(w[0]).toBeGreaterThanOrEqual(150);
    expect(w[0]).toBeLessThanOrEqual(172);
    expect(Math.max(...w)).toBeLessThanOrEqual(300);
  });
});
