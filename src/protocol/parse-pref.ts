// `<pref/>` set, `<auto/>`, `<itemremove/>`, `<sessionremove/>` (XEP-0136 §2, §5).
import type { Element } from "@xmpp/xml";
import type {
  ArchiveRequest,
  AutoScope,
  DefaultPref,
  ItemPref,
  MethodType,
  MethodUse,
  OtrMode,
  SaveMode,
  SessionPref,
} from "../archive/model.ts";
import { NS_ARCHIVE } from "./namespaces.ts";
import {
  AUTO_SCOPES,
  attr,
  METHOD_TYPES,
  METHOD_USES,
  OTR_MODES,
  SAVE_MODES,
  boolAttr,
  childElements,
  enumAttr,
  fail,
  intAttr,
  requiredEnumAttr,
  requiredJidAttr,
  requiredStringAttr,
} from "./values.ts";

type PrefSet = Extract<ArchiveRequest, { op: "pref-set" }>;

/**
 * Archive-namespace children of `el`, each checked against `allowed`. Children in other
 * namespaces are skipped when the schema has `##other` there, else rejected (D14).
 */
export function archiveChildren(el: Element, allowed: readonly string[], foreignAllowed: boolean): Element[] {
  const out: Element[] = [];
  for (const child of childElements(el)) {
    if (child.getNS() !== NS_ARCHIVE) {
      if (!foreignAllowed) fail(`unexpected foreign element <${child.getName()}/> in <${el.getName()}/>`);
      continue;
    }
    if (!allowed.includes(child.getName())) fail(`unknown element <${child.getName()}/> in <${el.getName()}/>`);
    out.push(child);
  }
  return out;
}

/** "If the OTR Mode is 'require' then the Save Mode MUST be 'false'" (#pref-syntax-default-otr). */
function checkOtrSave(el: Element, otr: OtrMode | undefined, save: SaveMode | undefined): void {
  if (otr === "require" && save !== undefined && save !== "false") {
    fail(`<${el.getName()}/> with otr='require' needs save='false'`);
  }
}

function readDefault(el: Element): DefaultPref {
  const save = requiredEnumAttr(el, "save", SAVE_MODES);
  const otr = requiredEnumAttr(el, "otr", OTR_MODES);
  checkOtrSave(el, otr, save);
  const expire = intAttr(el, "expire");
  // `unset` is server-to-client only.
  return expire === undefined ? { save, otr } : { save, otr, expire };
}

function readItem(el: Element): ItemPref {
  const item: ItemPref = { jid: requiredJidAttr(el, "jid"), exactmatch: boolAttr(el, "exactmatch", false) };
  const save = enumAttr(el, "save", SAVE_MODES);
  const otr = enumAttr(el, "otr", OTR_MODES);
  const expire = intAttr(el, "expire");
  checkOtrSave(el, otr, save);
  if (save !== undefined) item.save = save;
  if (otr !== undefined) item.otr = otr;
  if (expire !== undefined) item.expire = expire;
  return item;
}

function readSession(el: Element): SessionPref {
  const session: SessionPref = {
    thread: requiredStringAttr(el, "thread"),
    save: requiredEnumAttr(el, "save", SAVE_MODES),
  };
  const otr = enumAttr(el, "otr", OTR_MODES);
  checkOtrSave(el, otr, session.save);
  if (otr !== undefined) session.otr = otr;
  // `timeout` is server-set: "Client MUST NOT set this attribute".
  return session;
}

export function readAuto(el: Element): { save: boolean; scope: AutoScope } {
  if (attr(el, "save") === undefined) fail("<auto/> needs a 'save' attribute");
  const save = boolAttr(el, "save", false);
  const scope = enumAttr(el, "scope", AUTO_SCOPES) ?? "stream";
  return { save, scope };
}

export function readPrefSet(pref: Element): PrefSet {
  const children = archiveChildren(pref, ["auto", "default", "item", "session", "method"], false);
  if (children.length === 0) fail("<pref/> set without preferences");
  const req: PrefSet = { op: "pref-set", items: [], sessions: [], methods: {} };
  const methods: Partial<Record<MethodType, MethodUse>> = {};
  for (const child of children) {
    switch (child.getName()) {
      case "auto":
        if (req.auto !== undefined) fail("more than one <auto/> in <pref/>");
        req.auto = readAuto(child);
        break;
      case "default":
        if (req.default !== undefined) fail("more than one <default/> in <pref/>");
        req.default = readDefault(child);
        break;
      case "item":
        req.items.push(readItem(child));
        break;
      case "session":
        req.sessions.push(readSession(child));
        break;
      case "method": {
        const type = requiredEnumAttr(child, "type", METHOD_TYPES);
        const use = requiredEnumAttr(child, "use", METHOD_USES);
        if (methods[type] !== undefined) fail(`more than one <method type='${type}'/>`);
        methods[type] = use;
        break;
      }
    }
  }
  req.methods = methods;
  return req;
}

export function readAutoRequest(auto: Element): Extract<ArchiveRequest, { op: "auto" }> {
  archiveChildren(auto, [], true);
  return { op: "auto", ...readAuto(auto) };
}

export function readItemRemove(el: Element): Extract<ArchiveRequest, { op: "itemremove" }> {
  const items = archiveChildren(el, ["item"], false).map((item) => ({
    jid: requiredJidAttr(item, "jid"),
    exactmatch: boolAttr(item, "exactmatch", false),
  }));
  if (items.length === 0) fail("<itemremove/> needs at least one <item/>");
  return { op: "itemremove", items };
}

export function readSessionRemove(el: Element): Extract<ArchiveRequest, { op: "sessionremove" }> {
  const threads = archiveChildren(el, ["session"], false).map((s) => requiredStringAttr(s, "thread"));
  if (threads.length === 0) fail("<sessionremove/> needs at least one <session/>");
  return { op: "sessionremove", threads };
}
