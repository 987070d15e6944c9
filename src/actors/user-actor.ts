import type { Element } from "@xmpp/xml";
import { AutoState } from "../archive/auto-state.ts";
import { afterAssign, assign, isStillOpen, type Assignment, type CollectionMessage, type OpenCollection } from "../archive/collections.ts";
import { jidMatches } from "../archive/jid-match.ts";
import type { ArchivedItem, ArchiveRequest, CollectionKey, CollectionMeta, Prefs, StanzaError } from "../archive/model.ts";
import { emptyPrefs } from "../archive/model.ts";
import type { ArchivePolicy } from "../archive/policy.ts";
import {
  allMethods,
  applyAuto,
  applyItemRemove,
  applyPrefSet,
  applySessionRemove,
  hasChanges,
  pruneSessions,
  resolveExpire,
  resolveSave,
  touchSession,
} from "../archive/prefs.ts";
import type { FeedCopy } from "../cluster/shard-queues.ts";
import { itemNotFound, notAcceptable } from "../protocol/errors.ts";
import { bareJid, prepJid } from "../protocol/jid.ts";
import { renderPref, renderPrefPush, type PrefPush } from "../protocol/render-pref.ts";
import { renderSaveResult } from "../protocol/render.ts";
import { payloadOf } from "../protocol/message-payload.ts";
import { parseElement } from "../protocol/xmlfrag.ts";
import type { ArchiveStore, PeerState, WriteStamp } from "../store/archive-store.ts";
import { matchCollections } from "./collection-filter.ts";

/** What a command produced: the IQ result payload (serialized) or an error, and preference pushes. */
export interface CommandOutcome {
  payload?: string;
  error?: StanzaError;
  pushes?: { to: string[]; payload: string };
}

export interface ActorContext {
  store: ArchiveStore;
  policy: ArchivePolicy;
  maxSaveItems: number;
  /** A fresh fenced write timestamp; throws when this node no longer owns the user's shard. */
  stamp(): WriteStamp;
  /** Copies now durable in the archive (called after their write succeeded). */
  onArchived(copies: readonly FeedCopy[]): void;
  onDropped(reason: string, n: number): void;
}

interface PendingWrite {
  meta: CollectionMeta;
  items: ArchivedItem[];
  ttl?: number;
  copies: FeedCopy[];
  /** A key never used before (no change-log entry to replace). */
  fresh: boolean;
}

/** A copy that is to be archived: the message its collection is chosen by, and what is stored of it. */
interface Admitted extends CollectionMessage {
  peerBare: string;
  payload: string;
  sent: boolean;
}

/** A collection key found free for a new collection; `fresh`: never used before. */
interface FreeKey {
  key: CollectionKey;
  fresh: boolean;
}

/** Peer records read with the preferences when an actor loads, at most. */
const PEERS_PRELOADED = 32;

/** What the actor knows of the collections with one bare peer (mirrors the stored peer state). */
interface PeerEntry {
  /** The open automatic collection, with the stored row it was last written as. */
  open?: { open: OpenCollection; meta: CollectionMeta };
  /** No collection with this peer starts later: a key after it is free without a look-up. */
  latestStart?: number;
}

/**
 * The only writer of one user's archive, living on the owner of the user's shard.
 * It holds the user's preferences, automatic-archiving switches and open collections,
 * and applies the user's queued copies and commands one job at a time, in order.
 */
export class UserActor {
  private readonly auto: AutoState;
  /**
   * Per peer bare JID: the open automatic collection and the latest start of any collection
   * (loaded lazily from storage; kept current so appends and new keys need no read).
   */
  private readonly peers = new Map<string, PeerEntry>();
  /** `peers` holds every stored peer record: a peer missing from it has none, with no read. */
  private peersComplete: boolean;
  /** Resources that asked for preferences and are still online: they get pushes (D18). */
  private readonly prefListeners = new Set<string>();
  lastUsed = Date.now();

  private constructor(
    readonly owner: string,
    private prefs: Prefs,
    private readonly ctx: ActorContext,
    peers: { states: Map<string, PeerState>; complete: boolean },
  ) {
    this.auto = new AutoState(prefs.autoGlobal);
    for (const [peerBare, state] of peers.states) this.peers.set(peerBare, entryOf(state));
    this.peersComplete = peers.complete;
  }

  /**
   * Preferences and, read beside them, the peer records of a user with few peers: a user who
   * talks to someone new then needs no read to learn there is nothing stored. Users with
   * more peers than that have them read one by one as they come up, so memory stays bounded.
   */
  static async load(owner: string, ctx: ActorContext): Promise<UserActor> {
    const [prefs, peers] = await Promise.all([ctx.store.loadPrefs(owner), ctx.store.somePeerStates(owner, PEERS_PRELOADED)]);
    return new UserActor(owner, prefs ?? emptyPrefs(), ctx, peers);
  }

  presence(jid: string, online: boolean, now: number): void {
    if (online) return;
    this.prefListeners.delete(jid);
    this.auto.resourceOffline(jid, now, this.ctx.policy);
  }

  // ---- automatic archiving ----

  /**
   * Archives a batch of copies. Only copies that may have been applied before (resends, or a
   * job run again) are looked up among the applied ids: fresh copies cost no read.
   */
  async ingest(copies: FeedCopy[], rerun = false): Promise<void> {
    this.lastUsed = Date.now();
    const suspects = copies.filter((c) => rerun || c.recheck).map((c) => c.id);
    // Peers not in memory yet are read side by side (and beside the applied-ids check), not one
    // after another as copies come to need them.
    const missing = new Set<string>();
    for (const c of this.peersComplete ? [] : copies) {
      const peer = c.direction === "sent" ? c.to : c.from;
      if (peer !== undefined && !this.peers.has(bareJid(peer))) missing.add(bareJid(peer));
    }
    const [seen] = await Promise.all([this.ctx.store.seenCopies(this.owner, suspects), ...[...missing].map((p) => this.peer(p))]);
    const writes = new Map<string, PendingWrite>();
    const inBatch = new Set<string>();
    for (const copy of copies) {
      if (seen.has(copy.id) || inBatch.has(copy.id)) {
        this.ctx.onDropped("duplicate", 1);
        continue;
      }
      inBatch.add(copy.id);
      const pending = this.archiveCopy(copy, writes);
      if (pending) await pending;
    }
    await this.flush(writes);
  }

  /**
   * Adds one copy to `writes`. Synchronous unless storage has to be asked (a peer not in memory,
   * or a new collection's key that may be taken): most copies then cost no promise and no turn
   * of the event loop.
   */
  private archiveCopy(copy: FeedCopy, writes: Map<string, PendingWrite>): Promise<void> | undefined {
    const admitted = this.admit(copy);
    if (admitted === undefined) return undefined;
    const entry = this.peers.get(admitted.peerBare);
    if (entry === undefined) return this.peer(admitted.peerBare).then((e) => this.place(copy, admitted, e, writes));
    return this.place(copy, admitted, entry, writes);
  }

  /** Whether the copy is archived at all (undefined: dropped, and counted), and with what payload. */
  private admit(copy: FeedCopy): Admitted | undefined {
    // The edge sends what the owner needs already read; only jobs queued by nodes of earlier
    // versions carry the stanza instead, parsed here for what they lack.
    const m = copy.from === undefined ? legacyStanza(copy) : undefined;
    if (m === null) return this.dropped("malformed");
    const from = m ? prepJid(String(m.attrs.from ?? "")) : copy.from;
    const to = m ? prepJid(String(m.attrs.to ?? "")) : copy.to;
    if (!from || !to) return this.dropped("malformed");
    const sent = copy.direction === "sent";
    const peer = sent ? to : from;
    const own = sent ? from : to;
    const policy = this.ctx.policy;
    // Incoming to the bare JID: only the user's global setting applies (D19).
    const ownResource = own.includes("/") ? own : undefined;
    if (!this.auto.isOn(ownResource, copy.at, policy)) return this.dropped("auto-off");
    const thread = m ? (m.getChildText("thread") ?? undefined) : copy.thread;
    this.prefs = pruneSessions(this.prefs, copy.at);
    const save = resolveSave(this.prefs, { peer, thread, now: copy.at }, policy);
    if (save === "false") return this.dropped("preference");
    const payload = payloadFor(copy, save === "message", m);
    if (payload === null) return this.dropped("malformed");
    if (payload === "") return this.dropped("empty");
    if (thread !== undefined) this.prefs = touchSession(this.prefs, thread, copy.at, policy);
    return { peer, thread, at: copy.at, peerBare: bareJid(peer), payload, sent };
  }

  private dropped(reason: string): undefined {
    this.ctx.onDropped(reason, 1);
    return undefined;
  }

  /** Puts an admitted copy into its collection: the open one, or a new one at a free key. */
  private place(copy: FeedCopy, c: Admitted, entry: PeerEntry, writes: Map<string, PendingWrite>): Promise<void> | undefined {
    const policy = this.ctx.policy;
    const open = entry.open?.open;
    const autoOffAt = this.auto.lastSwitchedOffAt(copy.at, policy);
    const a = assign(open, c, { idleMs: policy.collectionIdleMs, autoOffAt });
    if (a.kind === "append") return this.append(copy, c, entry, a, false, writes);
    const put = (f: FreeKey) => this.append(copy, c, entry, { ...a, key: f.key }, f.fresh, writes);
    const free = this.freeKey(a.key, entry, writes);
    return free instanceof Promise ? free.then(put) : put(free);
  }

  /** Adds the copy to its collection's pending write; a new collection's key is free already (`fresh`: never used). */
  private append(copy: FeedCopy, c: Admitted, entry: PeerEntry, a: Assignment, fresh: boolean, writes: Map<string, PendingWrite>): undefined {
    const open = entry.open?.open;
    const key = a.key;
    const next = afterAssign(open, a, c);

    const id = `${key.with}\u0000${key.start}`;
    let w = writes.get(id);
    if (!w) {
      // One change per collection per batch: the version moves once for all its new messages.
      const meta: CollectionMeta =
        a.kind === "append" && entry.open ? { ...entry.open.meta, version: entry.open.meta.version + 1 } : { with: key.with, start: key.start, version: 0, count: 0 };
      w = { meta, items: [], copies: [], fresh };
      writes.set(id, w);
    }
    if (next.thread !== undefined) w.meta.thread = next.thread;
    w.meta.count += 1;
    w.meta.lastAt = Math.max(w.meta.lastAt ?? copy.at, copy.at);
    w.items.push({ kind: c.sent ? "to" : "from", at: copy.at, payload: c.payload });
    w.copies.push(copy);
    const expire = resolveExpire(this.prefs, c.peer, this.ctx.policy);
    if (expire !== undefined) w.ttl = Math.max(w.ttl ?? 0, expire);
    // Keep the in-memory open collection in step with what will be written.
    next.count = w.meta.count;
    next.version = w.meta.version;
    entry.open = { open: next, meta: w.meta };
    if (entry.latestStart === undefined || key.start > entry.latestStart) entry.latestStart = key.start;
    return undefined;
  }

  /** What is known of a peer: from memory, else from the peer's stored record (one read). */
  private async peer(peerBare: string): Promise<PeerEntry> {
    let entry = this.peers.get(peerBare);
    if (entry) return entry;
    entry = this.peersComplete ? {} : entryOf(await this.ctx.store.peerState(this.owner, peerBare));
    this.peers.set(peerBare, entry);
    return entry;
  }

  /**
   * D2: a new collection whose (with, start) is taken moves on by one second. A start after the
   * peer's latest one is free (and was never used) without a look-up, and is answered at once;
   * earlier starts (messages stamped in the past) are checked against storage.
   */
  private freeKey(key: CollectionKey, entry: PeerEntry, writes: Map<string, PendingWrite>): FreeKey | Promise<FreeKey> {
    let k = key;
    // Keys this batch is writing already are taken.
    while (writes.has(`${k.with}\u0000${k.start}`)) k = { with: k.with, start: k.start + 1000 };
    if (entry.latestStart === undefined || k.start > entry.latestStart) return { key: k, fresh: true };
    const asked = k;
    return this.ctx.store
      .getCollection(this.owner, asked)
      .then((taken) => (taken ? this.freeKey({ with: asked.with, start: asked.start + 1000 }, entry, writes) : { key: asked, fresh: false }));
  }

  private async flush(writes: Map<string, PendingWrite>): Promise<void> {
    if (writes.size === 0) return;
    const pending = [...writes.values()];
    // One write for all the collections: their items side by side, then one batch of the owner's
    // partition. If it fails, the job runs again and the copies already written are recognised
    // by their ids. Every collection is recorded as its peer's open one; where a peer has two,
    // the store keeps the later (writes are in the order collections were opened in).
    await this.ctx.store.writeCollections(
      this.owner,
      pending.map((w) => {
        const latestStart = this.peers.get(bareJid(w.meta.with))?.latestStart;
        return {
          meta: w.meta,
          items: w.items,
          ttlSeconds: w.ttl,
          copyIds: w.copies.map((c) => c.id),
          open: true,
          sparse: true,
          fresh: w.fresh,
          ...(w.fresh && latestStart !== undefined ? { latestStart } : {}),
        };
      }),
      Date.now(),
      this.ctx.stamp(),
    );
    for (const w of pending) this.ctx.onArchived(w.copies);
  }

  // ---- commands ----

  async command(requester: string, req: ArchiveRequest): Promise<CommandOutcome> {
    this.lastUsed = Date.now();
    const now = Date.now();
    const policy = this.ctx.policy;
    switch (req.op) {
      case "pref-get": {
        this.prefListeners.add(requester);
        const prefs = pruneSessions(this.prefs, now);
        const auto = this.auto.isOn(requester, now, policy);
        const view = {
          prefs,
          auto,
          defaults: {
            save: policy.defaultSave,
            otr: policy.defaultOtr,
            ...(policy.defaultExpire !== undefined ? { expire: policy.defaultExpire } : {}),
            methods: allMethods(emptyPrefs()),
          },
        };
        return { payload: renderPref(view).toString() };
      }
      case "pref-set": {
        const { op: _op, ...set } = req;
        const out = applyPrefSet(this.prefs, set, policy, now);
        if (!out.ok) return { error: out.error };
        let prefs = out.value.prefs;
        if (out.value.auto) {
          const a = applyAuto(prefs, out.value.auto, policy);
          if (!a.ok) return { error: a.error };
          prefs = a.value;
          this.switchAuto(requester, out.value.auto.save, out.value.auto.scope, now);
        }
        await this.savePrefs(prefs);
        const changed = out.value.changed;
        if (!hasChanges(changed)) return { payload: "" };
        const push: PrefPush = {};
        if (changed.default) push.default = changed.default;
        if (changed.items.length) push.items = changed.items;
        if (changed.sessions.length) push.sessions = changed.sessions;
        if (changed.methods) push.methods = changed.methods;
        const targets = [...this.prefListeners];
        if (!targets.includes(requester)) targets.push(requester);
        return { payload: "", pushes: { to: targets, payload: renderPrefPush(push).toString() } };
      }
      case "auto": {
        const a = applyAuto(this.prefs, req, policy);
        if (!a.ok) return { error: a.error };
        this.switchAuto(requester, req.save, req.scope, now);
        if (a.value !== this.prefs) await this.savePrefs(a.value);
        return { payload: "" };
      }
      case "itemremove":
        await this.savePrefs(applyItemRemove(this.prefs, req.items));
        return { payload: "" };
      case "sessionremove":
        await this.savePrefs(applySessionRemove(this.prefs, req.threads));
        return { payload: "" };
      case "save":
        return this.save(req.chat, now);
      case "remove":
        return this.remove(req, now);
      default:
        // Queries never reach the actor.
        return { error: { type: "modify", condition: "bad-request" } };
    }
  }

  private switchAuto(requester: string, on: boolean, scope: "stream" | "global", now: number): void {
    if (scope === "global") this.auto.setGlobal(on, now, this.ctx.policy, requester);
    else this.auto.setStream(requester, on, now, this.ctx.policy);
    // Switching off closes every active collection (#auto); the next message opens new ones.
    if (!on) for (const e of this.peers.values()) delete e.open;
  }

  private async savePrefs(prefs: Prefs): Promise<void> {
    await this.ctx.store.savePrefs(this.owner, prefs, this.ctx.stamp());
    this.prefs = prefs;
  }

  private async save(chat: Extract<ArchiveRequest, { op: "save" }>["chat"], now: number): Promise<CommandOutcome> {
    if (chat.items.length > this.ctx.maxSaveItems) return { error: notAcceptable("collection too large") };
    const key = { with: chat.with, start: chat.start };
    const existing = await this.ctx.store.getCollection(this.owner, key);
    if (existing && existing.count + chat.items.length > this.ctx.maxSaveItems * 10) {
      return { error: notAcceptable("collection too large") };
    }
    const meta: CollectionMeta = existing ? { ...existing, version: existing.version + 1 } : { ...key, version: 0, count: 0 };
    let items = chat.items;
    if (existing && existing.count > 0 && existing.lastAt !== undefined && chat.relative) {
      // `secs` count from the previous message, which for an append is the collection's last one.
      const offset = Math.max(0, Math.round((existing.lastAt - existing.start) / 1000) * 1000);
      const rel = new Set(chat.relative);
      items = chat.items.map((it, i) => (rel.has(i) ? { ...it, at: it.at + offset } : it));
    }
    if (chat.subject !== undefined) meta.subject = chat.subject;
    // The first thread given stays: it names the conversation the collection maps to.
    if (chat.thread !== undefined && meta.thread === undefined) meta.thread = chat.thread;
    if (chat.previous === null) delete meta.previous;
    else if (chat.previous) meta.previous = chat.previous;
    if (chat.next === null) delete meta.next;
    else if (chat.next) meta.next = chat.next;
    if (chat.form !== undefined) meta.form = chat.form;
    meta.count += items.length;
    for (const it of items) meta.lastAt = Math.max(meta.lastAt ?? it.at, it.at);
    // Automatic collections have a bare `with`: only such a save can touch the peer's record,
    // by writing to its open collection or by starting later than any collection with it.
    const entry = chat.with.includes("/") ? undefined : await this.peer(chat.with);
    const isOpen = entry?.open !== undefined && sameKey(entry.open.meta, meta);
    const raises = entry !== undefined && (entry.latestStart === undefined || meta.start > entry.latestStart);
    await this.ctx.store.writeCollection(
      this.owner,
      { meta, items, open: isOpen, ...(raises ? { latestStart: meta.start } : {}) },
      now,
      this.ctx.stamp(),
    );
    if (entry && isOpen) entry.open = { open: openOf(meta), meta };
    if (entry && raises) entry.latestStart = meta.start;
    return { payload: renderSaveResult(meta).toString() };
  }

  private async remove(req: Extract<ArchiveRequest, { op: "remove" }>, now: number): Promise<CommandOutcome> {
    let targets: CollectionMeta[];
    if (req.open) {
      const policy = this.ctx.policy;
      const autoOffAt = this.auto.lastSwitchedOffAt(now, policy);
      const keys: CollectionKey[] = [];
      await this.loadAllPeers();
      for (const e of this.peers.values()) {
        const o = e.open?.open;
        if (!o || !isStillOpen(o, now, policy.collectionIdleMs, autoOffAt)) continue;
        if (req.with !== undefined && !jidMatches(req.with, req.exactmatch, o.key.with)) continue;
        keys.push(o.key);
      }
      targets = [];
      for (const k of keys) {
        const m = await this.ctx.store.getCollection(this.owner, k);
        if (m) targets.push(m);
      }
    } else if (req.with !== undefined && req.start !== undefined && req.end === undefined) {
      // D10: with + start alone names exactly one collection.
      const m = await this.ctx.store.getCollection(this.owner, { with: req.with, start: req.start });
      targets = m ? [m] : [];
    } else {
      targets = await matchCollections(this.ctx.store, this.owner, req);
    }
    if (targets.length === 0) return { error: itemNotFound() };
    // A removed collection that is its peer's open one takes the peer's record of it along.
    if (targets.some((t) => !t.with.includes("/") && !this.peers.has(t.with))) await this.loadAllPeers();
    const openKeys = targets.filter((t) => {
      const o = this.peers.get(t.with)?.open;
      return o !== undefined && sameKey(o.meta, t);
    });
    await this.ctx.store.removeCollections(this.owner, targets, now, this.ctx.stamp(), openKeys);
    for (const t of openKeys) delete this.peers.get(t.with)!.open;
    return { payload: "" };
  }

  /** Every peer's record not in memory yet, in one read of the owner's partition. */
  private async loadAllPeers(): Promise<void> {
    if (this.peersComplete) return;
    for (const [peerBare, state] of await this.ctx.store.peerStates(this.owner)) {
      if (!this.peers.has(peerBare)) this.peers.set(peerBare, entryOf(state));
    }
    this.peersComplete = true;
  }
}

const sameKey = (a: CollectionKey, b: CollectionKey): boolean => a.with === b.with && a.start === b.start;

/**
 * The payload to store: from what the edge read, or for jobs of earlier versions (which carry
 * the stanza, and no `whole` even when it would differ) from the parsed stanza. Null: unreadable.
 * `parsed`: that stanza, if the caller parsed it already (passed, not a closure made per copy).
 */
function payloadFor(copy: FeedCopy, whole: boolean, parsed: Element | null | undefined): string | null {
  if (copy.body !== undefined && (!whole || copy.whole !== undefined || copy.stanza === undefined)) {
    return whole ? (copy.whole ?? copy.body) : copy.body;
  }
  const full = parsed !== undefined ? parsed : legacyStanza(copy);
  return full ? payloadOf(full, whole) : null;
}

/** The stanza a job queued by a node of an earlier version carries (null: none, or malformed). */
function legacyStanza(copy: FeedCopy): Element | null {
  return copy.stanza === undefined ? null : parseElement(copy.stanza);
}

/** The actor's entry for a peer from its stored record (none: no collection with the peer yet). */
function entryOf(state: PeerState | undefined): PeerEntry {
  const entry: PeerEntry = {};
  if (state?.open) entry.open = { open: openOf(state.open), meta: state.open };
  if (state?.latestStart !== undefined) entry.latestStart = state.latestStart;
  return entry;
}

function openOf(meta: CollectionMeta): OpenCollection {
  const open: OpenCollection = { key: { with: meta.with, start: meta.start }, lastAt: meta.lastAt ?? meta.start, count: meta.count, version: meta.version };
  if (meta.thread !== undefined) open.thread = meta.thread;
  return open;
}

/** What is stored of a message: its `<body/>` elements, or in `message` mode every child. */
