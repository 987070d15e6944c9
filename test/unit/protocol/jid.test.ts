import jid from "@xmpp/jid";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bareJid, prepJid } from "../../../src/protocol/jid.ts";

describe("prepJid", () => {
  it.each([
    ["juliet@capulet.com", "juliet@capulet.com"],
    ["Juliet@Capulet.COM", "juliet@capulet.com"],
    ["Juliet@Capulet.COM/Chamber", "juliet@capulet.com/Chamber"],
    ["capulet.com", "capulet.com"],
    ["CAPULET.com/Res", "capulet.com/Res"],
    ["juliet@capulet.com.", "juliet@capulet.com"],
    ["juliet@capulet.com/a/b@c", "juliet@capulet.com/a/b@c"],
    ["juliet@capulet.com/with space", "juliet@capulet.com/with space"],
    ["ÉLODIE@Exemple.fr", "élodie@exemple.fr"],
    ["d\\27artagnan@musketeers.lit", "d\\27artagnan@musketeers.lit"],
    ["room@conference.example.org/Nick 😀", "room@conference.example.org/Nick 😀"],
    ["[::1]", "[::1]"],
    ["user@192.168.0.1", "user@192.168.0.1"],
    ["e\u0301@example.com", "é@example.com"],
  ])("%s → %s", (input, out) => {
    expect(prepJid(input)).toBe(out);
  });

  it.each([
    "",
    "@capulet.com",
    "juliet@",
    "juliet@capulet.com/",
    "/resource",
    "juliet@@capulet.com",
    "jul iet@capulet.com",
    "jul\"iet@capulet.com",
    "jul<iet@capulet.com",
    "juliet@capu let.com",
    "juliet@capulet..com",
    ".capulet.com",
    "juliet@capulet.com:5222",
    "juliet@cap\u0000ulet.com",
    "juliet@capulet.com/res\u0007",
    "a\\b@example.com",
    `${"a".repeat(1024)}@example.com`,
  ])("rejects %j", (input) => {
    expect(prepJid(input)).toBeNull();
  });

  it("bareJid", () => {
    expect(bareJid("juliet@capulet.com/chamber")).toBe("juliet@capulet.com");
    expect(bareJid("capulet.com")).toBe("capulet.com");
  });
});

describe("prepJid against @xmpp/jid", () => {
  // What the prepared form must equal for every accepted input: @xmpp/jid's, built from the
  // NFC-normalized parts (the prepared form is computed without it unless a backslash needs it).
  const viaLibrary = (s: string): string => {
    const input = s.normalize("NFC");
    const slash = input.indexOf("/");
    const address = slash === -1 ? input : input.slice(0, slash);
    const at = address.indexOf("@");
    let domain = at === -1 ? address : address.slice(at + 1);
    if (domain.endsWith(".")) domain = domain.slice(0, -1);
    return new jid.JID(at === -1 ? null : address.slice(0, at), domain, slash === -1 ? null : input.slice(slash + 1)).toString();
  };
  const char = fc.constantFrom(..."aZé\u0301.-_@/\\ 2c0:xYq😀".split(/(?:)/u));

  it("gives the library's form for every JID it accepts", () => {
    fc.assert(
      fc.property(fc.array(char, { maxLength: 24 }).map((cs) => cs.join("")), (s) => {
        const out = prepJid(s);
        if (out !== null) expect(out).toBe(viaLibrary(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it("gives the same answer from its cache as when first asked", () => {
    const s = `Cached${Date.now()}@Example.COM/Res`;
    const first = prepJid(s);
    expect(prepJid(s)).toBe(first);
    expect(first).toBe(viaLibrary(s));
  });
});
