// JID preparation for comparison (RFC 7622): localpart and domain case-folded,
// resource kept as given. Full PRECIS profiles are out of scope; this covers
// what clients send in practice and rejects what cannot be a JID.
import jid from "@xmpp/jid";

const MAX_PART_BYTES = 1023;

// RFC 7622 §3.3.1: characters a localpart must not contain (plus space and controls).
const LOCAL_FORBIDDEN = /[\u0000-\u0020\u007f"&'/:<>@]/u;
// Domain labels: no whitespace, controls or the address delimiters; IPv6 literals handled apart.
const DOMAIN_FORBIDDEN = /[\u0000-\u0020\u007f"&'/:<>@[\\\]]/u;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;
// OpaqueString profile: no control characters.
const RESOURCE_FORBIDDEN = /[\u0000-\u001f\u007f]/u;

function tooLong(part: string): boolean {
  return Buffer.byteLength(part, "utf8") > MAX_PART_BYTES;
}

function validDomain(domain: string): boolean {
  if (domain === "" || tooLong(domain)) return false;
  if (IPV6_LITERAL.test(domain)) return true;
  if (DOMAIN_FORBIDDEN.test(domain)) return false;
  return domain.split(".").every((label) => label !== "");
}

/**
 * Prepares a JID string: NFC, localpart and domain lower-cased, one trailing dot of the
 * domain removed, resource kept. Returns null when the string is not a valid JID
 * (empty, empty parts, forbidden characters, parts over 1023 bytes).
 */
export function prepJid(s: string): string | null {
  if (typeof s !== "string" || s === "") return null;
  // The same JIDs come again and again (every copy names its owner and peer).
  let hit = recent.get(s);
  if (hit !== undefined) return hit;
  hit = older.get(s);
  const out = hit !== undefined ? hit : prepJidUncached(s);
  if (s.length <= PREPARED_MAX_LENGTH) {
    if (recent.size >= PREPARED_PER_GENERATION) {
      older = recent;
      recent = new Map();
    }
    // Copies, so that the cache never keeps alive the larger string (a whole chunk of the XML
    // stream) that a parsed attribute may be a slice of.
    recent.set(detached(s), out === null ? null : detached(out));
  }
  return out;
}

/** `s` in storage of its own: concatenating flattens it into a new string before slicing. */
const detached = (s: string): string => ` ${s}`.slice(1);

/**
 * Recently prepared JIDs (a pure function of the input, so always safe to reuse), in two
 * generations: when the newer fills up it becomes the older one, and what is still in use moves
 * back, so a working set a little larger than one generation keeps hitting instead of being
 * dropped all at once. Bounded in count and in the length of what is kept, so hostile input
 * cannot make it large.
 */
let recent = new Map<string, string | null>();
let older = new Map<string, string | null>();
const PREPARED_PER_GENERATION = 10_000;
const PREPARED_MAX_LENGTH = 256;

function prepJidUncached(s: string): string | null {
  const input = s.normalize("NFC");
  const slash = input.indexOf("/");
  const resource = slash === -1 ? undefined : input.slice(slash + 1);
  const address = slash === -1 ? input : input.slice(0, slash);
  const at = address.indexOf("@");
  const local = at === -1 ? undefined : address.slice(0, at);
  let domain = at === -1 ? address : address.slice(at + 1);
  if (domain.endsWith(".")) domain = domain.slice(0, -1);

  if (local !== undefined && (local === "" || tooLong(local) || LOCAL_FORBIDDEN.test(local))) return null;
  if (resource !== undefined && (resource === "" || tooLong(resource) || RESOURCE_FORBIDDEN.test(resource))) {
    return null;
  }
  if (!validDomain(domain)) return null;

  // Every character XEP-0106 escapes but the backslash is refused above, so without one there is
  // nothing to escape and the prepared form is the parts case-folded (as @xmpp/jid would give,
  // at a fraction of the cost: this runs for every copy's addresses that are not cached).
  if (local === undefined || !local.includes("\\")) {
    const bare = local === undefined ? domain.toLowerCase() : `${local.toLowerCase()}@${domain.toLowerCase()}`;
    return resource === undefined ? bare : `${bare}/${resource}`;
  }
  const parsed = new jid.JID(local, domain, resource ?? null);
  // @xmpp/jid silently applies XEP-0106 escaping to localparts it finds unsafe (e.g. a lone
  // backslash); such input is not a JID this service can store faithfully.
  if (parsed.local !== local.toLowerCase()) return null;
  return parsed.toString();
}

/** The bare form (`local@domain` or `domain`) of a prepared JID. */
export function bareJid(prepared: string): string {
  const slash = prepared.indexOf("/");
  return slash === -1 ? prepared : prepared.slice(0, slash);
}
