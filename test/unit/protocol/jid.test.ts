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
