import { Parser, type Element } from "@xmpp/xml";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/log/logger.ts";
import { ArchiveNode, type NodeHooks } from "../src/node/archive-node.ts";
import { formatDateTime } from "../src/protocol/datetime.ts";
import { NS_FEED } from "../src/protocol/namespaces.ts";
import type { ChatMessage } from "./load.ts";

// An archive node in the benchmark's own process, fed copies through its stanza entry point.

export const HOST = "example.test";
const COMPONENT = `archive.${HOST}`;

export const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

/** A message's copies in the server module's wire form: the sender's, then the recipient's if local. */
export function copyStanzas(m: ChatMessage, feed: string, seq: number): string[] {
  const inner = `<message xmlns="jabber:client" from="${m.from}/phone" to="${m.to}" type="chat" id="${m.id}"><body>${esc(m.body)}</body></message>`;
  const fwd = `<forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="${formatDateTime(m.at)}"/>${inner}</forwarded>`;
  const one = (direction: string, owner: string, s: number) =>
    `<message from="${HOST}" to="${COMPONENT}" id="${feed}:${s}"><copy xmlns="${NS_FEED}" direction="${direction}" owner="${owner}" feed="${feed}" seq="${s}"/>${fwd}</message>`;
  const out = [one("sent", m.from, seq)];
  if (m.to.endsWith(`@${HOST}`)) out.push(one("received", m.to, seq + 1));
  return out;
}

/**
 * The component stream's parser as the node's XMPP connection runs it: one parser for the whole
 * stream, fed text as it comes off the socket, each stanza handed on as it closes.
 */
export function componentStream(onStanza: (el: Element) => void): { write(data: string): void } {
  const parser = new Parser();
  parser.on("element", onStanza);
  parser.on("error", (err: Error) => {
    throw err;
  });
  parser.write(`<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams" from="${COMPONENT}">`);
  return { write: (data) => parser.write(data) };
}

/**
 * Starts a node that owns every shard, on its own Redis database (flushed) and keyspace,
 * with no XMPP server: its component stream never comes up.
 */
export async function startBenchNode(
  env: Record<string, string>,
  opts: { redisDb: number; keyspace: string; overrides?: Record<string, string>; hooks?: NodeHooks },
): Promise<ArchiveNode> {
  const redis = new Redis(`${env.REDIS_URL}/${opts.redisDb}`);
  await redis.flushdb();
  await redis.quit();
  const config = loadConfig({
    ...env,
    REDIS_URL: `${env.REDIS_URL}/${opts.redisDb}`,
    CASSANDRA_KEYSPACE: opts.keyspace,
    COMPONENT_SERVICE: "xmpp://127.0.0.1:9",
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    NODE_ID: `bench-${opts.keyspace}`,
    LOG_LEVEL: "error",
    ...opts.overrides,
  });
  const node = new ArchiveNode(config, createLogger("error"), opts.hooks);
  await node.start();
  for (let i = 0; ((await node.shardMap()) as { owned: number[] }).owned.length < config.shardCount; i++) {
    if (i > 300) throw new Error("node did not take its shards");
    await new Promise((r) => setTimeout(r, 100));
  }
  return node;
}
