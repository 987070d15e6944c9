import { describe, expect, it } from "vitest";
import {
  badRequest,
  conflict,
  featureNotImplemented,
  forbidden,
  internalServerError,
  itemNotFound,
  jidMalformed,
  legacyCode,
  notAcceptable,
  notAllowed,
  policyViolation,
  renderError,
  resourceConstraint,
  serviceUnavailable,
} from "../../../src/protocol/errors.ts";
import { canon } from "./helpers.ts";

const S = "urn:ietf:params:xml:ns:xmpp-stanzas";

describe("stanza errors", () => {
  it.each([
    [badRequest(), "modify", "bad-request", "400"],
    [jidMalformed(), "modify", "jid-malformed", "400"],
    [itemNotFound(), "cancel", "item-not-found", "404"],
    [featureNotImplemented(), "cancel", "feature-not-implemented", "501"],
    [notAcceptable(), "modify", "not-acceptable", "406"],
    [notAllowed(), "cancel", "not-allowed", "405"],
    [forbidden(), "auth", "forbidden", "403"],
    [serviceUnavailable(), "cancel", "service-unavailable", "503"],
    [resourceConstraint(), "wait", "resource-constraint", "500"],
    [internalServerError(), "cancel", "internal-server-error", "500"],
    [conflict(), "cancel", "conflict", "409"],
  ])("%j", (e, type, condition, code) => {
    expect(e).toEqual({ type, condition });
    expect(canon(renderError(e))).toBe(canon(`<error type='${type}' code='${code}'><${condition} xmlns='${S}'/></error>`));
  });

  it("XEP-0136 Ex. 24 and Ex. 45 shapes", () => {
    expect(canon(renderError(notAcceptable()))).toBe(
      canon(`<error code='406' type='modify'><not-acceptable xmlns='${S}'/></error>`),
    );
    expect(canon(renderError(itemNotFound()))).toBe(
      canon(`<error code='404' type='cancel'><item-not-found xmlns='${S}'/></error>`),
    );
  });

  it("conditions without a legacy code get none; text is escaped", () => {
    expect(legacyCode("policy-violation")).toBeUndefined();
    const el = renderError(policyViolation("too <big> & bad"));
    expect(el.toString()).toBe(
      `<error type="modify"><policy-violation xmlns="${S}"/><text xmlns="${S}">too &lt;big&gt; &amp; bad</text></error>`,
    );
  });

  it("empty text is omitted", () => {
    expect(renderError(badRequest("")).getChild("text")).toBeUndefined();
  });
});
