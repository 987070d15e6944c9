import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Element } from "@xmpp/xml";
import parseXml from "ltx/lib/parse.js";
import type { ArchiveRequest, Parsed, RsmRequest } from "../../../src/archive/model.ts";
import { MAX_TIME, MIN_TIME, parseDateTime } from "../../../src/protocol/datetime.ts";
import { prepJid } from "../../../src/protocol/jid.ts";
import { IQ_TYPES, parseArchiveRequest, type IqType } from "../../../src/protocol/parse.ts";
import { garbageDate, params, TIMEOUT_MS, validDate } from "./support.ts";
import { build, request } from "./payloads.ts";

/** RFC 6120 §8.3.3 defined conditions. */
export const CONDITIONS = new Set([
  "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone", "internal-server-error",
  "item-not-found", "jid-malformed", "not-acceptable", "not-allowed", "not-authorized", "policy-violation",
  "recipient-unavailable", "redirect", "registration-required", "remote-server-not-found",
  "remote-server-timeout", "resource-constraint", "service-unavailable", "subscription-required",
  "undefined-condition", "unexpected-request",
]);
export const ERROR_TYPES = new Set(["auth", "cancel", "continue", "modify", "wait"]);
const XS_INT_MAX = 2 ** 31 - 1;

function checkTime(t: number, what: string): void {
  expect(Number.isInteger(t), what).toBe(true);
  expect(t, what).toBeGreaterThanOrEqual(MIN_TIME);
  expect(t, what).toBeLessThanOrEqual(MAX_TIME);
}

function checkWholeSecond(t: number, what: string): void {
  checkTime(t, what);
  expect(t % 1000 === 0, `${what} whole second`).toBe(true);
}

function checkCount(n: number | undefined, what: string): void {
  if (n === undefined) return;
  expect(Number.isSafeInteger(n) && n >= 0, `${what}=${n}`).toBe(true);
}

function checkJid(j: string | undefined, what: string): void {
  if (j === undefined) return;
  // Stored and compared as prepared: preparing again changes nothing.
  expect(prepJid(j), what).toBe(j);
}

function checkRsm(rsm: RsmRequest): void {
  for (const n of [rsm.max, rsm.index]) {
    if (n === undefined) continue;
    expect(Number.isInteger(n) && n >= 0 && n <= XS_INT_MAX, `rsm ${n}`).toBe(true);
  }
  if (rsm.after !== undefined) expect(rsm.after).not.toBe("");
}

/** What every successful parse guarantees to the service. */
export function checkRequest(req: ArchiveRequest): void {
  switch (req.op) {
    case "pref-get":
      return;
    case "pref-set":
      if (req.default) checkCount(req.default.expire, "default/@expire");
      for (const i of req.items) {
        checkJid(i.jid, "item/@jid");
        checkCount(i.expire, "item/@expire");
        if (i.otr === "require") expect([undefined, "false"]).toContain(i.save);
      }
      for (const s of req.sessions) expect(s.thread).not.toBe("");
      return;
    case "auto":
      expect(["stream", "global"]).toContain(req.scope);
      return;
    case "itemremove":
      expect(req.items.length).toBeGreaterThan(0);
      for (const i of req.items) checkJid(i.jid, "itemremove jid");
      return;
    case "sessionremove":
      expect(req.threads.length).toBeGreaterThan(0);
      return;
    case "save": {
      const c = req.chat;
      checkJid(c.with, "chat/@with");
      checkWholeSecond(c.start, "chat/@start");
      for (const link of [c.previous, c.next]) {
        if (link) {
          checkJid(link.with, "link/@with");
          checkWholeSecond(link.start, "link/@start");
        }
      }
      for (const item of c.items) {
        checkTime(item.at, "item time");
        checkJid(item.jid, "item/@jid");
        expect(["to", "from", "note"]).toContain(item.kind);
        if (item.kind !== "note") expect(item.payload).not.toBe("");
      }
      for (const i of c.relative ?? []) expect(i >= 0 && i < c.items.length).toBe(true);
      return;
    }
    case "list":
    case "remove":
      checkJid(req.with, "with");
      if (req.start !== undefined) checkTime(req.start, "start");
      if (req.end !== undefined) checkTime(req.end, "end");
      if (req.op === "list") checkRsm(req.rsm);
      return;
    case "retrieve":
      checkJid(req.with, "with");
      checkWholeSecond(req.start, "start");
      checkRsm(req.rsm);
      return;
    case "modified":
      checkTime(req.start, "start");
      checkRsm(req.rsm);
      return;
  }
}

export function checkParsed(type: IqType, el: Element, r: Parsed<ArchiveRequest>): void {
  if (r.ok) {
    checkRequest(r.value);
    return;
  }
  expect(ERROR_TYPES.has(r.error.type), r.error.type).toBe(true);
  expect(CONDITIONS.has(r.error.condition), r.error.condition).toBe(true);
  const name = el.getName();
  const allowed = Object.hasOwn(IQ_TYPES, name) ? IQ_TYPES[name] : undefined;
  if (el.getNS() !== "urn:xmpp:archive" || allowed === undefined) {
    expect(r.error).toMatchObject({ type: "cancel", condition: "service-unavailable" });
  } else if (!allowed.includes(type)) {
    expect(r.error).toMatchObject({ type: "modify", condition: "bad-request" });
  }
}

describe("parseArchiveRequest (fuzz)", () => {
  it(
    "never throws; answers are valid requests or RFC 6120 errors",
    () => {
      fc.assert(
        fc.property(request, ({ type, el }) => {
          checkParsed(type, el, parseArchiveRequest(type, el));
        }),
        params(2),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "a wrong IQ type for a known element is bad-request, whatever the content",
    () => {
      fc.assert(
        fc.property(request, ({ el }) => {
          const allowed = Object.hasOwn(IQ_TYPES, el.getName()) ? IQ_TYPES[el.getName()] : undefined;
          if (el.getNS() !== "urn:xmpp:archive" || allowed === undefined || allowed.length === 2) return;
          const wrong: IqType = allowed.includes("get") ? "set" : "get";
          const r = parseArchiveRequest(wrong, el);
          expect(r.ok ? undefined : r.error).toMatchObject({ type: "modify", condition: "bad-request" });
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it(
    "the same payload read back from the wire parses to the same answer",
    () => {
      // What the server delivers is the serialized form parsed again; parsing must not depend
      // on how the tree was built. Trees whose serialization ltx cannot read are skipped.
      fc.assert(
        fc.property(request, ({ type, el }) => {
          let wire: Element;
          try {
            wire = parseXml(el.toString());
          } catch {
            return;
          }
          const a = parseArchiveRequest(type, el);
          const b = parseArchiveRequest(type, wire);
          checkParsed(type, wire, b);
          // Text nodes may merge or split on the way; the verdict may not change.
          expect(b.ok ? "ok" : b.error.condition).toBe(a.ok ? "ok" : a.error.condition);
        }),
        params(),
      );
    },
    TIMEOUT_MS,
  );

  it("parseDateTime keeps every accepted time in range, and accepts only what the grammar allows", () => {
    fc.assert(
      fc.property(fc.oneof(validDate, garbageDate), (s) => {
        const t = parseDateTime(s);
        if (t === null) return;
        checkTime(t, s);
        expect(s).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
        // The instant agrees with the platform's reading wherever the platform reads the form.
        const platform = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
        if (!Number.isNaN(platform) && !s.startsWith("00")) expect(t).toBe(platform);
      }),
      params(3),
    );
  }, TIMEOUT_MS);

  it("survives 1000-level nesting and 10000 siblings", () => {
    let deep = new Element("b", {}).t("x");
    for (let i = 0; i < 1000; i++) deep = new Element("span", {}).cnode(deep).up() as Element;
    const chat = new Element("chat", { with: "a@b", start: "2024-01-01T00:00:00Z" });
    chat.c("to").c("body").cnode(deep);
    for (let i = 0; i < 10_000; i++) chat.c("to", { secs: "1" }).c("body").t(String(i));
    const save = new Element("save", { xmlns: "urn:xmpp:archive" }).cnode(chat).up() as Element;
    const r = parseArchiveRequest("set", save);
    expect(r.ok && r.value.op === "save" && r.value.chat.items.length).toBe(10_001);

    const wide = new Element("pref", { xmlns: "urn:xmpp:archive" });
    for (let i = 0; i < 10_000; i++) wide.c("item", { jid: `u${i}@x.org`, save: "body" });
    const p = parseArchiveRequest("set", wide);
    expect(p.ok && p.value.op === "pref-set" && p.value.items.length).toBe(10_000);

    const set = new Element("list", { xmlns: "urn:xmpp:archive" });
    const s = set.c("set", { xmlns: "http://jabber.org/protocol/rsm" });
    for (let i = 0; i < 10_000; i++) s.c("junk").t(String(i));
    expect(parseArchiveRequest("get", set).ok).toBe(true);
    // The same trees built from the wire: as deep as ltx delivers them.
    const wire = parseXml(save.toString());
    expect(parseArchiveRequest("set", wire).ok).toBe(true);
  });

  it("the generated payloads build", () => {
    // Guards the generators themselves: a payload that cannot be built would test nothing.
    fc.assert(fc.property(request, ({ body }) => build(body) instanceof Element), params(0.1));
  }, TIMEOUT_MS);
});
