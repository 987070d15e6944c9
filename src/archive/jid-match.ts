// JID matching for `<list/>`, `<remove/>` and preference `<item/>`s (XEP-0136 #impl-jidmatch,
// PROTOCOL.md §1.11). Inputs are already prepared and validated upstream, so plain string
// splitting is enough; local part and domain are still compared case-insensitively so a
// stray upper-case letter cannot make a rule silently miss.

export interface JidParts {
  local?: string;
  domain: string;
  resource?: string;
}

/** Splits `local@domain/resource` (RFC 7622: the resource starts at the first `/`, the local part ends at the first `@` before it). */
export function splitJid(s: string): JidParts {
  const slash = s.indexOf("/");
  const head = slash < 0 ? s : s.slice(0, slash);
  const at = head.indexOf("@");
  const parts: JidParts = { domain: at < 0 ? head : head.slice(at + 1) };
  if (at >= 0) parts.local = head.slice(0, at);
  if (slash >= 0) parts.resource = s.slice(slash + 1);
  return parts;
}

export function bareJid(s: string): string {
  const slash = s.indexOf("/");
  return slash < 0 ? s : s.slice(0, slash);
}

export function isFullJid(s: string): boolean {
  return s.includes("/");
}

/** `full` also covers `domain/resource`; `domain` is a JID with neither local part nor resource. */
export type JidForm = "full" | "bare" | "domain";

export function jidForm(s: string): JidForm {
  const p = splitJid(s);
  if (p.resource !== undefined) return "full";
  return p.local !== undefined ? "bare" : "domain";
}

const sameLocal = (a: string | undefined, b: string | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase());

const sameDomain = (a: string, b: string): boolean => a === b || a.toLowerCase() === b.toLowerCase();

/** Exact equality on prepared JIDs: local part and domain case-insensitive, resource case-sensitive. */
export function jidEquals(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = splitJid(a);
  const pb = splitJid(b);
  return sameLocal(pa.local, pb.local) && sameDomain(pa.domain, pb.domain) && pa.resource === pb.resource;
}

/**
 * Does `target` fall under `pattern`?
 * - full JID (`l@d/r` or `d/r`): only that JID;
 * - bare JID (`l@d`): that bare JID and any of its resources;
 * - domain (`d`): the domain itself, `d/*`, `*@d` and `*@d/*`;
 * - `exactmatch`: only the JID written in the pattern.
 */
export function jidMatches(pattern: string, exactmatch: boolean, target: string): boolean {
  if (exactmatch) return jidEquals(pattern, target);
  const p = splitJid(pattern);
  if (p.resource !== undefined) return jidEquals(pattern, target);
  const t = splitJid(target);
  if (!sameDomain(p.domain, t.domain)) return false;
  if (p.local === undefined) return true;
  return t.local !== undefined && sameLocal(p.local, t.local);
}
