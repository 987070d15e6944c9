// Results of save, list, retrieve and modified (XEP-0136 §4, §6, §7).
import { Element } from "@xmpp/xml";
import type { ArchivedItem, Change, CollectionKey, CollectionMeta, Page, TimedItem } from "../archive/model.ts";
import { formatDateTime } from "./datetime.ts";
import { NS_ARCHIVE } from "./namespaces.ts";
import { hasSet, renderSet } from "./rsm.ts";
import { parseSendableElement, parseSendableFragment, xmlSafe } from "./xmlfrag.ts";

function keyAttrs(k: CollectionKey): Record<string, string> {
  return { with: xmlSafe(k.with), start: formatDateTime(k.start) };
}

/** `<chat with start version [subject] [thread]/>` as in list and save results. */
export function chatHeader(meta: CollectionMeta, xmlns?: string): Element {
  const attrs = keyAttrs(meta);
  if (xmlns !== undefined) attrs.xmlns = xmlns;
  attrs.version = String(meta.version);
  if (meta.subject !== undefined) attrs.subject = xmlSafe(meta.subject);
  if (meta.thread !== undefined) attrs.thread = xmlSafe(meta.thread);
  return new Element("chat", attrs);
}

/**
 * More bytes than {@link chatHeader} (without `xmlns`) can take serialized: attribute values
 * escape to at most six times their size, and the rest (names, the start, the version) stays
 * under 200.
 */
export function chatHeaderSizeBound(meta: CollectionMeta): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s));
  return 6 * (bytes(meta.with) + bytes(meta.subject) + bytes(meta.thread)) + 200;
}

/** Ex. 22/23/26: `<save><chat … version/></save>`. */
export function renderSaveResult(meta: CollectionMeta): Element {
  const save = new Element("save", { xmlns: NS_ARCHIVE });
  save.cnode(chatHeader(meta));
  return save;
}

/** `<list/>` with one empty `<chat/>` per collection and the `<set/>`; empty for an empty full set (Ex. 41). */
export function renderList(page: Page<CollectionMeta>): Element {
  const list = new Element("list", { xmlns: NS_ARCHIVE });
  for (const meta of page.items) list.cnode(chatHeader(meta));
  if (hasSet(page)) list.cnode(renderSet(page));
  return list;
}

/**
 * More bytes than {@link renderChatItem} can give an item: every character it keeps grows to at
 * most six bytes serialized (`"` in an attribute becomes `&quot;`, `>` in text `&gt;`, a
 * character XML cannot carry U+FFFD), and the element with its times needs under 200 more.
 */
export function chatItemSizeBound(it: ArchivedItem): number {
  const chars = Buffer.byteLength(it.payload) + Buffer.byteLength(it.name ?? "") + Buffer.byteLength(it.jid ?? "");
  return 6 * chars + 200;
}

/** A payload of a single `<body/>` holding only text with no references to resolve. */
const PLAIN_BODY = /^<body>([^<&]*)<\/body>$/;

/**
 * One `<to/>`, `<from/>` or `<note/>`. Message content is the stored serialized XML; if it
 * cannot be parsed or the server would refuse it (it was written by us, so only after
 * corruption) it is shown as a body's text rather than dropping the message or breaking the
 * stanza. Stored strings lose characters XML cannot carry.
 */
export function renderChatItem(item: TimedItem): Element {
  if (item.kind === "note") {
    const note = new Element("note", { utc: formatDateTime(item.utc ?? item.at) });
    if (item.payload !== "") note.t(xmlSafe(item.payload));
    return note;
  }
  const attrs: Record<string, string> = {};
  if (item.secs !== undefined) attrs.secs = String(item.secs);
  if (item.utc !== undefined || item.secs === undefined) attrs.utc = formatDateTime(item.utc ?? item.at);
  if (item.name !== undefined) attrs.name = xmlSafe(item.name);
  if (item.jid !== undefined) attrs.jid = xmlSafe(item.jid);
  const el = new Element(item.kind, attrs);
  // Nearly every stored message is one plain-text body: built directly, as parsing would give it.
  const plain = PLAIN_BODY.exec(item.payload);
  if (plain) {
    const body = el.c("body");
    if (plain[1] !== "") body.t(xmlSafe(plain[1]!));
    return el;
  }
  const nodes = parseSendableFragment(item.payload);
  if (nodes === null) el.c("body").t(xmlSafe(item.payload));
  else for (const n of nodes) el.cnode(n);
  return el;
}

/**
 * `<retrieve/>` result. With `includeHeader` (the first page, D15) links come first, then
 * the form, then the page's items; the `<set/>` closes it unless the collection is empty (Ex. 46).
 */
export function renderChat(meta: CollectionMeta, page: Page<TimedItem>, includeHeader: boolean, rendered?: readonly Element[]): Element {
  const chat = chatHeader(meta, NS_ARCHIVE);
  if (includeHeader) {
    if (meta.previous !== undefined) chat.c("previous", keyAttrs(meta.previous));
    if (meta.next !== undefined) chat.c("next", keyAttrs(meta.next));
    if (meta.form !== undefined) {
      const form = parseSendableElement(meta.form);
      if (form !== null) chat.cnode(form);
    }
  }
  // `rendered`: the page's items already rendered by the caller (to measure them), in order.
  for (const el of rendered ?? page.items.map(renderChatItem)) chat.cnode(el);
  if (hasSet(page)) chat.cnode(renderSet(page));
  return chat;
}

export function renderChange(change: Change): Element {
  return new Element(change.removed ? "removed" : "changed", {
    ...keyAttrs(change),
    version: String(change.version),
  });
}

/** `<modified/>` result (Ex. 57): `<changed/>`/`<removed/>` in change order, then `<set/>`. */
export function renderModified(page: Page<Change>): Element {
  const modified = new Element("modified", { xmlns: NS_ARCHIVE });
  for (const change of page.items) modified.cnode(renderChange(change));
  if (hasSet(page)) modified.cnode(renderSet(page));
  return modified;
}
