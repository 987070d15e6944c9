// Public surface of the pure protocol layer.
export * from "./namespaces.ts";
export * from "./datetime.ts";
export * from "./errors.ts";
export * from "./jid.ts";
export * from "./rsm.ts";
export { parseArchiveRequest, requestedSaveModes, IQ_TYPES } from "./parse.ts";
export type { IqType } from "./parse.ts";
export * from "./render-pref.ts";
export * from "./render.ts";
export * from "./disco.ts";
export * from "./size.ts";
export { parseElement, parseFragment, serializeStandalone } from "./xmlfrag.ts";
