// Opaque RSM UIDs (D6, D7): keyset cursors that carry the sort key itself, so a cursor whose
// item was deleted still says where to continue. Wire form: base64url (no padding) of the
// UTF-8 text `1<kind><fields>`, with `1` the format version, integers in base 36 and the JID
// last (it is the only field that may contain spaces). Decoders accept only the canonical
// encoding and never throw; anything else is undefined (→ item-not-found, type cancel).
import type { CollectionKey } from "./model.ts";

/** Longest cursor accepted (a JID is at most 3071 bytes; base64 grows by 4/3). */
export const MAX_CURSOR_LENGTH = 4200;
const MAX_JID_BYTES = 3071;
const VERSION = "1";

/** Sort key of the replication log (`<modified/>`): change time, then the collection identity. */
export interface ChangeKey extends CollectionKey {
  changedAt: number;
}

export interface CursorCodec<K> {
  encode(key: K): string;
  decode(cursor: string): K | undefined;
  /** The order the result set is sorted in; cursors compare with the same function. */
  compare(a: K, b: K): number;
}

// ---------------------------------------------------------------------------
// Ordering

/** Code-point (= UTF-8 byte, Cassandra `text`) order rather than UTF-16 code-unit order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

// Surrogates (astral code points) sort after U+E000–U+FFFF in code-point order.
const fixup = (c: number): number => (c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c);

const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

/** Collections: `start`, then `with` (D6). */
export function compareCollectionKeys(a: CollectionKey, b: CollectionKey): number {
  return cmpNum(a.start, b.start) || compareCodePoints(a.with, b.with);
}

/** Changes: change time, then `with`, then `start`. */
export function compareChangeKeys(a: ChangeKey, b: ChangeKey): number {
  return cmpNum(a.changedAt, b.changedAt) || compareCodePoints(a.with, b.with) || cmpNum(a.start, b.start);
}

// ---------------------------------------------------------------------------
// Field encoding

const INT_RE = /^-?(0|[1-9a-z][0-9a-z]{0,10})$/;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function encInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`cursor field is not a safe integer: ${n}`);
  return n.toString(36);
}

function decInt(s: string): number | undefined {
  if (!INT_RE.test(s) || s === "-0") return undefined;
  const n = parseInt(s, 36);
  return Number.isSafeInteger(n) ? n : undefined;
}

function validJid(s: string): boolean {
  if (s.length === 0 || Buffer.byteLength(s, "utf8") > MAX_JID_BYTES) return false;
  // No control characters: never part of a prepared JID.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return false;
  return true;
}

function wrap(text: string): string {
  return Buffer.from(VERSION + text, "utf8").toString("base64url");
}

/** The text after the version and kind, or undefined unless `cursor` is canonical and of that kind. */
function unwrap(cursor: unknown, kind: string): string | undefined {
  try {
    if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH) return undefined;
    if (!B64URL_RE.test(cursor)) return undefined;
    const bytes = Buffer.from(cursor, "base64url");
    // Canonical form only: rejects trailing bits and other aliases of the same bytes.
    if (bytes.toString("base64url") !== cursor) return undefined;
    const text = utf8.decode(bytes);
    if (text[0] !== VERSION || text[1] !== kind) return undefined;
    return text.slice(2);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Collections (`<list/>`): start + with

export function encodeCollectionCursor(key: CollectionKey): string {
  return wrap(`c${encInt(key.start)} ${key.with}`);
}

export function decodeCollectionCursor(cursor: string): CollectionKey | undefined {
  const body = unwrap(cursor, "c");
  if (body === undefined) return undefined;
  const sp = body.indexOf(" ");
  if (sp < 0) return undefined;
  const start = decInt(body.slice(0, sp));
  const withJid = body.slice(sp + 1);
  if (start === undefined || !validJid(withJid)) return undefined;
  return { with: withJid, start };
}

// ---------------------------------------------------------------------------
// Messages (`<retrieve/>`): position in the collection

export function encodeMessageCursor(position: number): string {
  if (position < 0) throw new RangeError(`negative message position: ${position}`);
  return wrap(`m${encInt(position)}`);
}

export function decodeMessageCursor(cursor: string): number | undefined {
  const body = unwrap(cursor, "m");
  if (body === undefined) return undefined;
  const n = decInt(body);
  return n !== undefined && n >= 0 ? n : undefined;
}

// ---------------------------------------------------------------------------
// Changes (`<modified/>`): change time + with + start

export function encodeChangeCursor(key: ChangeKey): string {
  return wrap(`h${encInt(key.changedAt)} ${encInt(key.start)} ${key.with}`);
}

export function decodeChangeCursor(cursor: string): ChangeKey | undefined {
  const body = unwrap(cursor, "h");
  if (body === undefined) return undefined;
  const sp1 = body.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : body.indexOf(" ", sp1 + 1);
  if (sp2 < 0) return undefined;
  const changedAt = decInt(body.slice(0, sp1));
  const start = decInt(body.slice(sp1 + 1, sp2));
  const withJid = body.slice(sp2 + 1);
  if (changedAt === undefined || start === undefined || !validJid(withJid)) return undefined;
  return { changedAt, with: withJid, start };
}

// ---------------------------------------------------------------------------
// Codecs for paging.ts

export const collectionCursor: CursorCodec<CollectionKey> = {
  encode: encodeCollectionCursor,
  decode: decodeCollectionCursor,
  compare: compareCollectionKeys,
};

export const messageCursor: CursorCodec<number> = {
  encode: encodeMessageCursor,
  decode: decodeMessageCursor,
  compare: cmpNum,
};

export const changeCursor: CursorCodec<ChangeKey> = {
  encode: encodeChangeCursor,
  decode: decodeChangeCursor,
  compare: compareChangeKeys,
};
