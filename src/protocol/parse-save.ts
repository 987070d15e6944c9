// `<save><chat/></save>`: manual upload of a collection (XEP-0136 §4).
import type { Element } from "@xmpp/xml";
import type { ArchiveRequest, ArchivedItem, CollectionKey, UploadedChat } from "../archive/model.ts";
import { MAX_TIME } from "./datetime.ts";
import { NS_ARCHIVE, NS_XDATA } from "./namespaces.ts";
import { archiveChildren } from "./parse-pref.ts";
import { serializeStandalone } from "./xmlfrag.ts";
import {
  attr,
  childElements,
  dateAttr,
  fail,
  intAttr,
  jidAttr,
  requiredJidAttr,
  startAttr,
} from "./values.ts";

/**
 * `<previous/>`/`<next/>`: both `with` and `start` identify the linked collection;
 * neither removes the link (null); one without the other is malformed.
 */
function readLink(el: Element): CollectionKey | null {
  const hasWith = attr(el, "with") !== undefined;
  const hasStart = attr(el, "start") !== undefined;
  if (!hasWith && !hasStart) return null;
  if (!hasWith || !hasStart) fail(`<${el.getName()}/> needs both 'with' and 'start', or neither`);
  return { with: requiredJidAttr(el, "with"), start: startAttr(el) };
}

function serializeChild(el: Element): string {
  const s = serializeStandalone(el, NS_ARCHIVE);
  if (s === null) fail(`<${el.getName()}/> uses an undeclared namespace prefix`);
  return s;
}

/**
 * Times of uploaded messages. The running sum starts at the collection's `start`, and each
 * `secs` adds to it ("relative to the previous message"). A `utc` gives that message's time
 * outright without moving the running sum, so `secs` count along the same line they do in
 * our own output (D5: secs cumulative from `start`, utc only as an exception). This is also
 * the natural reading of XEP-0136 Ex. 27: an offline message stamped hours before `start`,
 * then replies 11 and 7 seconds into the collection. A message with neither attribute is
 * placed at the running sum (as `secs='0'`). A note without `utc` is placed there too; notes
 * never move the running sum.
 */
export function readChat(chat: Element): UploadedChat {
  const result: UploadedChat = { with: requiredJidAttr(chat, "with"), start: startAttr(chat), items: [] };
  const thread = attr(chat, "thread");
  const subject = attr(chat, "subject");
  if (thread !== undefined) result.thread = thread;
  if (subject !== undefined) result.subject = subject;
  // `version` from a client is ignored (#collections-version).

  let running = result.start;
  // Items timed by the running sum: on an append they continue after the stored messages.
  const relative: number[] = [];
  let sawPrevious = false;
  let sawNext = false;
  for (const child of childElements(chat)) {
    const ns = child.getNS();
    const name = child.getName();
    if (ns === NS_XDATA && name === "x") {
      if (result.form !== undefined) fail("more than one data form in <chat/>");
      result.form = serializeChild(child);
      continue;
    }
    if (ns !== NS_ARCHIVE) continue; // ##other
    switch (name) {
      case "from":
      case "to": {
        const secs = intAttr(child, "secs");
        const utc = dateAttr(child, "utc");
        if (secs !== undefined) {
          running += secs * 1000;
          if (running > MAX_TIME) fail("'secs' run past the representable time range");
        }
        const parts = childElements(child);
        if (parts.length === 0) fail(`<${name}/> must not be empty`);
        const item: ArchivedItem = {
          kind: name,
          at: utc ?? running,
          payload: parts.map(serializeChild).join(""),
        };
        if (utc === undefined) relative.push(result.items.length);
        const nick = attr(child, "name");
        const sender = jidAttr(child, "jid");
        if (nick !== undefined) item.name = nick;
        if (sender !== undefined) item.jid = sender;
        result.items.push(item);
        break;
      }
      case "note": {
        const utc = dateAttr(child, "utc");
        if (utc === undefined) relative.push(result.items.length);
        result.items.push({ kind: "note", at: utc ?? running, payload: child.getText() });
        break;
      }
      case "previous":
        if (sawPrevious) fail("more than one <previous/> in <chat/>");
        sawPrevious = true;
        result.previous = readLink(child);
        break;
      case "next":
        if (sawNext) fail("more than one <next/> in <chat/>");
        sawNext = true;
        result.next = readLink(child);
        break;
      default:
        fail(`unknown element <${name}/> in <chat/>`);
    }
  }
  if (relative.length > 0) result.relative = relative;
  return result;
}

export function readSave(save: Element): Extract<ArchiveRequest, { op: "save" }> {
  const chats = archiveChildren(save, ["chat"], false);
  if (chats.length !== 1 || chats[0] === undefined) fail("<save/> needs exactly one <chat/>");
  return { op: "save", chat: readChat(chats[0]) };
}
