import { describe, expect, it } from "vitest";
import { emptyPrefs } from "../../../src/archive/model.ts";
import type { ItemPref, Prefs } from "../../../src/archive/model.ts";
import { defaultPolicy } from "../../../src/archive/policy.ts";
import type { ArchivePolicy } from "../../../src/archive/policy.ts";
import {
  allMethods,
  applyAuto,
  applyItemRemove,
  applyPrefSet,
  applySessionRemove,
  checkAuto,
  forcedSave,
  hasChanges,
  nextSessionExpiry,
  pickItem,
  pruneSessions,
  resolveExpire,
  resolveSave,
  specificity,
  touchSession,
  viewPrefs,
} from "../../../src/archive/prefs.ts";
import type { PrefSetRequest } from "../../../src/archive/prefs.ts";

const NOW = 1_700_000_000_000;
const policy = (over: Partial<ArchivePolicy> = {}): ArchivePolicy => ({ ...defaultPolicy(), ...over });
const item = (jid: string, save: ItemPref["save"], exactmatch = false, extra: Partial<ItemPref> = {}): ItemPref => ({
  jid,
  exactmatch,
  save,
  otr: "concede",
  ...extra,
});
const prefsWith = (over: Partial<Prefs>): Prefs => ({ ...emptyPrefs(), ...over });
const setReq = (over: Partial<PrefSetRequest>): PrefSetRequest => ({ items: [], sessions: [], methods: {}, ...over });

describe("D13: most specific item wins", () => {
  it("specificity ranks", () => {
    expect(specificity({ jid: "a@b/c", exactmatch: true })).toBe(6);
    expect(specificity({ jid: "a@b/c", exactmatch: false })).toBe(5);
    expect(specificity({ jid: "a@b", exactmatch: true })).toBe(4);
    expect(specificity({ jid: "a@b", exactmatch: false })).toBe(3);
    expect(specificity({ jid: "b", exactmatch: true })).toBe(2);
    expect(specificity({ jid: "b", exactmatch: false })).toBe(1);
  });

  // Items in least-specific-first order so "first listed" can never explain the result.
  const items: ItemPref[] = [
    item("montague.net", "false"),
    item("montague.net", "message", true),
    item("romeo@montague.net", "body"),
    item("juliet@capulet.com", "message", true),
    item("romeo@montague.net/orchard", "message"),
    item("capulet.com", "false"),
  ];

  it.each([
    ["romeo@montague.net/orchard", "romeo@montague.net/orchard"],
    ["romeo@montague.net/balcony", "romeo@montague.net"],
    ["romeo@montague.net", "romeo@montague.net"],
    ["benvolio@montague.net/home", "montague.net"],
    ["juliet@capulet.com", "juliet@capulet.com"],
    ["juliet@capulet.com/chamber", "capulet.com"],
    ["nurse@capulet.com", "capulet.com"],
    ["stranger@verona.it", undefined],
  ])("%s → %s", (peer, jid) => {
    expect(pickItem(items, peer)?.jid).toBe(jid);
  });

  it("the exact domain rule beats the domain rule only for the domain itself", () => {
    // Stored prefs never hold the same jid twice, but ranking alone must still decide.
    const rules = [item("montague.net", "false"), item("montague.net", "message", true)];
    expect(pickItem(rules, "montague.net")?.save).toBe("message");
    expect(pickItem(rules, "a@montague.net")?.save).toBe("false");
    expect(pickItem(rules, "montague.net/x")?.save).toBe("false");
  });
});

describe("resolveSave precedence: session → item → default → server default", () => {
  const base = prefsWith({
    default: { save: "false", otr: "concede" },
    items: [item("romeo@montague.net", "message")],
    sessions: [{ thread: "t1", save: "body", timeout: 3600, expiresAt: NOW + 1000 }],
  });

  it("session rule wins for its thread", () => {
    expect(resolveSave(base, { peer: "romeo@montague.net/orchard", thread: "t1", now: NOW }, policy())).toBe("body");
  });
  it("expired session rule is ignored", () => {
    expect(resolveSave(base, { peer: "romeo@montague.net/orchard", thread: "t1", now: NOW + 1000 }, policy())).toBe("message");
  });
  it("item when no session matches", () => {
    expect(resolveSave(base, { peer: "romeo@montague.net/orchard", thread: "other", now: NOW }, policy())).toBe("message");
  });
  it("default when no item matches", () => {
    expect(resolveSave(base, { peer: "tybalt@capulet.com", now: NOW }, policy())).toBe("false");
  });
  it("an item without save falls through to default", () => {
    const p = prefsWith({ default: { save: "false", otr: "concede" }, items: [{ jid: "romeo@montague.net", exactmatch: false }] });
    expect(resolveSave(p, { peer: "romeo@montague.net", now: NOW }, policy())).toBe("false");
  });
  it("server default when nothing is set", () => {
    expect(resolveSave(emptyPrefs(), { peer: "a@b", now: NOW }, policy())).toBe("body");
    expect(resolveSave(emptyPrefs(), { peer: "a@b", now: NOW }, policy({ defaultSave: "false" }))).toBe("false");
  });
  it("message mode degrades to body when unsupported; stream is never honoured", () => {
    expect(resolveSave(base, { peer: "romeo@montague.net", now: NOW }, policy({ supportMessageMode: false }))).toBe("body");
    const s = prefsWith({ default: { save: "stream", otr: "concede" } });
    expect(resolveSave(s, { peer: "a@b", now: NOW }, policy())).toBe("message");
    expect(resolveSave(s, { peer: "a@b", now: NOW }, policy({ supportMessageMode: false }))).toBe("body");
  });
  it("compulsory archiving ignores preferences (D11)", () => {
    const off = prefsWith({ default: { save: "false", otr: "concede" }, sessions: [{ thread: "t", save: "false" }] });
    expect(resolveSave(off, { peer: "a@b", thread: "t", now: NOW }, policy({ forceArchiving: true }))).toBe("body");
    expect(resolveSave(off, { peer: "a@b", now: NOW }, policy({ forceArchiving: true, defaultSave: "message" }))).toBe("message");
    expect(resolveSave(off, { peer: "a@b", now: NOW }, policy({ forceArchiving: true, defaultSave: "false" }))).toBe("body");
    expect(forcedSave(policy({ forceArchiving: true, defaultSave: "message", supportMessageMode: false }))).toBe("body");
  });
});

describe("resolveExpire: item → default → policy (D17)", () => {
  const p = prefsWith({
    default: { save: "body", otr: "concede", expire: 600 },
    items: [item("romeo@montague.net", "body", false, { expire: 60 }), item("capulet.com", "body")],
  });
  it.each([
    ["romeo@montague.net/orchard", 60],
    ["juliet@capulet.com", 600], // item without expire falls through
    ["x@verona.it", 600],
  ])("%s → %s", (peer, exp) => {
    expect(resolveExpire(p, peer, policy({ defaultExpire: 9 }))).toBe(exp);
  });
  it("policy default when nothing is set, undefined when none", () => {
    expect(resolveExpire(emptyPrefs(), "a@b", policy({ defaultExpire: 9 }))).toBe(9);
    expect(resolveExpire(emptyPrefs(), "a@b", policy())).toBeUndefined();
  });
  it("compulsory archiving uses only the policy", () => {
    expect(resolveExpire(p, "romeo@montague.net", policy({ forceArchiving: true, defaultExpire: 9 }))).toBe(9);
  });
});

describe("applyPrefSet merges", () => {
  it("default replaces default", () => {
    const start = prefsWith({ default: { save: "body", otr: "concede", expire: 5 } });
    const r = applyPrefSet(start, setReq({ default: { save: "false", otr: "forbid" } }), policy(), NOW);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.prefs.default).toEqual({ save: "false", otr: "forbid" });
    expect(r.value.changed).toEqual({ default: { save: "false", otr: "forbid" }, items: [], sessions: [] });
    expect(start.default?.expire).toBe(5); // input untouched
  });

  it("items upsert by jid alone (exactmatch is part of the rule, not of the key)", () => {
    const start = prefsWith({ items: [item("romeo@montague.net", "body", true), item("capulet.com", "false")] });
    const r = applyPrefSet(
      start,
      setReq({ items: [item("romeo@montague.net", "message", false), item("verona.it", "body")] }),
      policy(),
      NOW,
    );
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.prefs.items).toEqual([item("romeo@montague.net", "message", false), item("capulet.com", "false"), item("verona.it", "body")]);
    expect(r.value.changed.items.map((i) => i.jid)).toEqual(["romeo@montague.net", "verona.it"]);
    expect(start.items).toHaveLength(2);
  });

  it("a later element for the same key in one request wins", () => {
    const r = applyPrefSet(emptyPrefs(), setReq({ items: [item("a@b", "body"), item("a@b", "false")] }), policy(), NOW);
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.prefs.items).toEqual([item("a@b", "false")]);
    expect(r.value.changed.items).toEqual([item("a@b", "false")]);
  });

  it("sessions upsert by thread with a server-assigned timeout; the client's timeout is ignored", () => {
    const start = prefsWith({ sessions: [{ thread: "t1", save: "body", timeout: 3600, expiresAt: NOW }] });
    const r = applyPrefSet(
      start,
      setReq({ sessions: [{ thread: "t1", save: "false", otr: "concede", timeout: 5 }, { thread: "t2", save: "body" }] }),
      policy({ sessionTimeoutSeconds: 1800 }),
      NOW + 10,
    );
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.prefs.sessions).toEqual([
      { thread: "t1", save: "false", otr: "concede", timeout: 1800, expiresAt: NOW + 10 + 1_800_000 },
      { thread: "t2", save: "body", timeout: 1800, expiresAt: NOW + 10 + 1_800_000 },
    ]);
    expect(r.value.changed.sessions.map((s) => s.timeout)).toEqual([1800, 1800]);
  });

  it("methods merge; the push carries all three", () => {
    const start = prefsWith({ methods: { auto: "prefer", local: "forbid" } });
    const r = applyPrefSet(start, setReq({ methods: { local: "prefer" } }), policy(), NOW);
    if (!r.ok) throw new Error("expected ok");
    expect(r.value.prefs.methods).toEqual({ auto: "prefer", local: "prefer" });
    expect(r.value.changed.methods).toEqual({ auto: "prefer", local: "prefer", manual: "concede" });
  });

  it("an empty set changes nothing", () => {
    const r = applyPrefSet(emptyPrefs(), setReq({}), policy(), NOW);
    if (!r.ok) throw new Error("expected ok");
    expect(hasChanges(r.value.changed)).toBe(false);
    expect(r.value.prefs).toEqual(emptyPrefs());
  });

  it("<auto/> inside <pref/>: global is stored, stream is handed back, neither is a push change", () => {
    const g = applyPrefSet(emptyPrefs(), setReq({ auto: { save: false, scope: "global" } }), policy(), NOW);
    if (!g.ok) throw new Error("expected ok");
    expect(g.value.prefs.autoGlobal).toBe(false);
    expect(g.value.auto).toEqual({ save: false, scope: "global" });
    expect(hasChanges(g.value.changed)).toBe(false);
    const s = applyPrefSet(emptyPrefs(), setReq({ auto: { save: false, scope: "stream" } }), policy(), NOW);
    if (!s.ok) throw new Error("expected ok");
    expect(s.value.prefs.autoGlobal).toBeUndefined();
    expect(s.value.auto).toEqual({ save: false, scope: "stream" });
  });
});

describe("applyPrefSet errors (all or nothing)", () => {
  const cases: [string, PrefSetRequest, Partial<ArchivePolicy>, string, string][] = [
    ["stream default", setReq({ default: { save: "stream", otr: "concede" } }), {}, "feature-not-implemented", "cancel"],
    ["stream item", setReq({ items: [item("a@b", "stream")] }), {}, "feature-not-implemented", "cancel"],
    ["stream session", setReq({ sessions: [{ thread: "t", save: "stream" }] }), {}, "feature-not-implemented", "cancel"],
    ["message unsupported", setReq({ default: { save: "message", otr: "concede" } }), { supportMessageMode: false }, "feature-not-implemented", "cancel"],
    ["otr require + body", setReq({ default: { save: "body", otr: "require" } }), {}, "bad-request", "modify"],
    ["otr require item without save", setReq({ items: [{ jid: "a@b", exactmatch: false, otr: "require" }] }), {}, "bad-request", "modify"],
    ["otr require session", setReq({ sessions: [{ thread: "t", save: "body", otr: "require" }] }), {}, "bad-request", "modify"],
    ["force: false", setReq({ default: { save: "false", otr: "concede" } }), { forceArchiving: true }, "not-acceptable", "modify"],
    ["force: session false", setReq({ sessions: [{ thread: "t", save: "false" }] }), { forceArchiving: true }, "not-acceptable", "modify"],
    ["force message: body", setReq({ items: [item("a@b", "body")] }), { forceArchiving: true, defaultSave: "message" }, "not-acceptable", "modify"],
    ["force: auto off", setReq({ auto: { save: false, scope: "global" } }), { forceArchiving: true }, "not-allowed", "cancel"],
  ];
  it.each(cases)("%s", (_name, req, pol, condition, type) => {
    const start = prefsWith({ default: { save: "body", otr: "concede" } });
    const r = applyPrefSet(start, { ...req, items: [item("ok@b", "body"), ...req.items] }, policy(pol), NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.condition).toBe(condition);
    expect(r.error.type).toBe(type);
  });

  it("accepted under force: the enforced level and above", () => {
    const p = policy({ forceArchiving: true });
    expect(applyPrefSet(emptyPrefs(), setReq({ default: { save: "body", otr: "concede" } }), p, NOW).ok).toBe(true);
    expect(applyPrefSet(emptyPrefs(), setReq({ default: { save: "message", otr: "concede" } }), p, NOW).ok).toBe(true);
  });

  it("otr require with save false is fine", () => {
    expect(applyPrefSet(emptyPrefs(), setReq({ default: { save: "false", otr: "require" } }), policy(), NOW).ok).toBe(true);
  });
});

describe("<auto/>", () => {
  it("global is stored, stream leaves prefs alone", () => {
    const g = applyAuto(emptyPrefs(), { save: true, scope: "global" }, policy());
    expect(g.ok && g.value.autoGlobal).toBe(true);
    const p = emptyPrefs();
    const s = applyAuto(p, { save: false, scope: "stream" }, policy());
    expect(s.ok && s.value).toBe(p);
  });
  it("switching off under compulsory archiving is not-allowed (Ex. 37)", () => {
    const r = applyAuto(emptyPrefs(), { save: false, scope: "stream" }, policy({ forceArchiving: true }));
    expect(r.ok ? undefined : r.error).toMatchObject({ condition: "not-allowed", type: "cancel" });
    expect(checkAuto(emptyPrefs(), true, policy({ forceArchiving: true }))).toBeUndefined();
  });
  it("switching on while an unsupported mode is stored is feature-not-implemented (Ex. 35)", () => {
    const p = prefsWith({ items: [item("a@b", "message")] });
    expect(checkAuto(p, true, policy({ supportMessageMode: false }))).toMatchObject({ condition: "feature-not-implemented", type: "cancel" });
    expect(checkAuto(p, true, policy())).toBeUndefined();
    expect(checkAuto(p, false, policy({ supportMessageMode: false }))).toBeUndefined();
  });
});

describe("removals are idempotent", () => {
  const start = prefsWith({
    items: [item("romeo@montague.net", "body", true), item("capulet.com", "false")],
    sessions: [{ thread: "t1", save: "false" }, { thread: "t2", save: "body" }],
  });
  it("itemremove by jid whatever exactmatch; absent jids are fine", () => {
    const r = applyItemRemove(start, [{ jid: "romeo@montague.net" }, { jid: "nobody@x" }]);
    expect(r.items.map((i) => i.jid)).toEqual(["capulet.com"]);
    expect(applyItemRemove(start, [{ jid: "nobody@x" }])).toBe(start);
    expect(applyItemRemove(emptyPrefs(), [{ jid: "a@b" }]).items).toEqual([]);
  });
  it("sessionremove", () => {
    expect(applySessionRemove(start, ["t1", "zz"]).sessions).toEqual([{ thread: "t2", save: "body" }]);
    expect(applySessionRemove(start, ["zz"])).toBe(start);
  });
});

describe("session expiry", () => {
  const p = policy({ sessionTimeoutSeconds: 60 });
  const set = (): Prefs => {
    const r = applyPrefSet(emptyPrefs(), setReq({ sessions: [{ thread: "t", save: "false" }] }), p, NOW);
    if (!r.ok) throw new Error("expected ok");
    return r.value.prefs;
  };

  it("kept until timeout after the set, then pruned", () => {
    const prefs = set();
    expect(nextSessionExpiry(prefs)).toBe(NOW + 60_000);
    expect(pruneSessions(prefs, NOW + 59_999)).toBe(prefs);
    expect(pruneSessions(prefs, NOW + 60_000).sessions).toEqual([]);
  });

  it("a message in the thread extends the rule to timeout after it", () => {
    const prefs = touchSession(set(), "t", NOW + 50_000, p);
    expect(prefs.sessions[0]?.expiresAt).toBe(NOW + 110_000);
    expect(resolveSave(prefs, { peer: "a@b", thread: "t", now: NOW + 100_000 }, p)).toBe("false");
    expect(pruneSessions(prefs, NOW + 100_000).sessions).toHaveLength(1);
  });

  it("touch is a no-op for other threads, no thread, expired rules and older times", () => {
    const prefs = set();
    expect(touchSession(prefs, "other", NOW, p)).toBe(prefs);
    expect(touchSession(prefs, undefined, NOW, p)).toBe(prefs);
    expect(touchSession(prefs, "t", NOW + 60_000, p)).toBe(prefs);
    expect(touchSession(prefs, "t", NOW - 5, p)).toBe(prefs);
  });

  it("rules without expiry never expire", () => {
    const prefs = prefsWith({ sessions: [{ thread: "t", save: "false" }] });
    expect(pruneSessions(prefs, Number.MAX_SAFE_INTEGER)).toBe(prefs);
    expect(nextSessionExpiry(prefs)).toBeUndefined();
  });
});

describe("viewPrefs", () => {
  it("never-set defaults report the server's values with unset", () => {
    const v = viewPrefs(emptyPrefs(), policy({ defaultExpire: 77 }), NOW, true);
    expect(v).toEqual({
      auto: true,
      default: { save: "body", otr: "concede", expire: 77, unset: true },
      items: [],
      sessions: [],
      methods: { auto: "concede", local: "concede", manual: "concede" },
    });
  });
  it("stored values, live sessions only, with timeouts", () => {
    const prefs = prefsWith({
      default: { save: "false", otr: "forbid" },
      sessions: [
        { thread: "live", save: "false", expiresAt: NOW + 1 },
        { thread: "dead", save: "false", expiresAt: NOW },
      ],
      methods: { manual: "prefer" },
    });
    const v = viewPrefs(prefs, policy(), NOW, false);
    expect(v.default).toEqual({ save: "false", otr: "forbid", unset: false });
    expect(v.sessions).toEqual([{ thread: "live", save: "false", expiresAt: NOW + 1, timeout: 3600 }]);
    expect(v.methods).toEqual(allMethods(prefs));
    expect(v.methods.manual).toBe("prefer");
  });
});
