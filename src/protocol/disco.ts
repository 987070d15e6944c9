// Service discovery (XEP-0030) for the archive component and delegated namespaces (XEP-0355).
import { Element } from "@xmpp/xml";
import {
  NS_ARCHIVE,
  NS_ARCHIVE_AUTO,
  NS_ARCHIVE_MANAGE,
  NS_ARCHIVE_MANUAL,
  NS_ARCHIVE_PREF,
  NS_DISCO_INFO,
  NS_RSM,
} from "./namespaces.ts";

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

/** The bare namespace (Ex. 60), the four `:name` features, and RSM (XEP-0059 §Determining Support). */
export const ARCHIVE_FEATURES: readonly string[] = [
  NS_ARCHIVE,
  NS_ARCHIVE_AUTO,
  NS_ARCHIVE_MANAGE,
  NS_ARCHIVE_MANUAL,
  NS_ARCHIVE_PREF,
  NS_RSM,
];

/** Registrar category `component`, type `archive`: "A server component that archives traffic". */
export const ARCHIVE_IDENTITY: DiscoIdentity = { category: "component", type: "archive", name: "Message Archive" };

export interface DiscoInfoOptions {
  /** Echoed on the query, e.g. the delegation node `urn:xmpp:delegation:2::urn:xmpp:archive`. */
  node?: string;
  identities?: readonly DiscoIdentity[];
  features?: readonly string[];
}

export function renderDiscoInfo(opts: DiscoInfoOptions = {}): Element {
  const query = new Element("query", opts.node === undefined ? { xmlns: NS_DISCO_INFO } : { xmlns: NS_DISCO_INFO, node: opts.node });
  for (const id of opts.identities ?? []) {
    const attrs: Record<string, string> = { category: id.category, type: id.type };
    if (id.name !== undefined) attrs.name = id.name;
    query.c("identity", attrs);
  }
  for (const f of opts.features ?? []) query.c("feature", { var: f });
  return query;
}

/** The component's own disco#info: identity, disco#info itself and the archive features. */
export function renderComponentDiscoInfo(): Element {
  return renderDiscoInfo({ identities: [ARCHIVE_IDENTITY], features: [NS_DISCO_INFO, ...ARCHIVE_FEATURES] });
}

/**
 * Answer to the server's disco#info on a delegation node: the features it should announce
 * for the delegated namespace, with the node echoed and no identity (the server is the entity).
 */
export function renderDelegatedDiscoInfo(node: string): Element {
  return renderDiscoInfo({ node, features: ARCHIVE_FEATURES });
}
