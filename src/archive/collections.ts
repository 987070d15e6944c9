// Which automatic collection a message belongs to (D2, D3, D4). One open collection per
// (owner, peer bare JID); the caller keeps them and persists what `assign` decides.
import { bareJid } from "./jid-match.ts";
import type { CollectionKey } from "./model.ts";

export interface OpenCollection {
  key: CollectionKey;
  thread?: string;
  /** Latest message time seen in the collection, epoch ms. */
  lastAt: number;
  /** Items stored so far (the next message gets position `count`). */
  count: number;
  version: number;
}

export interface CollectionMessage {
  /** The peer's JID; only its bare form is used (D4). */
  peer: string;
  thread?: string;
  /** Message time, epoch ms. */
  at: number;
}

export interface AssignOptions {
  /** Idle gap after which a new collection starts (D3). */
  idleMs: number;
  /** AutoState.lastSwitchedOffAt: a switch-off at or after the open collection's last message closes it. */
  autoOffAt?: number;
  /** Whether a (`with`, `start`) is already used by another collection of the owner (manual ones included). */
  isTaken?: (key: CollectionKey) => boolean;
}

export type NewCollectionReason = "none" | "idle" | "thread" | "auto-restarted";

export type Assignment =
  | {
      kind: "append";
      key: CollectionKey;
      /** Position of the message in the collection. */
      position: number;
      /** The collection's version after the append. */
      version: number;
      /** Set when a threaded message joins a thread-less collection: the collection takes that thread. */
      adoptThread?: string;
    }
  | { kind: "new"; key: CollectionKey; thread?: string; reason: NewCollectionReason };

/** D2: starts are whole seconds (floor, also before 1970). */
export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

const MAX_START_BUMPS = 100_000;

/** The message's second, moved +1 s until (`with`, `start`) is free (D2). */
export function freeStart(withJid: string, at: number, isTaken: (key: CollectionKey) => boolean): CollectionKey {
  const key: CollectionKey = { with: withJid, start: wholeSecond(at) };
  for (let i = 0; i < MAX_START_BUMPS; i++) {
    if (!isTaken(key)) return key;
    key.start += 1000;
  }
  // Only a broken isTaken can get here; looping forever would be worse.
  throw new RangeError(`no free collection start near ${at} for ${withJid}`);
}

/** isTaken over a known set of keys. */
export function takenIn(keys: Iterable<CollectionKey>): (key: CollectionKey) => boolean {
  const set = new Set<string>();
  for (const k of keys) set.add(`${k.start} ${k.with}`);
  return (k) => set.has(`${k.start} ${k.with}`);
}

/**
 * Thread rule: a message leaves the open collection only when both carry a thread and the
 * threads differ ("different thread IDs SHOULD be archived in separate collections").
 * A thread-less message carries no thread ID to separate on, so it joins the open collection
 * whatever its thread (clients that mix threaded and thread-less messages, e.g. one side
 * sending `<thread/>` and the other not, stay in one collection). A threaded message joining a
 * thread-less collection gives it its thread (`adoptThread`).
 */
export function assign(open: OpenCollection | undefined, msg: CollectionMessage, opts: AssignOptions): Assignment {
  const withJid = bareJid(msg.peer);
  const reason = closeReason(open, withJid, msg, opts);
  if (open && reason === undefined) {
    const a: Assignment = { kind: "append", key: { ...open.key }, position: open.count, version: open.version + 1 };
    if (msg.thread !== undefined && open.thread === undefined) a.adoptThread = msg.thread;
    return a;
  }
  const taken = opts.isTaken ?? (() => false);
  // The collection being closed still exists, so its key is taken too (same-second thread change).
  const isTaken = (k: CollectionKey): boolean =>
    (open !== undefined && open.key.with === k.with && open.key.start === k.start) || taken(k);
  const key = freeStart(withJid, msg.at, isTaken);
  const created: Assignment = { kind: "new", key, reason: reason ?? "none" };
  if (msg.thread !== undefined) created.thread = msg.thread;
  return created;
}

function closeReason(
  open: OpenCollection | undefined,
  withJid: string,
  msg: CollectionMessage,
  opts: AssignOptions,
): NewCollectionReason | undefined {
  if (!open || open.key.with !== withJid) return "none";
  if (opts.autoOffAt !== undefined && opts.autoOffAt >= open.lastAt) return "auto-restarted";
  if (msg.at - open.lastAt > opts.idleMs) return "idle";
  if (msg.thread !== undefined && open.thread !== undefined && msg.thread !== open.thread) return "thread";
  return undefined;
}

/** The open collection once the assigned message is stored. Out-of-order messages do not move `lastAt` back. */
export function afterAssign(open: OpenCollection | undefined, a: Assignment, msg: CollectionMessage): OpenCollection {
  if (a.kind === "new" || !open) {
    const created: OpenCollection = { key: { ...a.key }, lastAt: msg.at, count: 1, version: 0 };
    const thread = a.kind === "new" ? a.thread : msg.thread;
    if (thread !== undefined) created.thread = thread;
    return created;
  }
  const next: OpenCollection = {
    ...open,
    key: { ...open.key },
    lastAt: Math.max(open.lastAt, msg.at),
    count: open.count + 1,
    version: a.version,
  };
  if (a.adoptThread !== undefined) next.thread = a.adoptThread;
  return next;
}

/**
 * Whether a collection is still "currently being recorded" (for `<remove open='true'/>` and
 * for dropping idle state): not idle and not closed by a switch-off since its last message.
 */
export function isStillOpen(open: OpenCollection, now: number, idleMs: number, autoOffAt?: number): boolean {
  if (autoOffAt !== undefined && autoOffAt >= open.lastAt) return false;
  return now - open.lastAt <= idleMs;
}
