// `<pref/>` results and pushes (XEP-0136 §2).
import { Element } from "@xmpp/xml";
import type {
  DefaultPref,
  ItemPref,
  MethodType,
  MethodUse,
  OtrMode,
  Prefs,
  SaveMode,
  SessionPref,
} from "../archive/model.ts";
import { NS_ARCHIVE } from "./namespaces.ts";
import { METHOD_TYPES } from "./values.ts";
import { xmlSafe } from "./xmlfrag.ts";

/** What the server reports for settings the user never made (#pref-determine). */
export interface ServerPrefDefaults {
  save: SaveMode;
  otr: OtrMode;
  expire?: number;
  methods: Record<MethodType, MethodUse>;
}

export interface PrefView {
  prefs: Prefs;
  /** Effective automatic archiving for the requesting stream (D11, D19). */
  auto: boolean;
  defaults: ServerPrefDefaults;
}

/** The parts of a pref change that are pushed (#pref-default; `<auto/>` never is). */
export interface PrefPush {
  default?: DefaultPref;
  items?: ItemPref[];
  sessions?: SessionPref[];
  /** Pushed complete: "it MUST include all of the preferences, not only those that were set". */
  methods?: Record<MethodType, MethodUse>;
}

function defaultEl(d: DefaultPref, unset: boolean): Element {
  const attrs: Record<string, string> = { save: d.save, otr: d.otr };
  if (d.expire !== undefined) attrs.expire = String(d.expire);
  if (unset) attrs.unset = "true";
  return new Element("default", attrs);
}

function itemEl(i: ItemPref): Element {
  const attrs: Record<string, string> = { jid: xmlSafe(i.jid) };
  if (i.exactmatch) attrs.exactmatch = "true";
  if (i.save !== undefined) attrs.save = i.save;
  if (i.otr !== undefined) attrs.otr = i.otr;
  if (i.expire !== undefined) attrs.expire = String(i.expire);
  return new Element("item", attrs);
}

function sessionEl(s: SessionPref): Element {
  const attrs: Record<string, string> = { thread: xmlSafe(s.thread), save: s.save };
  if (s.otr !== undefined) attrs.otr = s.otr;
  if (s.timeout !== undefined) attrs.timeout = String(s.timeout);
  return new Element("session", attrs);
}

function methodEls(methods: Partial<Record<MethodType, MethodUse>>): Element[] {
  const out: Element[] = [];
  for (const type of METHOD_TYPES) {
    const use = methods[type];
    if (use !== undefined) out.push(new Element("method", { type, use }));
  }
  return out;
}

/**
 * The complete `<pref/>` of a get result: `<auto/>`, `<default/>` (server defaults with
 * `unset='true'` when never set), items, sessions, and all three methods (stored use, else
 * the server default).
 */
export function renderPref(view: PrefView): Element {
  const { prefs, defaults } = view;
  const pref = new Element("pref", { xmlns: NS_ARCHIVE });
  pref.c("auto", { save: view.auto ? "true" : "false" });
  const d: DefaultPref = prefs.default ?? { save: defaults.save, otr: defaults.otr };
  if (prefs.default === undefined && defaults.expire !== undefined) d.expire = defaults.expire;
  pref.cnode(defaultEl(d, prefs.default === undefined));
  for (const i of prefs.items) pref.cnode(itemEl(i));
  for (const s of prefs.sessions) pref.cnode(sessionEl(s));
  for (const m of methodEls({ ...defaults.methods, ...definedOnly(prefs.methods) })) pref.cnode(m);
  return pref;
}

function definedOnly(m: Partial<Record<MethodType, MethodUse>>): Partial<Record<MethodType, MethodUse>> {
  const out: Partial<Record<MethodType, MethodUse>> = {};
  for (const t of METHOD_TYPES) {
    const use = m[t];
    if (use !== undefined) out[t] = use;
  }
  return out;
}

/** A push `<pref/>` holding only the changed parts. */
export function renderPrefPush(push: PrefPush): Element {
  const pref = new Element("pref", { xmlns: NS_ARCHIVE });
  if (push.default !== undefined) pref.cnode(defaultEl(push.default, false));
  for (const i of push.items ?? []) pref.cnode(itemEl(i));
  for (const s of push.sessions ?? []) pref.cnode(sessionEl(s));
  if (push.methods !== undefined) for (const m of methodEls(push.methods)) pref.cnode(m);
  return pref;
}
