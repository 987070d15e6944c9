# Shared defaults of the local stack: every port is the project's own, on 127.0.0.1,
# so nothing else on the machine collides. Sourced by the other scripts; any value
# can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
export STATE_DIR="${STATE_DIR:-$ROOT/.local}"
export XMPP_DOMAIN="${XMPP_DOMAIN:-example.test}"
export XMPP_DOMAIN2="${XMPP_DOMAIN2:-other.test}"
export XMPP_HOST="${XMPP_HOST:-127.0.0.1}"
export XMPP_C2S_PORT="${XMPP_C2S_PORT:-15222}"
export COMPONENT_JID="${COMPONENT_JID:-archive.$XMPP_DOMAIN}"
export COMPONENT_PORT="${COMPONENT_PORT:-15347}"
export COMPONENT_SECRET="${COMPONENT_SECRET:-archive-secret}"
export REDIS_PORT="${REDIS_PORT:-16390}"
export CASSANDRA_PORT="${CASSANDRA_PORT:-19042}"
export CASSANDRA_LOCAL_DC="${CASSANDRA_LOCAL_DC:-datacenter1}"
export CASSANDRA_KEYSPACE="${CASSANDRA_KEYSPACE:-archive}"
export METRICS_PORT="${METRICS_PORT:-19464}"
