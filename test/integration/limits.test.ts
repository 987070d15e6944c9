import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveNode } from "../../src/node/archive-node.ts";
import { errorCondition, NS } from "./support/archive.ts";
import { connectClient, xml, type TestClient } from "./support/client.ts";
import { resetRedis, startNode } from "./support/node.ts";
import { createAccount } from "./support/stack.ts";

// Limits that keep one user from hogging the archive, answered with the right stanza error.
describe("limits", () => {
  let node: ArchiveNode;
  let c: TestClient;

  beforeAll(async () => {
    await resetRedis();
    node = await startNode({ RATE_LIMIT_PER_USER: "2", MAX_PAGE_SIZE: "5", MAX_SAVE_ITEMS: "3" });
    c = await connectClient(createAccount("limit"));
  });
  afterAll(async () => {
    await c?.stop();
    await node?.stop();
  });

  it("refuses a too large manual save with not-acceptable and clamps a huge max", async () => {
    const items = Array.from({ length: 4 }, (_, i) => xml("to", {}, xml("body", {}, `m${i}`)));
    const big = await c.iq("set", xml("save", { xmlns: NS }, xml("chat", { with: "x@example.org", start: "2020-01-01T00:00:00Z" }, ...items)));
    expect(errorCondition(big)).toBe("not-acceptable");
    const list = await c.iq("get", xml("list", { xmlns: NS }, xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, xml("max", {}, "2147483647"))));
    expect(list.attrs.type).toBe("result");
  });

  it("answers a user over the request rate with policy-violation, and serves others", async () => {
    await new Promise((r) => setTimeout(r, 2100)); // a full bucket
    const replies = await Promise.all(Array.from({ length: 8 }, () => c.iq("get", xml("pref", { xmlns: NS }))));
    const refused = replies.filter((r) => errorCondition(r) === "policy-violation");
    expect(refused.length).toBeGreaterThan(0);
    expect(replies.length - refused.length).toBeGreaterThanOrEqual(4);
    const other = await connectClient(createAccount("limitother"));
    expect((await other.iq("get", xml("pref", { xmlns: NS }))).attrs.type).toBe("result");
    await other.stop();
  });
});
