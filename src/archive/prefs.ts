// Archiving preferences: which rule applies to a conversation (XEP-0136 #pref-precedence,
// D13), how a `<pref/>` set merges into what is stored, and session-rule expiry.
// Everything here is pure: functions return new Prefs objects and never mutate their input.
import { jidEquals, jidForm, jidMatches } from "./jid-match.ts";
import type {
  ArchiveRequest,
  AutoScope,
  DefaultPref,
  ItemPref,
  MethodType,
  MethodUse,
  Parsed,
  Prefs,
  SaveMode,
  SessionPref,
  StanzaError,
} from "./model.ts";
import type { ArchivePolicy } from "./policy.ts";

export const METHOD_TYPES: readonly MethodType[] = ["auto", "local", "manual"];
/** Reported for methods the user never set (the spec requires all three in every `<pref/>` result). */
export const DEFAULT_METHOD_USE: MethodUse = "concede";

const SAVE_RANK: Record<SaveMode, number> = { false: 0, body: 1, message: 2, stream: 3 };

// ---------------------------------------------------------------------------
// Item selection (D13)

/**
 * Rank of an item when several match: exact full JID 6, full JID 5, exact bare JID 4,
 * bare JID 3, exact domain 2, domain 1. `domain/resource` counts as a full JID.
 */
export function specificity(item: Pick<ItemPref, "jid" | "exactmatch">): number {
  const base = { full: 5, bare: 3, domain: 1 }[jidForm(item.jid)];
  return base + (item.exactmatch ? 1 : 0);
}

/** The most specific item matching the peer (full or bare JID); the first listed wins a tie. */
export function pickItem(items: readonly ItemPref[], peer: string): ItemPref | undefined {
  let best: ItemPref | undefined;
  let bestRank = 0;
  for (const item of items) {
    if (!jidMatches(item.jid, item.exactmatch, peer)) continue;
    const rank = specificity(item);
    if (rank > bestRank) {
      best = item;
      bestRank = rank;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// Resolution

/** The level compulsory archiving enforces (D11): `message` only when the operator asks for it and supports it. */
export function forcedSave(policy: ArchivePolicy): SaveMode {
  return policy.defaultSave === "message" && policy.supportMessageMode ? "message" : "body";
}

/** Maps a stored mode onto what the server can do: `stream` is never honoured (D12), `message` only when supported. */
function supported(mode: SaveMode, policy: ArchivePolicy): SaveMode {
  if (mode === "stream" || mode === "message") return policy.supportMessageMode ? "message" : "body";
  return mode;
}

function liveSession(prefs: Prefs, thread: string | undefined, now: number): SessionPref | undefined {
  if (thread === undefined) return undefined;
  return prefs.sessions.find((s) => s.thread === thread && (s.expiresAt === undefined || s.expiresAt > now));
}

export interface SaveContext {
  /** The peer's full JID when known, else its bare JID. */
  peer: string;
  thread?: string;
  now: number;
}

/** Save mode for one automatically archived message: session → item → default → server default. */
export function resolveSave(prefs: Prefs, ctx: SaveContext, policy: ArchivePolicy): SaveMode {
  // Compulsory archiving ignores every preference (#pref-server).
  if (policy.forceArchiving) return forcedSave(policy);
  const session = liveSession(prefs, ctx.thread, ctx.now);
  if (session) return supported(session.save, policy);
  const item = pickItem(prefs.items, ctx.peer);
  if (item?.save !== undefined) return supported(item.save, policy);
  if (prefs.default) return supported(prefs.default.save, policy);
  return supported(policy.defaultSave, policy);
}

/**
 * `expire` in seconds for a newly archived message (D17): item → default → server default.
 * Under compulsory archiving the user's values are ignored too, or a tiny `expire` would defeat it.
 */
export function resolveExpire(prefs: Prefs, peer: string, policy: ArchivePolicy): number | undefined {
  if (policy.forceArchiving) return policy.defaultExpire;
  const item = pickItem(prefs.items, peer);
  if (item?.expire !== undefined) return item.expire;
  if (prefs.default?.expire !== undefined) return prefs.default.expire;
  return policy.defaultExpire;
}

// ---------------------------------------------------------------------------
// `<pref/>` get view

export interface PrefsView {
  /** This stream's effective automatic-archiving switch (computed by the caller from auto-state). */
  auto: boolean;
  /** `unset` is true when the user never set `<default/>`: the values are then the server's (#pref-determine). */
  default: DefaultPref & { unset: boolean };
  items: ItemPref[];
  /** Live session rules, each with its server-assigned `timeout`. */
  sessions: SessionPref[];
  /** All three methods, unset ones reported as `concede`. */
  methods: Record<MethodType, MethodUse>;
}

export function allMethods(prefs: Prefs): Record<MethodType, MethodUse> {
  return {
    auto: prefs.methods.auto ?? DEFAULT_METHOD_USE,
    local: prefs.methods.local ?? DEFAULT_METHOD_USE,
    manual: prefs.methods.manual ?? DEFAULT_METHOD_USE,
  };
}

export function viewPrefs(prefs: Prefs, policy: ArchivePolicy, now: number, autoOn: boolean): PrefsView {
  const def: DefaultPref & { unset: boolean } = prefs.default
    ? { ...prefs.default, unset: false }
    : { save: policy.defaultSave, otr: policy.defaultOtr, unset: true };
  if (!prefs.default && policy.defaultExpire !== undefined) def.expire = policy.defaultExpire;
  return {
    auto: autoOn,
    default: def,
    items: prefs.items.map((i) => ({ ...i })),
    sessions: pruneSessions(prefs, now).sessions.map((s) => ({ ...s, timeout: s.timeout ?? policy.sessionTimeoutSeconds })),
    methods: allMethods(prefs),
  };
}

// ---------------------------------------------------------------------------
// `<pref/>` set

export type PrefSetRequest = Omit<Extract<ArchiveRequest, { op: "pref-set" }>, "op">;

/** What a set changed, for the push to interested resources (#pref-default Ex. 7, Ex. 15, Ex. 20). */
export interface PrefChanges {
  default?: DefaultPref;
  items: ItemPref[];
  /** With the server-assigned `timeout`. */
  sessions: SessionPref[];
  /** Present when any method was set: all three, as the spec requires for method pushes. */
  methods?: Record<MethodType, MethodUse>;
}

export interface PrefSetOutcome {
  prefs: Prefs;
  changed: PrefChanges;
  /** `<auto/>` carried inside `<pref/>`: the caller applies `scope='stream'` to auto-state. Never pushed. */
  auto?: { save: boolean; scope: AutoScope };
}

export function hasChanges(c: PrefChanges): boolean {
  return c.default !== undefined || c.items.length > 0 || c.sessions.length > 0 || c.methods !== undefined;
}

const err = (type: StanzaError["type"], condition: string, text: string): StanzaError => ({ type, condition, text });

interface SaveRule {
  save?: SaveMode;
  otr?: DefaultPref["otr"];
}

/**
 * Validation shared by default, items and sessions. Checked in this order so the most
 * fundamental problem is reported: unsupported level, contradictory OTR, policy floor.
 */
function checkRule(rule: SaveRule, what: string, policy: ArchivePolicy): StanzaError | undefined {
  const { save, otr } = rule;
  if (save === "stream") return err("cancel", "feature-not-implemented", `save='stream' is not supported (${what})`);
  // #pref-syntax-default-otr: "If the OTR Mode is 'require' then the Save Mode MUST be 'false'."
  // A contradiction inside the request itself, hence bad-request rather than a policy refusal.
  if (otr === "require" && save !== "false") {
    return err("modify", "bad-request", `otr='require' needs save='false' (${what})`);
  }
  if (save === "message" && !policy.supportMessageMode) {
    return err("cancel", "feature-not-implemented", `save='message' is not supported (${what})`);
  }
  if (policy.forceArchiving && save !== undefined && SAVE_RANK[save] < SAVE_RANK[forcedSave(policy)]) {
    return err("modify", "not-acceptable", `the server archives every message at least as save='${forcedSave(policy)}'`);
  }
  return undefined;
}

/**
 * `<auto/>` (standalone or inside `<pref/>`): refused under compulsory archiving when switching off
 * (#auto Ex. 37), and when switching on while a stored mode is one the server cannot honour (Ex. 35).
 */
export function checkAuto(prefs: Prefs, save: boolean, policy: ArchivePolicy): StanzaError | undefined {
  if (!save) {
    return policy.forceArchiving
      ? err("cancel", "not-allowed", "automatic archiving is compulsory on this server")
      : undefined;
  }
  const modes: (SaveMode | undefined)[] = [
    prefs.default?.save,
    ...prefs.items.map((i) => i.save),
    ...prefs.sessions.map((s) => s.save),
  ];
  const unsupported = modes.some((m) => m === "stream" || (m === "message" && !policy.supportMessageMode));
  return unsupported ? err("cancel", "feature-not-implemented", "a stored save mode is not supported") : undefined;
}

/** Applies `<auto/>`: validates it and stores `scope='global'` in the prefs (stream scope lives in auto-state). */
export function applyAuto(prefs: Prefs, req: { save: boolean; scope: AutoScope }, policy: ArchivePolicy): Parsed<Prefs> {
  const error = checkAuto(prefs, req.save, policy);
  if (error) return { ok: false, error };
  if (req.scope !== "global") return { ok: true, value: prefs };
  return { ok: true, value: { ...prefs, autoGlobal: req.save } };
}

/**
 * Merges a `<pref/>` set into stored prefs, all or nothing.
 * - `<default/>` replaces the stored default.
 * - `<item/>`s upsert keyed by `jid` alone: re-setting a JID replaces the whole rule, including
 *   `exactmatch`, and `<itemremove/>` (which clients send with just `jid`) removes it whatever its
 *   `exactmatch`. So D13's "exact" ranks only matter between different JIDs.
 * - `<session/>`s upsert by `thread`; the client's `timeout` is ignored and the server's assigned.
 * - `<method/>`s merge; unspecified methods are untouched (#pref-method).
 * - Within one request a later element for the same key wins.
 */
export function applyPrefSet(
  prefs: Prefs,
  req: PrefSetRequest,
  policy: ArchivePolicy,
  now: number,
): Parsed<PrefSetOutcome> {
  if (req.default) {
    const e = checkRule(req.default, "default", policy);
    if (e) return { ok: false, error: e };
  }
  for (const item of req.items) {
    const e = checkRule(item, `item ${item.jid}`, policy);
    if (e) return { ok: false, error: e };
  }
  for (const session of req.sessions) {
    const e = checkRule(session, `session ${session.thread}`, policy);
    if (e) return { ok: false, error: e };
  }
  if (req.auto) {
    const e = checkAuto(prefs, req.auto.save, policy);
    if (e) return { ok: false, error: e };
  }

  const next: Prefs = { ...prefs, items: [...prefs.items], sessions: [...prefs.sessions], methods: { ...prefs.methods } };
  const changed: PrefChanges = { items: [], sessions: [] };

  if (req.default) {
    next.default = { ...req.default };
    changed.default = { ...req.default };
  }

  for (const item of req.items) {
    const stored: ItemPref = { ...item };
    const i = next.items.findIndex((x) => jidEquals(x.jid, item.jid));
    if (i >= 0) next.items[i] = stored;
    else next.items.push(stored);
    upsert(changed.items, stored, (x) => jidEquals(x.jid, item.jid));
  }

  const timeout = policy.sessionTimeoutSeconds;
  for (const session of req.sessions) {
    const stored: SessionPref = { thread: session.thread, save: session.save, timeout, expiresAt: now + timeout * 1000 };
    if (session.otr !== undefined) stored.otr = session.otr;
    upsert(next.sessions, stored, (x) => x.thread === session.thread);
    upsert(changed.sessions, stored, (x) => x.thread === session.thread);
  }

  const methodTypes = METHOD_TYPES.filter((t) => req.methods[t] !== undefined);
  for (const t of methodTypes) next.methods[t] = req.methods[t];
  if (methodTypes.length > 0) changed.methods = allMethods(next);

  const outcome: PrefSetOutcome = { prefs: next, changed };
  if (req.auto) {
    outcome.auto = { ...req.auto };
    if (req.auto.scope === "global") next.autoGlobal = req.auto.save;
  }
  return { ok: true, value: outcome };
}

function upsert<T>(list: T[], value: T, same: (x: T) => boolean): void {
  const i = list.findIndex(same);
  if (i >= 0) list[i] = value;
  else list.push(value);
}

/** `<itemremove/>`: idempotent; removes the rule for each JID whatever its `exactmatch` (items are keyed by JID). */
export function applyItemRemove(prefs: Prefs, items: readonly { jid: string }[]): Prefs {
  const kept = prefs.items.filter((x) => !items.some((r) => jidEquals(r.jid, x.jid)));
  return kept.length === prefs.items.length ? prefs : { ...prefs, items: kept };
}

/** `<sessionremove/>`: idempotent. */
export function applySessionRemove(prefs: Prefs, threads: readonly string[]): Prefs {
  const kept = prefs.sessions.filter((s) => !threads.includes(s.thread));
  return kept.length === prefs.sessions.length ? prefs : { ...prefs, sessions: kept };
}

// ---------------------------------------------------------------------------
// Session rule expiry (#pref-syntax-timeout: kept at least `timeout` after the thread's latest message)

/** Drops expired session rules; returns the same object when nothing expired. */
export function pruneSessions(prefs: Prefs, now: number): Prefs {
  // Runs for every archived copy; most users have no session rules.
  if (prefs.sessions.length === 0) return prefs;
  const kept = prefs.sessions.filter((s) => s.expiresAt === undefined || s.expiresAt > now);
  return kept.length === prefs.sessions.length ? prefs : { ...prefs, sessions: kept };
}

/** A message in `thread` at `now` extends that thread's rule; returns the same object when no live rule matches. */
export function touchSession(prefs: Prefs, thread: string | undefined, now: number, policy: ArchivePolicy): Prefs {
  const session = liveSession(prefs, thread, now);
  if (!session) return prefs;
  const timeout = session.timeout ?? policy.sessionTimeoutSeconds;
  const expiresAt = now + timeout * 1000;
  if (session.expiresAt !== undefined && session.expiresAt >= expiresAt) return prefs;
  return { ...prefs, sessions: prefs.sessions.map((s) => (s === session ? { ...s, expiresAt } : s)) };
}

/** Earliest session expiry, for scheduling a prune; undefined when no rule expires. */
export function nextSessionExpiry(prefs: Prefs): number | undefined {
  let min: number | undefined;
  for (const s of prefs.sessions) {
    if (s.expiresAt !== undefined && (min === undefined || s.expiresAt < min)) min = s.expiresAt;
  }
  return min;
}
