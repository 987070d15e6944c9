import { describe, expect, it } from "vitest";
import { bareJid, isFullJid, jidEquals, jidForm, jidMatches, splitJid } from "../../../src/archive/jid-match.ts";

describe("splitJid", () => {
  it.each([
    ["romeo@montague.net/orchard", { local: "romeo", domain: "montague.net", resource: "orchard" }],
    ["romeo@montague.net", { local: "romeo", domain: "montague.net" }],
    ["montague.net", { domain: "montague.net" }],
    ["montague.net/home", { domain: "montague.net", resource: "home" }],
    // The resource starts at the first slash and may contain '@' and '/'.
    ["romeo@montague.net/a@b/c", { local: "romeo", domain: "montague.net", resource: "a@b/c" }],
    ["montague.net/x@y", { domain: "montague.net", resource: "x@y" }],
    ["romeo@montague.net/", { local: "romeo", domain: "montague.net", resource: "" }],
  ])("%s", (jid, parts) => {
    expect(splitJid(jid)).toEqual(parts);
  });

  it("bareJid, isFullJid, jidForm", () => {
    expect(bareJid("romeo@montague.net/orchard")).toBe("romeo@montague.net");
    expect(bareJid("romeo@montague.net")).toBe("romeo@montague.net");
    expect(bareJid("montague.net/x@y")).toBe("montague.net");
    expect(isFullJid("a@b/c")).toBe(true);
    expect(isFullJid("a@b")).toBe(false);
    expect(jidForm("a@b/c")).toBe("full");
    expect(jidForm("b/c")).toBe("full");
    expect(jidForm("a@b")).toBe("bare");
    expect(jidForm("b")).toBe("domain");
  });

  it("jidEquals: local part and domain case-insensitive, resource case-sensitive", () => {
    expect(jidEquals("Romeo@Montague.NET/Orchard", "romeo@montague.net/Orchard")).toBe(true);
    expect(jidEquals("romeo@montague.net/Orchard", "romeo@montague.net/orchard")).toBe(false);
    expect(jidEquals("romeo@montague.net", "romeo@montague.net/orchard")).toBe(false);
  });
});

describe("jidMatches (XEP-0136 #impl-jidmatch)", () => {
  const full = "romeo@montague.net/orchard";
  const bare = "romeo@montague.net";
  const domain = "montague.net";
  const targets = [
    full,
    "romeo@montague.net/balcony",
    bare,
    "benvolio@montague.net",
    "benvolio@montague.net/home",
    domain,
    "montague.net/service",
    "romeo@capulet.com",
    "capulet.com",
    "sub.montague.net",
    "romeo@montague.net.evil",
  ];

  // [pattern, exactmatch, targets that match]
  const table: [string, boolean, string[]][] = [
    [full, false, [full]],
    [full, true, [full]],
    [bare, false, [full, "romeo@montague.net/balcony", bare]],
    [bare, true, [bare]],
    [domain, false, [full, "romeo@montague.net/balcony", bare, "benvolio@montague.net", "benvolio@montague.net/home", domain, "montague.net/service"]],
    [domain, true, [domain]],
    ["montague.net/service", false, ["montague.net/service"]],
    ["montague.net/service", true, ["montague.net/service"]],
  ];

  for (const [pattern, exact, matching] of table) {
    for (const target of targets) {
      const want = matching.includes(target);
      it(`${pattern} exactmatch=${exact} ${want ? "matches" : "does not match"} ${target}`, () => {
        expect(jidMatches(pattern, exact, target)).toBe(want);
      });
    }
  }

  it("compares local part and domain case-insensitively and resources case-sensitively", () => {
    expect(jidMatches("Romeo@Montague.net", false, "romeo@montague.net/Orchard")).toBe(true);
    expect(jidMatches("MONTAGUE.NET", false, "romeo@montague.net")).toBe(true);
    expect(jidMatches("romeo@montague.net/Orchard", false, "romeo@montague.net/orchard")).toBe(false);
    expect(jidMatches("romeo@montague.net", true, "ROMEO@montague.net")).toBe(true);
  });

  it("a bare pattern never matches a domain-only target with a resource", () => {
    expect(jidMatches("romeo@montague.net", false, "montague.net/romeo")).toBe(false);
  });
});
