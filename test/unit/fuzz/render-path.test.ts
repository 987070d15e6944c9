// The request path without servers: parse, page (with garbage cursors), render. Whatever the
// request and whatever the stored strings (corrupt payloads, control characters, lone
// surrogates), the answer must be XML the server accepts: it closes the component stream on
// the first stanza that is not.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { changeCursor, collectionCursor, type ChangeKey } from "../../../src/archive/cursors.ts";
import type { ArchivedItem, Change, CollectionMeta, Prefs, StanzaError } from "../../../src/archive/model.ts";
import { clampMax, pageFromRange, pageOfPositions, pageOfSorted } from "../../../src/archive/paging.ts";
import { timeItems } from "../../../src/archive/secs.ts";
import { parseArchiveRequest } from "../../../src/protocol/parse.ts";
import { renderPref, renderPrefPush } from "../../../src/protocol/render-pref.ts";
import { renderChat, renderChatItem, renderList, renderModified, renderSaveResult } from "../../../src/protocol/render.ts";
import { replyIq } from "../../../src/xmpp/iq-envelope.ts";
import { anyText, cursorText, legalText, params, TIMEOUT_MS } from "./support.ts";
import { request } from "./payloads.ts";
import { assertWellFormed } from "./xml-check.ts";

const LIMITS = { defaultMax: 5, maxPageSize: 20 };
const COMP = "archive.example.test";
const DELEGATED = {
  kind: "delegated" as const,
  outerFrom: "example.test",
  outerTo: COMP,
  outerId: "o",
  innerFrom: "alice@example.test/r",
  innerId: "i",
  owner: "alice@example.test",
};

/** What the renderers may find in storage: what we wrote, and what corruption leaves. */
const storedPayload: fc.Arbitrary<string> = fc.oneof(
  legalText(10).map((t) => `<body>${t.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</body>`),
  fc.constantFrom(
    "",
    "<body>hi</body>",
    "<body>a</body><body xml:lang='de'>b</body>",
    "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>x</p></body></html>",
    "<body>",
    "</w><x/><w>",
    "<a:b/>",
    "<b a:c='1'/>",
    "<x xmlns:p=''><p:y/></x>",
    "<a\"b/>",
    "<1a/>",
    "<a b/>",
    "<a b='1' b='2'/>",
    "<a>&bogus;</a>",
    "<a>&#0;</a>",
    "<!-- c --><body/>",
    "<![CDATA[x]]>",
    "<?pi x?><body/>",
    "<body>\u0001</body>",
    "<body a='\u0000'/>",
    "<body>\ud800</body>",
    "<b\u0001/>",
    "]]>",
    "text only",
    "<xmlns:x/>",
    "<x xmlns:xml='urn:no'/>",
  ),
  anyText(20),
);

const storedString = fc.oneof(legalText(8), anyText(8));
const peer = fc.constantFrom("juliet@capulet.com", "romeo@montague.net/orchard", "é@例え.テスト", "capulet.com");

const meta: fc.Arbitrary<CollectionMeta> = fc
  .record({
    with: peer,
    start: fc.integer({ min: 0, max: 100 }).map((s) => 1_700_000_000_000 + s * 1000),
    version: fc.nat({ max: 10 }),
    subject: fc.option(storedString, { nil: undefined }),
    thread: fc.option(storedString, { nil: undefined }),
    form: fc.option(fc.oneof(storedPayload, fc.constant("<x xmlns='jabber:x:data' type='form'/>")), { nil: undefined }),
    previous: fc.option(fc.record({ with: peer, start: fc.constant(1_600_000_000_000) }), { nil: undefined }),
  })
  .map((m) => {
    const out: CollectionMeta = { with: m.with, start: m.start, version: m.version, count: 0 };
    if (m.subject !== undefined) out.subject = m.subject;
    if (m.thread !== undefined) out.thread = m.thread;
    if (m.form !== undefined) out.form = m.form;
    if (m.previous !== undefined) out.previous = m.previous;
    return out;
  });

const item: fc.Arbitrary<ArchivedItem> = fc
  .record({
    kind: fc.constantFrom("to" as const, "from" as const, "note" as const),
    dt: fc.integer({ min: -5000, max: 200_000 }),
    payload: storedPayload,
    name: fc.option(storedString, { nil: undefined }),
    jid: fc.option(peer, { nil: undefined }),
  })
  .map(({ kind, dt, payload, name, jid }) => {
    const i: ArchivedItem = { kind, at: 1_700_000_000_000 + dt, payload };
    if (name !== undefined) i.name = name;
    if (jid !== undefined) i.jid = jid;
    return i;
  });

const store = fc.record({
  collections: fc.array(meta, { maxLength: 12 }),
  items: fc.array(item, { maxLength: 12 }),
  changes: fc.array(
    fc.record({ with: peer, start: fc.nat({ max: 5 }).map((s) => s * 1000), version: fc.nat({ max: 3 }), removed: fc.boolean(), changedAt: fc.nat({ max: 9 }) }),
    { maxLength: 12 },
  ),
});

/** A request whose RSM cursors are sometimes real ones of the stored sets, sometimes garbage. */
const withCursors = fc.tuple(request, fc.option(cursorText, { nil: undefined }), fc.nat({ max: 20 }), fc.constantFrom("after", "before"));

function send(payload: ReturnType<typeof renderList> | undefined, error?: StanzaError): void {
  if (payload !== undefined) assertWellFormed(payload.toString(), "urn:xmpp:archive");
  const reply = replyIq(DELEGATED, COMP, error ? { error } : payload ? { payload } : {});
  assertWellFormed(reply.toString());
}

describe("parse → page → render (fuzz)", () => {
  it(
    "every answer is well-formed, namespace-well-formed XML made of legal characters",
    () => {
      fc.assert(
        fc.property(withCursors, store, ([{ type, el }, garbage, pick, side], st) => {
          const parsed = parseArchiveRequest(type, el);
          if (!parsed.ok) return send(undefined, parsed.error);
          const req = parsed.value;
          const collections = [...st.collections].sort(collectionCursor.compare);
          const changes: Change[] = [...st.changes].sort(changeCursor.compare);
          switch (req.op) {
            case "list": {
              const real = collections[pick % Math.max(1, collections.length)];
              const rsm = { ...req.rsm };
              if (garbage !== undefined) rsm[side === "after" ? "after" : "before"] = garbage;
              else if (real !== undefined && pick % 3 === 0) rsm.after = collectionCursor.encode(real);
              const page = pageOfSorted(collections, { ...collectionCursor, keyOf: (c: CollectionMeta) => ({ with: c.with, start: c.start }) }, rsm, clampMax(rsm, LIMITS));
              if (!page.ok) {
                expect(page.error).toMatchObject({ type: "cancel", condition: "item-not-found" });
                return send(undefined, page.error);
              }
              return send(renderList(page.value));
            }
            case "retrieve": {
              const m: CollectionMeta = { ...(collections[0] ?? { with: req.with, start: req.start, version: 0 }), count: st.items.length };
              const rsm = { ...req.rsm };
              if (garbage !== undefined) rsm[side === "after" ? "after" : "before"] = garbage;
              const range = pageOfPositions(m.count, rsm, clampMax(rsm, LIMITS));
              if (!range.ok) return send(undefined, range.error);
              const items = timeItems(m.start, st.items.slice(range.value.from, range.value.to));
              return send(renderChat(m, pageFromRange(range.value, items), range.value.from === 0));
            }
            case "modified": {
              const rsm = { ...req.rsm };
              if (garbage !== undefined) rsm[side === "after" ? "after" : "before"] = garbage;
              const keyOf = (c: Change): ChangeKey => ({ changedAt: c.changedAt, with: c.with, start: c.start });
              const page = pageOfSorted(changes, { ...changeCursor, keyOf }, rsm, clampMax(rsm, LIMITS));
              if (!page.ok) return send(undefined, page.error);
              return send(renderModified(page.value));
            }
            case "pref-set": {
              const prefs: Prefs = { items: req.items, sessions: req.sessions, methods: req.methods };
              if (req.default) prefs.default = req.default;
              send(renderPref({ prefs, auto: req.auto?.save ?? true, defaults: { save: "body", otr: "concede", methods: { auto: "prefer", local: "concede", manual: "concede" } } }));
              return send(renderPrefPush({ default: req.default, items: req.items, sessions: req.sessions }));
            }
            case "save": {
              const { chat } = req;
              const m: CollectionMeta = { with: chat.with, start: chat.start, version: 0, count: chat.items.length };
              if (chat.subject !== undefined) m.subject = chat.subject;
              if (chat.thread !== undefined) m.thread = chat.thread;
              if (chat.form !== undefined) m.form = chat.form;
              if (chat.previous) m.previous = chat.previous;
              send(renderSaveResult(m));
              // What was uploaded renders back: the stored payloads are what the parser serialized.
              const timed = timeItems(m.start, [...chat.items].sort((a, b) => a.at - b.at));
              return send(renderChat(m, { items: timed, count: timed.length }, true));
            }
            default:
              return send(undefined);
          }
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "stored items and collection headers render as sendable XML, however corrupt",
    () => {
      fc.assert(
        fc.property(meta, fc.array(item, { maxLength: 6 }), (m, items) => {
          const timed = timeItems(m.start, items);
          for (const t of timed) assertWellFormed(renderChatItem(t).toString(), "urn:xmpp:archive");
          const chat = renderChat({ ...m, count: items.length }, { items: timed, count: items.length, first: "MW0w", last: "MW0w", firstIndex: 0 }, true);
          send(chat);
          send(renderList({ items: [m], count: 1 }));
        }),
        params(2),
      );
    },
    TIMEOUT_MS,
  );
});
