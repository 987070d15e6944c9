// `<list/>`, `<retrieve/>`, `<remove/>`, `<modified/>` (XEP-0136 §6, §7).
import type { Element } from "@xmpp/xml";
import type { ArchiveRequest } from "../archive/model.ts";
import { floorToSecond } from "./datetime.ts";
import { archiveChildren } from "./parse-pref.ts";
import { readRsmIn } from "./rsm.ts";
import { boolAttr, childElements, dateAttr, fail, jidAttr, requiredDateAttr, requiredJidAttr, startAttr } from "./values.ts";

type Req<O extends ArchiveRequest["op"]> = Extract<ArchiveRequest, { op: O }>;

/** `start`/`end` of list and remove bound a range, compared as instants at full precision. */
export function readList(el: Element): Req<"list"> {
  archiveChildren(el, [], true);
  const req: Req<"list"> = { op: "list", exactmatch: boolAttr(el, "exactmatch", false), rsm: readRsmIn(el) };
  const w = jidAttr(el, "with");
  const start = dateAttr(el, "start");
  const end = dateAttr(el, "end");
  if (w !== undefined) req.with = w;
  if (start !== undefined) req.start = start;
  if (end !== undefined) req.end = end;
  return req;
}

/** Exact match is implied; a client's `exactmatch` (Gajim sends one) is ignored, whatever its value. */
export function readRetrieve(el: Element): Req<"retrieve"> {
  archiveChildren(el, [], true);
  return { op: "retrieve", with: requiredJidAttr(el, "with"), start: startAttr(el), rsm: readRsmIn(el) };
}

/**
 * The mode is the service's call (D10); the parser only keeps the single-collection form
 * (`with` + `start`, no `end`, not `open`) comparable with stored starts by flooring it
 * to the whole second (D2).
 */
export function readRemove(el: Element): Req<"remove"> {
  if (childElements(el).length > 0) fail("<remove/> must be empty");
  const req: Req<"remove"> = {
    op: "remove",
    exactmatch: boolAttr(el, "exactmatch", false),
    open: boolAttr(el, "open", false),
  };
  const w = jidAttr(el, "with");
  const start = dateAttr(el, "start");
  const end = dateAttr(el, "end");
  if (w !== undefined) req.with = w;
  if (end !== undefined) req.end = end;
  if (start !== undefined) {
    req.start = w !== undefined && end === undefined && !req.open ? floorToSecond(start) : start;
  }
  return req;
}

export function readModified(el: Element): Req<"modified"> {
  archiveChildren(el, [], true);
  return { op: "modified", start: requiredDateAttr(el, "start"), rsm: readRsmIn(el) };
}
