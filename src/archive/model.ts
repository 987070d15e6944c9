// Domain types shared by the protocol layer (parsing/rendering), the pure archive
// logic and the storage layer. Times are epoch milliseconds (UTC) everywhere;
// collection starts are always whole seconds (decision D2).

/** XEP-0136 element names: `to` = a message the owner sent, `from` = one the owner received. */
export type Direction = "to" | "from";
export type SaveMode = "body" | "false" | "message" | "stream";
export type OtrMode = "approve" | "concede" | "forbid" | "oppose" | "prefer" | "require";
export type MethodType = "auto" | "local" | "manual";
export type MethodUse = "concede" | "forbid" | "prefer";
export type AutoScope = "stream" | "global";

export interface DefaultPref {
  save: SaveMode;
  otr: OtrMode;
  /** Seconds after archiving that messages are deleted. */
  expire?: number;
}

export interface ItemPref {
  /** As the client gave it, prepared (localpart and domain lower-cased). */
  jid: string;
  exactmatch: boolean;
  save?: SaveMode;
  otr?: OtrMode;
  expire?: number;
}

export interface SessionPref {
  thread: string;
  save: SaveMode;
  otr?: OtrMode;
  /** Seconds; set by the server only. */
  timeout?: number;
  /** Epoch ms after which the server may forget the rule: `timeout` after the later of the set and the thread's latest message. */
  expiresAt?: number;
}

/** What a user has stored. Absent fields mean "never set" (server defaults apply). */
export interface Prefs {
  default?: DefaultPref;
  items: ItemPref[];
  sessions: SessionPref[];
  methods: Partial<Record<MethodType, MethodUse>>;
  /** `<auto scope='global'/>` as last set; undefined when never set. */
  autoGlobal?: boolean;
}

export const emptyPrefs = (): Prefs => ({ items: [], sessions: [], methods: {} });

/** Identity of a collection inside one owner's archive. */
export interface CollectionKey {
  with: string;
  /** Epoch ms, whole seconds. */
  start: number;
}

export interface CollectionMeta extends CollectionKey {
  thread?: string;
  subject?: string;
  /** Starts at 0 and grows by one on every change (XEP-0136 #collections-version). */
  version: number;
  /** Number of stored items (messages and notes). Items are numbered 0..count-1. */
  count: number;
  /** Time of the last stored item, epoch ms (for the idle-gap rule). */
  lastAt?: number;
  previous?: CollectionKey;
  next?: CollectionKey;
  /** Serialized `<x xmlns='jabber:x:data'/>` form, when uploaded. */
  form?: string;
  /** When the collection last changed (its place in the replication log), epoch ms. */
  changedAt?: number;
}

export type ItemKind = Direction | "note";

/** One stored element of a collection (message or note). */
export interface ArchivedItem {
  kind: ItemKind;
  /** Absolute time, epoch ms. */
  at: number;
  /**
   * For messages: the serialized XML children of the `<to/>`/`<from/>` element
   * (the `<body/>` elements in `body` mode, every child of the stanza in `message` mode).
   * For notes: the note's text.
   */
  payload: string;
  /** MUC nick (`name` attribute of `<from/>`). */
  name?: string;
  /** MUC sender JID (`jid` attribute of `<from/>`). */
  jid?: string;
}

/** An item ready to render: its time as cumulative `secs`, or as absolute `utc` where `secs` cannot express it (D5). */
export interface TimedItem extends ArchivedItem {
  secs?: number;
  utc?: number;
}

/** One entry of the replication log (`<modified/>`). */
export interface Change extends CollectionKey {
  version: number;
  removed: boolean;
  /** When the change happened, epoch ms. */
  changedAt: number;
}

export interface RsmRequest {
  max?: number;
  after?: string;
  /** `""` is the empty `<before/>`: the last page. */
  before?: string;
  index?: number;
}

/** A page of a result set, ready to render with its RSM `<set/>`. */
export interface Page<T> {
  items: T[];
  /** Opaque UIDs of the first and last item (absent when the page is empty). */
  first?: string;
  last?: string;
  /** Position of the first item in the full set. */
  firstIndex?: number;
  /** Size of the full filtered set. */
  count: number;
}

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

export interface StanzaError {
  type: StanzaErrorType;
  /** RFC 6120 defined condition, e.g. `bad-request`, `item-not-found`. */
  condition: string;
  text?: string;
}

/** A collection uploaded with `<save/>`: metadata plus items with absolute times. */
export interface UploadedChat extends CollectionKey {
  thread?: string;
  subject?: string;
  items: ArchivedItem[];
  /** `null` removes the link (uploaded without attributes); undefined leaves it. */
  previous?: CollectionKey | null;
  next?: CollectionKey | null;
  form?: string;
  /**
   * Indexes of items whose time came from `secs` (the running sum from `start`) rather than
   * `utc`: appended to an existing collection, their running sum continues after its last item.
   */
  relative?: number[];
}

export type ArchiveRequest =
  | { op: "pref-get" }
  | {
      op: "pref-set";
      default?: DefaultPref;
      items: ItemPref[];
      sessions: SessionPref[];
      methods: Partial<Record<MethodType, MethodUse>>;
      /** `<auto/>` sent inside `<pref/>` (Gajim does this). */
      auto?: { save: boolean; scope: AutoScope };
    }
  | { op: "auto"; save: boolean; scope: AutoScope }
  | { op: "itemremove"; items: { jid: string; exactmatch: boolean }[] }
  | { op: "sessionremove"; threads: string[] }
  | { op: "save"; chat: UploadedChat }
  | { op: "list"; with?: string; exactmatch: boolean; start?: number; end?: number; rsm: RsmRequest }
  | { op: "retrieve"; with: string; start: number; rsm: RsmRequest }
  | { op: "remove"; with?: string; exactmatch: boolean; start?: number; end?: number; open: boolean }
  | { op: "modified"; start: number; rsm: RsmRequest };

export type ArchiveOp = ArchiveRequest["op"];

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: StanzaError };
