import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// Every metric the node exports. Labels never carry JIDs or message content:
// only bounded sets (direction, operation, result, condition, statement, shard).
export class Metrics {
  readonly registry = new Registry();

  readonly archived = new Counter({
    name: "xmpp_archive_messages_archived_total",
    help: "Messages written to the archive, by direction from the owner's view.",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  readonly ingestDelay = new Histogram({
    name: "xmpp_archive_ingest_delay_seconds",
    help: "Time from a message copy's arrival at the edge to its being durable in the archive.",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly edgeBytes = new Gauge({
    name: "xmpp_archive_edge_buffer_bytes",
    help: "Message copies taken from the server and not yet queued, in bytes (bounded by EDGE_BUFFER_BYTES).",
    registers: [this.registry],
  });
  readonly shed = new Counter({
    name: "xmpp_archive_edge_shed_total",
    help: "Message copies left unacknowledged for the server to resend because the edge's buffer was full.",
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: "xmpp_archive_messages_dropped_total",
    help: "Message copies not archived on purpose (preference, duplicate, automatic archiving off).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "xmpp_archive_messages_rejected_total",
    help: "Message copies refused as invalid (unknown sender, foreign domain, malformed).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly iqRequests = new Counter({
    name: "xmpp_archive_iq_requests_total",
    help: "Archive IQ requests answered, by operation and result.",
    labelNames: ["operation", "result"] as const,
    registers: [this.registry],
  });
  readonly iqDuration = new Histogram({
    name: "xmpp_archive_iq_duration_seconds",
    help: "Time from an archive IQ's arrival to its answer.",
    labelNames: ["operation", "result"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errorsSent = new Counter({
    name: "xmpp_archive_xmpp_errors_sent_total",
    help: "XMPP stanza errors sent, by defined condition.",
    labelNames: ["condition"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "xmpp_archive_queue_depth",
    help: "Jobs waiting in the queue of each shard this node owns.",
    labelNames: ["shard"] as const,
    registers: [this.registry],
  });
  readonly queueOldestAge = new Gauge({
    name: "xmpp_archive_queue_oldest_job_age_seconds",
    help: "Age of the oldest waiting job in each shard this node owns.",
    labelNames: ["shard"] as const,
    registers: [this.registry],
  });
  readonly cassandraDuration = new Histogram({
    name: "xmpp_archive_cassandra_request_duration_seconds",
    help: "Cassandra request latency by statement.",
    labelNames: ["statement"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly cassandraErrors = new Counter({
    name: "xmpp_archive_cassandra_errors_total",
    help: "Failed Cassandra requests by statement.",
    labelNames: ["statement"] as const,
    registers: [this.registry],
  });
  readonly shardsOwned = new Gauge({
    name: "xmpp_archive_shards_owned",
    help: "Shards whose lease this node holds.",
    registers: [this.registry],
  });
  readonly leaseAcquisitions = new Counter({
    name: "xmpp_archive_lease_acquisitions_total",
    help: "Shard leases acquired by this node.",
    registers: [this.registry],
  });
  readonly leaseLosses = new Counter({
    name: "xmpp_archive_lease_losses_total",
    help: "Shard leases this node lost or gave up.",
    registers: [this.registry],
  });
  readonly leaseRenewFailures = new Counter({
    name: "xmpp_archive_lease_renew_failures_total",
    help: "Failed attempts to renew a shard lease.",
    registers: [this.registry],
  });
  readonly activeActors = new Gauge({
    name: "xmpp_archive_active_actors",
    help: "Per-user actors held in memory.",
    registers: [this.registry],
  });
  readonly componentConnected = new Gauge({
    name: "xmpp_archive_component_connected",
    help: "1 while this node holds an authenticated component stream to the XMPP server.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.componentConnected.set(0);
    this.shardsOwned.set(0);
    this.activeActors.set(0);
  }

  /** Times an async Cassandra call and counts its failure. */
  async timeCassandra<T>(statement: string, fn: () => Promise<T>): Promise<T> {
    let timer = this.cassandraTimers.get(statement);
    if (!timer) {
      timer = this.cassandraDuration.labels(statement);
      this.cassandraTimers.set(statement, timer);
    }
    const started = performance.now();
    try {
      return await fn();
    } catch (err) {
      this.cassandraErrors.inc({ statement });
      throw err;
    } finally {
      timer.observe((performance.now() - started) / 1000);
    }
  }

  /** Each statement's histogram, looked up once: every request is timed, and a lookup by labels hashes them anew. */
  private readonly cassandraTimers = new Map<string, { observe(seconds: number): void }>();
}
