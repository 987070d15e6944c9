-- mod_archive_feed: feeds the archive component (XEP-0136 service) with one
-- copy of every chat/normal message a local user sends or receives.
--
-- Why a module of our own: XEP-0114 gives the component no copies of users'
-- messages, and the component link is at most once. This module therefore
-- keeps each copy until the component acknowledges it, and resends what is
-- unacknowledged after a reconnect, on request, or after a timeout.
--
-- Protocol (namespace urn:x-archive-cluster:feed:0), HOST = this VirtualHost:
--   copy    HOST -> component  <message id='FEED:SEQ'><copy direction owner feed seq/>
--                              <forwarded xmlns='urn:xmpp:forward:0'><delay/><message/></forwarded>
--   ack     component -> HOST  <message><ack feed='FEED' seq='N'/></message>  (all seq <= N)
--   resync  component -> HOST  <message><resync/></message>  (resend everything unacked now)
--   session HOST -> component  <message><session jid='FULL' state='online|offline'/></message>
--
-- Options: archive_feed_component (default: the urn:xmpp:archive delegation
-- target), archive_feed_buffer_max (200000), archive_feed_resend_after (30 s),
-- archive_auto_default (true).

local st = require "util.stanza";
local jid_bare = require "util.jid".bare;
local jid_host = require "util.jid".host;
local jid_node = require "util.jid".node;
local new_id = require "util.id".medium;
local now = require "util.time".now;
local xml_parse = require "util.xml".parse;
local user_exists = require "core.usermanager".user_exists;
local get_module = require "core.modulemanager".get_module;
local bare_sessions = prosody.bare_sessions;
local hosts = prosody.hosts;

local xmlns_feed = "urn:x-archive-cluster:feed:0";
local xmlns_forward = "urn:xmpp:forward:0";
local xmlns_delay = "urn:xmpp:delay";
local xmlns_archive = "urn:xmpp:archive";

local host = module.host;
local delegation = module:get_option("delegations", {})[xmlns_archive];
local component = module:get_option_string("archive_feed_component", delegation and delegation.jid);
if not component then
	error("archive_feed_component is not set and urn:xmpp:archive is not delegated", 0);
end
local buffer_max = module:get_option_number("archive_feed_buffer_max", 200000);
local resend_after = module:get_option_number("archive_feed_resend_after", 30);
local auto_default = module:get_option_boolean("archive_auto_default", true);

-- A new feed id per load lets seq restart at 1 without colliding with copies
-- the node already stored from an earlier run (it de-duplicates by FEED:SEQ).
local feed = new_id();
local next_seq = 1;  -- seq of the next copy
local first = 1;     -- oldest unacknowledged seq; buffered: first .. next_seq-1
-- Serialized copies: a string is several times smaller than a stanza tree,
-- and only resends (rare) pay for parsing it back.
local pending = {};
local sent_at = {};  -- seq -> time of the last transmission
local refused = 0;   -- copies refused during the current overflow episode

-- Whether the component is connected. Read once at load so a module reload
-- while the component is up keeps feeding; events keep it current afterwards.
local connected = false;
do
	local ok, env = pcall(get_module, component, "component");
	connected = ok and type(env) == "table" and rawget(env, "connected") == true;
end

local function stamp(t)
	-- XEP-0082 with milliseconds: the node orders a user's messages by it.
	return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. (".%03dZ"):format(math.floor((t % 1) * 1000));
end

local function transmit(seq, copy)
	sent_at[seq] = now();
	module:send(copy);
end

local function add_copy(direction, owner, original, from)
	-- Full buffer: refuse the newest rather than drop the oldest. Copies then
	-- keep consecutive seqs, so the node's cumulative ack never has to skip a
	-- hole; and the oldest copies are the likeliest to be already stored.
	if next_seq - first >= buffer_max then
		refused = refused + 1;
		if refused == 1 then
			module:log("warn", "Archive feed %s: %d copies unacknowledged by %s, buffer full; refusing new copies",
				feed, next_seq - first, component);
		end
		return;
	end
	local seq = next_seq;
	next_seq = seq + 1;
	local inner = st.clone(original);
	inner.attr.xmlns = "jabber:client";
	if not inner.attr.from then inner.attr.from = from; end
	-- A message to oneself reaches us with no 'to'; the archive needs both ends.
	if not inner.attr.to then inner.attr.to = owner; end
	local copy = st.message({ from = host, to = component, id = feed .. ":" .. seq })
		:tag("copy", { xmlns = xmlns_feed, direction = direction, owner = owner,
			feed = feed, seq = ("%d"):format(seq) }):up()
		:tag("forwarded", { xmlns = xmlns_forward })
			:tag("delay", { xmlns = xmlns_delay, stamp = stamp(now()) }):up()
			:add_child(inner):up();
	pending[seq] = tostring(copy);
	if connected then transmit(seq, copy); end
end

local function archivable(stanza)
	local t = stanza.attr.type;
	if t ~= nil and t ~= "chat" and t ~= "normal" then return false; end
	return (stanza:get_child("body") or stanza:get_child("body", "jabber:client")) ~= nil;
end

-- pre-message/* fire only for stanzas from this host's own clients: what they sent.
local function on_sent(event)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "c2s" or not archivable(stanza) then return; end
	add_copy("sent", origin.username .. "@" .. origin.host, stanza, origin.full_jid);
end

-- message/bare and message/full fire once per delivery to a local user, from
-- anywhere (carbons and offline flushes do not fire them again): what they received.
local function on_received(event)
	local origin, stanza = event.origin, event.stanza;
	if not archivable(stanza) then return; end
	local to = stanza.attr.to;
	-- No 'to' means a client wrote to itself (the router strips it).
	if not to and not origin.username then return; end
	local owner = to and jid_bare(to) or (origin.username .. "@" .. origin.host);
	if jid_host(owner) ~= host then return; end
	-- No archive for accounts that do not exist (the sender gets an error).
	if not bare_sessions[owner] and not user_exists(jid_node(owner), host) then return; end
	add_copy("received", owner, stanza);
end

for _, event in ipairs({ "pre-message/bare", "pre-message/full", "pre-message/host" }) do
	module:hook(event, on_sent, 0);
end
module:hook("message/bare", on_received, 0);
module:hook("message/full", on_received, 0);

local function resend(older_than)
	if not connected then return; end
	local count = 0;
	for seq = first, next_seq - 1 do
		local last = sent_at[seq];
		if not older_than or not last or last <= older_than then
			local copy = xml_parse(pending[seq]);
			if copy then transmit(seq, copy); count = count + 1; end
		end
	end
	if count > 0 then
		module:log("info", "Archive feed %s: resent %d unacknowledged copies to %s", feed, count, component);
	end
end

local function on_ack(ack)
	local seq = tonumber(ack.attr.seq);
	if ack.attr.feed ~= feed or not seq then return; end -- e.g. a feed from before a restart
	seq = math.min(math.floor(seq), next_seq - 1);
	for s = first, seq do
		pending[s], sent_at[s] = nil, nil;
	end
	if seq >= first then first = seq + 1; end
	if refused > 0 and next_seq - first < buffer_max then
		module:log("warn", "Archive feed %s: buffer has room again; %d copies were refused while it was full",
			feed, refused);
		refused = 0;
	end
end

-- Acks, resync requests and bounces of our copies come from the component to
-- this host's JID; consume them so nothing answers or delivers them.
module:hook("message/host", function(event)
	local stanza = event.stanza;
	if jid_host(stanza.attr.from or "") ~= component then return; end
	if stanza.attr.type == "error" then
		module:log("debug", "Archive feed %s: bounce from %s: %s", feed, component, stanza:top_tag());
		return true;
	end
	local ack = stanza:get_child("ack", xmlns_feed);
	if ack then on_ack(ack); return true; end
	if stanza:get_child("resync", xmlns_feed) then resend(); return true; end
end, 10);

-- mod_component fires these on the component's own host, which may be
-- activated before or after this one.
local function on_component_up()
	connected = true;
	resend();
end
local function on_component_down(event)
	-- A second node refused with <conflict/> also disconnects; it was never
	-- authenticated, and the first node is still connected.
	if event.session and event.session.type == "component" then connected = false; end
end
local function watch_component()
	local h = hosts[component];
	if not h then return; end
	module:hook_object_event(h.events, "component-authenticated", on_component_up);
	module:hook_object_event(h.events, "component-disconnected", on_component_down);
end
watch_component();
module:hook_global("host-activated", function (activated)
	if activated == component then watch_component(); end
end);

-- Copies the node received but never acknowledged (e.g. its store failed).
module:add_timer(math.max(1, resend_after / 3), function ()
	if first < next_seq then resend(now() - resend_after); end
	return math.max(1, resend_after / 3);
end);

-- XEP-0136 stream feature, offered once the client is authenticated.
module:hook("stream-features", function(event)
	-- username is set by SASL; the session is "c2s_unbound" until resource binding.
	if not event.origin.username then return; end
	local features = event.features;
	features:tag("feature", { xmlns = xmlns_archive }):tag("optional"):up();
	if auto_default then features:tag("default"):up(); end
	features:up();
end);

-- Best effort (not buffered): tells the node which resources are online.
local function session_state(state)
	return function(event)
		local session = event.session;
		if not connected or not session.full_jid then return; end
		module:send(st.message({ from = host, to = component })
			:tag("session", { xmlns = xmlns_feed, jid = session.full_jid, state = state }));
	end
end
module:hook("resource-bind", session_state("online"));
module:hook("resource-unbind", session_state("offline"));

-- Keep unacknowledged copies across a module reload.
function module.save()
	return { feed = feed, next_seq = next_seq, first = first, pending = pending, refused = refused };
end
function module.restore(saved)
	feed, next_seq, first, pending, refused = saved.feed, saved.next_seq, saved.first, saved.pending, saved.refused;
	sent_at = {}; -- unknown: the periodic resend will send them once more
	module:log("info", "Archive feed %s kept across reload (%d unacknowledged)", feed, next_seq - first);
end

module:log("info", "Archive feed %s from %s to %s (buffer %d, resend after %ds)",
	feed, host, component, buffer_max, resend_after);
