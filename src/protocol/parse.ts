// Entry point: an IQ payload in urn:xmpp:archive to a validated ArchiveRequest.
import type { Element } from "@xmpp/xml";
import type { ArchiveRequest, Parsed, SaveMode } from "../archive/model.ts";
import { ProtocolError, badRequest, serviceUnavailable } from "./errors.ts";
import { NS_ARCHIVE } from "./namespaces.ts";
import { readList, readModified, readRemove, readRetrieve } from "./parse-manage.ts";
import { readAutoRequest, readItemRemove, readPrefSet, readSessionRemove } from "./parse-pref.ts";
import { readSave } from "./parse-save.ts";

export type IqType = "get" | "set";

/** IQ types each request element is valid with (spec examples; D14). */
export const IQ_TYPES: Readonly<Record<string, readonly IqType[]>> = {
  pref: ["get", "set"],
  auto: ["set"],
  itemremove: ["set"],
  sessionremove: ["set"],
  save: ["set"],
  remove: ["set"],
  list: ["get"],
  retrieve: ["get"],
  modified: ["get"],
};

function read(iqType: IqType, payload: Element): ArchiveRequest {
  const name = payload.getName();
  const types = Object.hasOwn(IQ_TYPES, name) ? IQ_TYPES[name] : undefined;
  // Unknown payloads are unknown services (RFC 6120 §8.4), whatever namespace (D1).
  if (payload.getNS() !== NS_ARCHIVE || types === undefined) {
    throw new ProtocolError(serviceUnavailable());
  }
  if (!types.includes(iqType)) throw new ProtocolError(badRequest(`<${name}/> needs an IQ of type ${types.join(" or ")}`));
  switch (name) {
    case "pref":
      if (iqType === "set") return readPrefSet(payload);
      // A get asks for everything and carries nothing of this namespace (D14).
      if (payload.children.some((c) => typeof c !== "string" && c.getNS() === NS_ARCHIVE)) {
        throw new ProtocolError(badRequest("a preferences request carries no archive elements"));
      }
      return { op: "pref-get" };
    case "auto":
      return readAutoRequest(payload);
    case "itemremove":
      return readItemRemove(payload);
    case "sessionremove":
      return readSessionRemove(payload);
    case "save":
      return readSave(payload);
    case "list":
      return readList(payload);
    case "retrieve":
      return readRetrieve(payload);
    case "remove":
      return readRemove(payload);
    default:
      return readModified(payload);
  }
}

/**
 * Validates an archive IQ payload. Failures carry the stanza error to answer with:
 * `bad-request` (modify) for wrong IQ type, unknown archive elements, missing or malformed
 * attributes, `jid-malformed` (modify) for invalid JIDs, `service-unavailable` (cancel) for
 * a payload that is not an archive request. Never throws for any element tree.
 */
export function parseArchiveRequest(iqType: IqType, payload: Element): Parsed<ArchiveRequest> {
  try {
    return { ok: true, value: read(iqType, payload) };
  } catch (e) {
    if (e instanceof ProtocolError) return { ok: false, error: e.stanzaError };
    throw e;
  }
}

/**
 * Every Save Mode a request asks for (pref set: default, items, sessions). The service
 * refuses `stream` (D12) and, where unsupported, `message`; kept out of the parser because
 * the answer depends on configuration and on which resources have auto-archiving on.
 */
export function requestedSaveModes(req: ArchiveRequest): SaveMode[] {
  if (req.op !== "pref-set") return [];
  const modes: SaveMode[] = [];
  if (req.default !== undefined) modes.push(req.default.save);
  for (const i of req.items) if (i.save !== undefined) modes.push(i.save);
  for (const s of req.sessions) modes.push(s.save);
  return modes;
}
