import { createServer, type Server } from "node:http";
import type { Metrics } from "./metrics.ts";

export interface HealthSource {
  /** Liveness: the process is working (event loop turning, not shutting down for good). */
  live(): boolean;
  /** Readiness: component stream, Redis and Cassandra up and the node has joined the cluster. */
  ready(): { ready: boolean; checks: Record<string, boolean>; edge?: boolean };
  /** Extra JSON views (e.g. the shard map), by path. */
  views?: Record<string, () => Promise<unknown>>;
}

/** /metrics, /healthz, /readyz and read-only JSON views on a port of their own. */
export function startHttpServer(
  host: string,
  port: number,
  metrics: Metrics,
  health: HealthSource,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");
    if (path === "/metrics") {
      metrics.registry
        .metrics()
        .then((text) => send(200, metrics.registry.contentType, text))
        .catch((err: Error) => send(500, "text/plain", `${err.message}\n`));
      return;
    }
    if (path === "/healthz") {
      const ok = health.live();
      return send(ok ? 200 : 503, "text/plain", ok ? "ok\n" : "unhealthy\n");
    }
    if (path === "/readyz") {
      const r = health.ready();
      return send(r.ready ? 200 : 503, "application/json", `${JSON.stringify(r)}\n`);
    }
    const view = health.views?.[path];
    if (view) {
      view()
        .then((v) => send(200, "application/json", `${JSON.stringify(v, null, 1)}\n`))
        .catch((err: Error) => send(500, "text/plain", `${err.message}\n`));
      return;
    }
    send(404, "text/plain", "not found\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
