// XML namespaces used by the archive protocol layer.

export const NS_ARCHIVE = "urn:xmpp:archive";
export const NS_ARCHIVE_AUTO = "urn:xmpp:archive:auto";
export const NS_ARCHIVE_MANAGE = "urn:xmpp:archive:manage";
export const NS_ARCHIVE_MANUAL = "urn:xmpp:archive:manual";
export const NS_ARCHIVE_PREF = "urn:xmpp:archive:pref";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_DELEGATION = "urn:xmpp:delegation:2";
export const NS_FORWARD = "urn:xmpp:forward:0";
export const NS_DELAY = "urn:xmpp:delay";
export const NS_CLIENT = "jabber:client";
export const NS_XDATA = "jabber:x:data";
/** The project's own namespace between the Prosody module and the component. */
export const NS_FEED = "urn:x-archive-cluster:feed:0";
