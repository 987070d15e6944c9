import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import cassandra from "cassandra-driver";
import type { Redis } from "ioredis";
import type { Element } from "@xmpp/xml";
import xml from "@xmpp/xml";
import type { ActorContext, CommandOutcome } from "../actors/user-actor.ts";
import type { ArchiveRequest, StanzaError } from "../archive/model.ts";
import { defaultPolicy, type ArchivePolicy } from "../archive/policy.ts";
import { shardOf } from "../archive/shard.ts";
import { keys } from "../cluster/keys.ts";
import { connectRedis } from "../cluster/redis.ts";
import { ShardManager, type ShardLease } from "../cluster/shard-manager.ts";
import { ShardQueues, type FeedCopy, type ShardJob } from "../cluster/shard-queues.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { startHttpServer } from "../metrics/http-server.ts";
import { Metrics } from "../metrics/metrics.ts";
import { renderComponentDiscoInfo, renderDelegatedDiscoInfo } from "../protocol/disco.ts";
import { featureNotImplemented, forbidden, internalServerError, serviceUnavailable, stanzaError } from "../protocol/errors.ts";
import { NS_DISCO_INFO } from "../protocol/namespaces.ts";
import { parseArchiveRequest, requestedSaveModes } from "../protocol/parse.ts";
import { parseElement } from "../protocol/xmlfrag.ts";
import { QueryService } from "../query/query-service.ts";
import { ArchiveStore } from "../store/archive-store.ts";
import { connectCassandra, type CassandraClient } from "../store/cassandra-client.ts";
import { WriteThread } from "../store/write-thread.ts";
import { ComponentLink } from "../xmpp/component-link.ts";
import { EdgeAdmission } from "../xmpp/edge-admission.ts";
import { FeedAckTracker } from "../xmpp/feed-acks.ts";
import { ackStanza, readFeedMessage, resyncStanza } from "../xmpp/feed.ts";
import { RateLimiter } from "../xmpp/rate-limit.ts";
import { replyIq, routeIq, type ArchiveIq, type Envelope } from "../xmpp/iq-envelope.ts";
import { ActorRegistry } from "./actor-registry.ts";

const RAISE_HIGH_WATER = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

/**
 * How long copies gather at the edge before they go to their shard's queue as one job. Larger
 * jobs cost Redis and the owner less per copy and let the owner write each collection once for
 * more of its messages; an archive request flushes its shard's copies at once, so waiting here
 * never reorders a user's messages and commands or hides a message from a query.
 */
const FEED_BATCH_MS = 500;

/** Settled: what a stanza with nothing left to wait for returns. */
const DONE: Promise<void> = Promise.resolve();

/** Whether `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** A little over Redis's `appendfsync everysec` interval. */
const ACK_DELAY_MS = 1100;

const QUERY_OPS = new Set<ArchiveRequest["op"]>(["list", "retrieve", "modified"]);

/** Copies waiting at the edge for their shard's next job, with the feed positions they carry. */
interface FeedBuffer {
  copies: FeedCopy[];
  /** What the copies weigh against the edge's memory bound. */
  bytes: number;
  seqs: Map<string, { host: string; seqs: number[] }>;
}

interface Reply {
  replyId: string;
  outcome: CommandOutcome;
}

/** Observers of the node's work, for benchmarks and embedding (the node runs without them). */
export interface NodeHooks {
  /** Copies this node just made durable in the archive. */
  archived?(copies: readonly FeedCopy[]): void;
}

/** Raised inside a job when this node no longer holds the shard's lease. */
class NotOwner extends Error {}

/**
 * One archive node: the XMPP edge (component stream, parsing, authorization, queries),
 * a member of the cluster (shard leases) and the host of the actors of the shards it owns.
 */
export class ArchiveNode {
  readonly metrics = new Metrics();
  private redis!: Redis;
  private subscriber!: Redis;
  private clusterRedis!: Redis;
  private cassandra!: CassandraClient;
  private store!: ArchiveStore;
  private writeThread: WriteThread | undefined;
  private queries!: QueryService;
  private queues!: ShardQueues;
  private shards!: ShardManager;
  private readonly link: ComponentLink;
  private http: Server | undefined;
  private readonly actors: ActorRegistry;
  private readonly policy: ArchivePolicy;
  private readonly domains: Set<string>;
  private readonly pending = new Map<string, (o: CommandOutcome) => void>();
  private readonly acks = new FeedAckTracker();
  private readonly limiter: RateLimiter;
  private readonly admission: EdgeAdmission;
  private readonly highWater = new Map<string, Promise<number>>();
  /** The same, once read. */
  private readonly highWaterKnown = new Map<string, number>();
  /** Copies waiting for a high-water read. */
  private highWaiting = 0;
  /** Per feed, the highest seq this edge took, and the high-water mark it knows Redis holds. */
  private readonly feedTaken = new Map<string, number>();
  private readonly feedRaised = new Map<string, number>();
  private readonly feedBuffers = new Map<number, FeedBuffer>();
  private readonly feedChains = new Map<number, Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private accepting = true;
  private cassandraUp = false;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly hooks: NodeHooks = {},
  ) {
    this.domains = new Set(config.domains);
    this.actors = new ActorRegistry(config.maxActors, config.actorIdleMs, this.metrics);
    this.limiter = new RateLimiter(config.rateLimit.perUser, config.rateLimit.perNode);
    this.admission = new EdgeAdmission(config.edgeBufferBytes);
    this.policy = {
      ...defaultPolicy(),
      autoArchivingEnabled: config.archive.autoArchivingEnabled,
      forceArchiving: config.archive.forceArchiving,
      collectionIdleMs: config.archive.collectionIdleMs,
    };
    this.link = new ComponentLink(
      { service: config.component.service, jid: config.component.jid, secret: config.component.secret },
      log,
      this.metrics,
    );
  }

  async start(): Promise<void> {
    const c = this.config;
    this.http = await startHttpServer(c.metrics.host, c.metrics.port, this.metrics, {
      live: () => true,
      ready: () => this.readiness(),
      views: { "/shards": () => this.shardMap() },
    });
    this.redis = connectRedis(c.redis, `archive-${c.nodeId}`);
    this.subscriber = connectRedis(c.redis, `archive-${c.nodeId}-replies`);
    // Membership and leases on a connection of their own: renewals never queue behind job traffic.
    this.clusterRedis = connectRedis(c.redis, `archive-${c.nodeId}-cluster`);
    // Bound to no keyspace: the stores name it in every statement (statements.ts).
    this.cassandra = await connectCassandra(c.cassandra, this.log, { bound: false });
    this.cassandraUp = true;
    this.cassandra.on("hostDown", () => (this.cassandraUp = false));
    this.cassandra.on("hostUp", () => (this.cassandraUp = true));
    if (c.cassandra.writeThread) this.writeThread = new WriteThread(c.cassandra, this.log);
    this.store = new ArchiveStore(this.cassandra, this.metrics, c.cassandra.maxWritesInFlight, this.writeThread, c.cassandra.keyspace);
    this.queries = new QueryService(
      new ArchiveStore(this.cassandra, this.metrics, c.cassandra.maxReadsInFlight, undefined, c.cassandra.keyspace),
      {
        defaultMax: c.archive.defaultMax,
        maxPageSize: c.archive.maxPageSize,
        maxReplyBytes: c.archive.maxReplyBytes,
        changeRetentionMs: c.archive.changeRetentionMs,
        listCacheKeys: c.archive.listCacheKeys,
        listCacheMaxAgeMs: c.archive.listCacheMaxAgeMs,
      },
      // Level 0 until the first membership tick has seen the other nodes.
      () => this.shards?.clusterLevel() ?? { level: 0, generation: 0 },
    );
    this.queues = new ShardQueues(this.redis, this.metrics, this.log, c.leaseTtlMs, c.passesInFlight);

    await this.subscriber.subscribe(keys.replies(c.nodeId));
    this.subscriber.on("message", (_channel: string, text: string) => {
      const r = JSON.parse(text) as Reply;
      this.pending.get(r.replyId)?.(r.outcome);
    });

    this.shards = new ShardManager(
      this.clusterRedis,
      c.nodeId,
      c.shardCount,
      c.leaseTtlMs,
      {
        // Not awaited: waiting out a previous owner's job must not hold up lease renewals.
        acquired: async (lease) => {
          const start = (): void => {
            this.queues.startWorker(lease.shard, (job, rerun) => this.runJob(lease, job, rerun), () => this.shards.lease(lease.shard) === lease).catch((err: Error) => {
              this.log.warn({ err: err.message, shard: lease.shard }, "could not start the shard's worker; retrying");
              if (this.shards.lease(lease.shard) === lease) setTimeout(start, 1000);
            });
          };
          start();
        },
        released: async (shard, lost) => {
          await this.queues.stopWorker(shard, lost);
          this.actors.dropWhere((owner) => shardOf(owner, c.shardCount) === shard);
        },
      },
      this.metrics,
      this.log,
    );
    await this.shards.start();

    this.link.on("stanza", (el) => this.onStanza(el).catch((err: Error) => this.log.error({ err }, "stanza handling failed")));
    this.link.on("online", () => {
      // A node that becomes the edge asks every host for what earlier edges left unacknowledged.
      this.acks.reset();
      this.admission.reset();
      this.highWater.clear();
      this.highWaterKnown.clear();
      this.feedTaken.clear();
      this.feedRaised.clear();
      for (const host of this.domains) this.link.send(resyncStanza(c.component.jid, host)).catch(() => undefined);
    });
    this.link.start();
    this.housekeeping = setInterval(() => {
      this.actors.passivateIdle();
      this.resync(this.admission.tick());
      this.queues.depths().catch(() => undefined);
    }, 5000);
    this.log.info({ nodeId: c.nodeId, shards: this.shards.ownedShards().length }, "archive node started");
  }

  /** Passivates actors idle for longer than `idleMs` now, as the housekeeping timer does with the configured time. */
  passivateIdle(idleMs?: number): number {
    return this.actors.passivateIdle(Date.now(), idleMs);
  }

  /** Whether this node holds the component stream (the active edge). */
  isEdge(): boolean {
    return this.link.online;
  }

  /** The address the metrics server listens on (port 0 in config picks a free one). */
  metricsAddress(): { host: string; port: number } | undefined {
    const a = this.http?.address();
    return a && typeof a === "object" ? { host: a.address, port: a.port } : undefined;
  }

  private readiness() {
    const checks = {
      // Online, or standing by while another node holds the server's only component stream.
      component: this.link.online || this.link.standingBy,
      redis: this.redis?.status === "ready",
      cassandra: this.cassandraUp,
      cluster: this.shards?.hasJoined ?? false,
    };
    const edge = this.link.online;
    // A standby node (another node holds the component stream) still serves its shards.
    const ready = checks.redis && checks.cassandra && checks.cluster && this.accepting;
    return { ready, checks, edge };
  }

  async shardMap(): Promise<unknown> {
    const live = await this.shards.liveMembers();
    const owners: Record<string, string | null> = {};
    for (let s = 0; s < this.config.shardCount; s++) {
      const v = await this.redis.get(keys.lease(s));
      owners[s] = v;
    }
    return {
      node: this.config.nodeId,
      members: live,
      // The lowest storage level among the members: below this version's, an upgrade is under way.
      storageLevel: this.shards.clusterLevel().level,
      owned: this.shards.ownedShards(),
      leases: owners,
      queues: await this.queues.depths(),
    };
  }

  // ---- inbound stanzas ----

  /** The entry point of every stanza from the component stream (benchmarks feed it directly). */
  receive(el: Element): Promise<void> {
    return this.onStanza(el);
  }

  // Not async itself: the handlers' own promises are passed on, without one more per stanza
  // wrapped around them (and the extra turns of the event loop that unwrapping costs).
  private onStanza(el: Element): Promise<void> {
    try {
      if (!this.accepting) return DONE;
      if (this.log.isLevelEnabled("trace")) this.log.trace({ stanza: el.toString() }, "in");
      if (el.name === "iq") return this.onIq(el);
      if (el.name === "message") return this.onMessage(el);
      return DONE;
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private async onMessage(el: Element): Promise<void> {
    const from = String(el.attrs.from ?? "");
    if (!this.domains.has(from)) {
      if (el.getChild("copy", "urn:x-archive-cluster:feed:0")) this.metrics.rejected.inc({ reason: "sender" });
      return;
    }
    const feed = readFeedMessage(el, from);
    if (!feed) return;
    if (feed.kind === "invalid") {
      this.metrics.rejected.inc({ reason: feed.reason });
      return;
    }
    if (feed.kind === "session") {
      const owner = feed.jid.split("/")[0]!;
      const shard = shardOf(owner, this.config.shardCount);
      // After the copies that came before it, so the owner sees them in the server's order.
      await this.feedQueued(shard);
      await this.queues.enqueue(shard, { kind: "presence", owner, jid: feed.jid, online: feed.online, at: Date.now() });
      return;
    }
    const state = this.acks.arrived(feed.feed, feed.seq);
    if (state === "acked") {
      // Already durable: acknowledge again so the server forgets it.
      await this.link.send(ackStanza(this.config.component.jid, from, feed.feed, feed.seq)).catch(() => undefined);
      return;
    }
    if (state === "inflight") return;
    const bytes = (feed.copy.body?.length ?? 0) + (feed.copy.whole?.length ?? 0) + 200;
    if (!this.admission.admit(feed.feed, from, feed.seq, bytes)) {
      // Not taken: unacknowledged, it holds the acknowledgement back until the module resends it.
      this.acks.failed(feed.feed, [feed.seq]);
      this.metrics.shed.inc();
      return;
    }
    this.metrics.edgeBytes.set(this.admission.bytesHeld);
    // Copies at or below what any edge already queued are resends: the owner checks them.
    // Known already (and no copy still waiting for a read, which this one must not overtake):
    // no await, so a copy costs no extra turn of the event loop.
    const known = this.highWaiting === 0 ? this.highWaterKnown.get(feed.feed) : undefined;
    if (known !== undefined) {
      if (feed.seq <= known) feed.copy.recheck = true;
    } else {
      this.highWaiting++;
      try {
        if (feed.seq <= (await this.feedHighWater(feed.feed))) feed.copy.recheck = true;
      } finally {
        this.highWaiting--;
      }
    }
    const shard = shardOf(feed.copy.owner, this.config.shardCount);
    let buf = this.feedBuffers.get(shard);
    if (!buf) {
      buf = { copies: [], bytes: 0, seqs: new Map() };
      this.feedBuffers.set(shard, buf);
    }
    feed.copy.arrivedAt = Date.now();
    if (!(feed.seq <= (this.feedTaken.get(feed.feed) ?? -1))) this.feedTaken.set(feed.feed, feed.seq);
    buf.bytes += bytes;
    buf.copies.push(feed.copy);
    const s = buf.seqs.get(feed.feed) ?? { host: from, seqs: [] };
    s.seqs.push(feed.seq);
    buf.seqs.set(feed.feed, s);
    if (buf.copies.length >= 500) void this.flushFeed(shard);
    else this.flushTimer ??= setTimeout(() => this.flushAll(), FEED_BATCH_MS);
  }

  /** Highest seq of a feed that any edge has queued (read once per feed per stream). */
  private feedHighWater(feed: string): Promise<number> {
    let p = this.highWater.get(feed);
    if (!p) {
      p = this.redis.hget(keys.feedHighWater, feed).then(
        (v) => Number(v ?? -1),
        () => Number.POSITIVE_INFINITY, // unknown: check everything
      );
      const asked = p;
      void p.then((n) => {
        if (this.highWater.get(feed) === asked) this.highWaterKnown.set(feed, n);
      });
      this.highWater.set(feed, p);
    }
    return p;
  }

  private flushAll(): void {
    this.flushTimer = undefined;
    for (const shard of [...this.feedBuffers.keys()]) void this.flushFeed(shard);
  }

  /**
   * One queue job per shard carries a batch of copies; they are acknowledged once durable in
   * Redis. Batches of one shard are queued one after another, each retried until Redis takes
   * it, so a Redis restart cannot let later copies overtake earlier ones.
   */
  private flushFeed(shard: number): Promise<void> {
    const buf = this.feedBuffers.get(shard);
    if (!buf || buf.copies.length === 0) return Promise.resolve();
    this.feedBuffers.delete(shard);
    const prev = this.feedChains.get(shard) ?? Promise.resolve();
    const next = prev.then(() => this.queueCopies(shard, buf));
    this.feedChains.set(shard, next);
    void next.finally(() => {
      if (this.feedChains.get(shard) === next) this.feedChains.delete(shard);
    });
    return next;
  }

  /** Resolves once every copy this edge took for the shard so far is in the shard's queue. */
  private feedQueued(shard: number): Promise<void> {
    void this.flushFeed(shard);
    return this.feedChains.get(shard) ?? Promise.resolve();
  }

  private async queueCopies(shard: number, buf: FeedBuffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        // The high-water mark goes up first: if this edge dies after queuing, the next one
        // must treat the server's resends of these copies as possible duplicates.
        for (const [feed, { seqs }] of buf.seqs) await this.raiseHighWater(feed, Math.max(...seqs));
        await this.queues.enqueue(shard, { kind: "copies", copies: buf.copies });
        break;
      } catch (err) {
        // Not acknowledged: if this node stops now, the server module resends them.
        if (!this.accepting) {
          for (const [feed, { seqs }] of buf.seqs) this.acks.failed(feed, seqs);
          this.released(buf);
          return;
        }
        if (attempt % 20 === 0) this.log.warn({ err: (err as Error).message, shard }, "could not queue copies; retrying");
        await new Promise((r) => setTimeout(r, Math.min(100 * (attempt + 1), 1000)));
      }
    }
    this.released(buf);
    // Redis syncs its append-only file once a second: acknowledge only after that, so a copy
    // the server forgets is on disk even if Redis crashes right after taking it.
    // Only the sequence numbers wait for it, not the copies themselves.
    const acked = buf.seqs;
    setTimeout(() => {
      for (const [feed, { host, seqs }] of acked) {
        const upTo = this.acks.durable(feed, seqs);
        if (upTo !== undefined) this.link.send(ackStanza(this.config.component.jid, host, feed, upTo)).catch(() => undefined);
      }
    }, ACK_DELAY_MS).unref();
  }

  /**
   * Raises a feed's high-water mark to at least `seq`. It goes to the highest seq this edge has
   * taken so far, not just `seq`: the batches of the other shards, queued right after, then find
   * it raised already, so a flush costs one raise per feed rather than one per shard. A mark above
   * what is queued only makes a later edge check a few more resends against the applied ids.
   */
  private async raiseHighWater(feed: string, seq: number): Promise<void> {
    if ((this.feedRaised.get(feed) ?? -1) >= seq) return;
    const to = Math.max(seq, this.feedTaken.get(feed) ?? -1);
    await this.redis.eval(RAISE_HIGH_WATER, 1, keys.feedHighWater, feed, to);
    if (to > (this.feedRaised.get(feed) ?? -1)) this.feedRaised.set(feed, to);
  }

  /** A batch left the edge's memory; if that ends shedding, the hosts resend what was dropped. */
  private released(buf: FeedBuffer): void {
    this.resync(this.admission.release(buf.bytes));
    this.metrics.edgeBytes.set(this.admission.bytesHeld);
  }

  private resync(hosts: string[]): void {
    for (const host of hosts) {
      this.link.send(resyncStanza(this.config.component.jid, host)).catch(() => undefined);
    }
  }

  private async onIq(el: Element): Promise<void> {
    const route = routeIq(el, this.domains, this.config.component.jid);
    switch (route.kind) {
      case "ignore":
        return;
      case "refuse":
        return this.answer(route.envelope, "refused", { error: route.error });
      case "component": {
        const p = route.payload;
        if (route.type === "get" && p?.name === "query" && p.attrs.xmlns === NS_DISCO_INFO) {
          const node = p.attrs.node as string | undefined;
          const info = node?.startsWith("urn:xmpp:delegation:") ? renderDelegatedDiscoInfo(node) : renderComponentDiscoInfo();
          return this.answer(route.envelope, "disco", { payload: info });
        }
        return this.answer(route.envelope, "other", { error: serviceUnavailable() });
      }
      case "archive":
        return this.onArchiveIq(route.iq);
    }
  }

  private async onArchiveIq(iq: ArchiveIq): Promise<void> {
    const started = process.hrtime.bigint();
    const parsed = parseArchiveRequest(iq.type, iq.payload);
    const op = parsed.ok ? parsed.value.op : iq.payload.name;
    const done = (result: { payload?: Element; error?: StanzaError }) => {
      const status = result.error ? result.error.condition : "ok";
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.iqDuration.observe({ operation: op, result: status === "ok" ? "ok" : "error" }, secs);
      return this.answer(iq.envelope, op, result);
    };
    const allowed = this.limiter.take(iq.owner);
    if (allowed === "user") return done({ error: stanzaError("wait", "policy-violation", "too many archive requests; slow down") });
    if (allowed === "node") return done({ error: stanzaError("wait", "resource-constraint", "the archive is busy; try again") });
    if (!parsed.ok) return done({ error: parsed.error });
    const req = parsed.value;
    // D12: stream archives are out of the spec's scope.
    if (requestedSaveModes(req).includes("stream")) return done({ error: featureNotImplemented("save='stream' is not supported") });
    const shard = shardOf(iq.owner, this.config.shardCount);
    try {
      // Copies that arrived before the request go to the queue before it (or before its barrier).
      // While Redis cannot take them, the request waits no longer than a barrier would.
      if (!(await within(this.feedQueued(shard), this.config.readBarrierMs))) {
        return done({ error: stanzaError("wait", "resource-constraint", "the archive is catching up; try again") });
      }
      if (QUERY_OPS.has(req.op)) {
        // Read-your-writes: every change queued for this shard before now is applied first.
        if (!(await this.queues.barrier(shard, this.config.readBarrierMs))) {
          return done({ error: stanzaError("wait", "resource-constraint", "the archive is catching up; try again") });
        }
        return done(await this.queries.answer(iq.owner, req));
      }
      const outcome = await this.runCommand(shard, iq, req);
      if (outcome.pushes) this.sendPushes(iq.owner, outcome.pushes);
      if (outcome.error) return done({ error: outcome.error });
      return done(outcome.payload ? { payload: parseElement(outcome.payload) ?? undefined } : {});
    } catch (err) {
      this.log.error({ err, op }, "archive request failed");
      return done({ error: internalServerError() });
    }
  }

  /** Queues a change behind the user's earlier ones and waits for the owner's outcome. */
  private async runCommand(shard: number, iq: ArchiveIq, request: ArchiveRequest): Promise<CommandOutcome> {
    const replyId = randomUUID();
    const outcome = new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(replyId);
        resolve({ error: stanzaError("wait", "resource-constraint", "the archive did not answer in time") });
      }, this.config.commandTimeoutMs);
      this.pending.set(replyId, (o) => {
        clearTimeout(timer);
        this.pending.delete(replyId);
        resolve(o);
      });
    });
    await this.queues.enqueue(shard, {
      kind: "command",
      command: { owner: iq.owner, requester: iq.requester, request, replyTo: this.config.nodeId, replyId },
    });
    return outcome;
  }

  private sendPushes(owner: string, pushes: NonNullable<CommandOutcome["pushes"]>): void {
    const payload = parseElement(pushes.payload);
    if (!payload) return;
    for (const to of pushes.to) {
      const push = xml("iq", { type: "set", to, from: this.config.component.jid, id: `push-${randomUUID()}` }, payload);
      this.link.send(push).catch((err: Error) => this.log.debug({ err: err.message, owner }, "push not sent"));
    }
  }

  private async answer(envelope: Envelope, op: string, result: { payload?: Element; error?: StanzaError }): Promise<void> {
    const status = result.error ? "error" : "ok";
    this.metrics.iqRequests.inc({ operation: op, result: status });
    if (result.error) this.metrics.errorsSent.inc({ condition: result.error.condition });
    const out = replyIq(envelope, this.config.component.jid, result);
    if (this.log.isLevelEnabled("trace")) this.log.trace({ stanza: out.toString() }, "out");
    await this.link.send(out).catch((err: Error) =>
      this.log.debug({ err: err.message }, "answer not sent"),
    );
  }

  // ---- the owner's side: applying queued jobs ----

  private actorContext(lease: ShardLease): ActorContext {
    return {
      store: this.store,
      policy: this.policy,
      maxSaveItems: this.config.archive.maxSaveItems,
      stamp: () => {
        if (!this.shards.lease(lease.shard)) throw new NotOwner(`shard ${lease.shard} lease lost`);
        return { timestamp: lease.clock.next() };
      },
      onArchived: (copies) => {
        const now = Date.now();
        let sent = 0;
        for (const c of copies) {
          if (c.direction === "sent") sent++;
          if (c.arrivedAt !== undefined) this.metrics.ingestDelay.observe((now - c.arrivedAt) / 1000);
        }
        if (sent > 0) this.metrics.archived.inc({ direction: "sent" }, sent);
        if (copies.length > sent) this.metrics.archived.inc({ direction: "received" }, copies.length - sent);
        this.hooks.archived?.(copies);
      },
      onDropped: (reason, n) => this.metrics.dropped.inc({ reason }, n),
    };
  }

  /** Applies one job, retrying storage failures with backoff for as long as the lease is held. */
  private async runJob(lease: ShardLease, job: ShardJob, rerun: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // Never complete or fail a job without the lease. Gone for good: the worker is being
      // force-closed and the job goes back to the queue for the next owner. Past its deadline
      // but not yet lost (Redis slow or restarting): wait for the next renewal to decide.
      if (!this.shards.holds(lease)) await new Promise(() => undefined);
      if (!this.shards.lease(lease.shard)) {
        await new Promise((r) => setTimeout(r, 100));
        attempt--;
        continue;
      }
      try {
        // After a failed attempt some owners may be written already: check every copy.
        await this.applyJob(lease, job, rerun || attempt > 0);
        return;
      } catch (err) {
        if (err instanceof NotOwner) continue;
        if (!(err instanceof cassandra.errors.DriverError)) throw err;
        this.log.warn({ err: err.message, shard: lease.shard, attempt }, "storage write failed; retrying");
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
      }
    }
  }

  private async applyJob(lease: ShardLease, job: ShardJob, rerun: boolean): Promise<void> {
    const ctx = this.actorContext(lease);
    if (job.kind === "copies") {
      const byOwner = new Map<string, FeedCopy[]>();
      for (const c of job.copies) {
        const list = byOwner.get(c.owner) ?? [];
        list.push(c);
        byOwner.set(c.owner, list);
      }
      // Owners are independent: their writes go out side by side.
      const results = await Promise.allSettled(
        [...byOwner].map(async ([owner, copies]) => {
          try {
            await (await this.actors.get(owner, ctx)).ingest(copies, rerun);
          } catch (err) {
            // The actor's memory may be ahead of storage after a failed write: reload it on retry.
            this.actors.drop(owner);
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      // The whole job runs again; owners already written are recognised by their copy ids.
      if (failed) throw failed.reason;
      return;
    }
    if (job.kind === "presence") {
      (await this.actors.get(job.owner, ctx)).presence(job.jid, job.online, job.at);
      return;
    }
    const cmd = job.command;
    let outcome: CommandOutcome;
    try {
      outcome = await (await this.actors.get(cmd.owner, ctx)).command(cmd.requester, cmd.request);
    } catch (err) {
      // The actor's memory may be ahead of storage after a failed write: reload it next time.
      this.actors.drop(cmd.owner);
      throw err;
    }
    await this.redis.publish(keys.replies(cmd.replyTo), JSON.stringify({ replyId: cmd.replyId, outcome } satisfies Reply));
  }

  // ---- shutdown ----

  /** SIGTERM: stop taking stanzas, hand shards over, close connections. */
  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.housekeeping);
    this.flushAll();
    // Copies already taken from the server go to their queues before the stream closes.
    await Promise.race([Promise.allSettled([...this.feedChains.values()]), new Promise((r) => setTimeout(r, 5000))]);
    await this.link.stop();
    await this.shards?.stop();
    await this.queues?.close();
    await this.subscriber?.quit().catch(() => undefined);
    await this.clusterRedis?.quit().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    await this.writeThread?.close();
    await this.cassandra?.shutdown().catch(() => undefined);
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
  }
}
