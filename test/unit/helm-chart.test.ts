// Renders helm/xmpp-archive with helm (built by deploy/tools/install-helm) and checks the
// manifests the way a cluster would use them: selectors, probes, security, secret wiring,
// labels, and (when kubernetes-validate is installed) Kubernetes' own JSON schemas.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chartDir = join(root, "helm/xmpp-archive");
const allOnValues = join(chartDir, "ci/all-on-values.yaml");
const helmBin = join(root, ".tools/bin/helm");
const kubeValidateBin = join(root, ".tools/venv/bin/kubernetes-validate");
// Newest Kubernetes the pinned helm knows, and the oldest the chart supports (Chart.yaml kubeVersion).
const KUBE_VERSION = "1.37.0";
const MIN_KUBE_VERSION = "1.25.0";
const HELM_TIMEOUT_MS = 60_000;

type Labels = Record<string, string>;

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  data?: Record<string, string>;
  spec?: unknown;
}

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
    seccompProfile?: { type: string };
  };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: unknown;
}

interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}

interface DeploymentSpec {
  replicas?: number;
  strategy: { type: string; rollingUpdate?: { maxSurge: number | string; maxUnavailable: number | string } };
  selector: { matchLabels: Labels };
  template: {
    metadata: { labels: Labels; annotations?: Labels };
    spec: {
      serviceAccountName?: string;
      terminationGracePeriodSeconds?: number;
      securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
      containers: Container[];
      volumes?: Volume[];
    };
  };
}

interface ServiceSpec {
  selector: Labels;
  ports: { name: string; port: number; targetPort: string | number }[];
}

interface ServiceMonitorSpec {
  selector: { matchLabels: Labels };
  namespaceSelector?: { matchNames?: string[] };
  endpoints: { port: string; path?: string }[];
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
}

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(helmBin, args, { encoding: "utf8", timeout: HELM_TIMEOUT_MS });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function helmOk(args: string[]): string {
  const result = helm(args);
  if (result.status !== 0) {
    throw new Error(`helm ${args.join(" ")} exited ${String(result.status)}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

function templateArgs(release: string, namespace: string, extra: string[]): string[] {
  return ["template", release, chartDir, "--namespace", namespace, "--kube-version", KUBE_VERSION, ...extra];
}

function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    expect(doc.errors, "rendered YAML must parse").toEqual([]);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    out.push(value as Manifest);
  }
  return out;
}

interface Render {
  release: string;
  namespace: string;
  text: string;
  manifests: Manifest[];
}

function render(release: string, namespace: string, extra: string[] = []): Render {
  const text = helmOk(templateArgs(release, namespace, extra));
  return { release, namespace, text, manifests: parseManifests(text) };
}

function ofKind(r: Render, kind: string): Manifest[] {
  return r.manifests.filter((m) => m.kind === kind);
}

function single(r: Render, kind: string): Manifest {
  const found = ofKind(r, kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as Manifest;
}

function deployment(r: Render): { manifest: Manifest; spec: DeploymentSpec; container: Container } {
  const manifest = single(r, "Deployment");
  const spec = manifest.spec as DeploymentSpec;
  const container = spec.template.spec.containers.find((c) => c.name === "archive");
  if (!container) throw new Error("Deployment has no 'archive' container");
  return { manifest, spec, container };
}

function nodeConfig(r: Render): Record<string, string> {
  const { container } = deployment(r);
  const names = (container.envFrom ?? []).map((e) => e.configMapRef?.name);
  const cm = ofKind(r, "ConfigMap").find((m) => names.includes(m.metadata.name));
  if (!cm?.data) throw new Error("the container's envFrom names no rendered ConfigMap");
  return cm.data;
}

function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const STANDARD_LABELS = [
  "helm.sh/chart",
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "app.kubernetes.io/component",
  "app.kubernetes.io/managed-by",
];

// Metric names the service exports; the dashboard may query nothing else.
const KNOWN_METRICS = new Set([
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "nodejs_heap_size_used_bytes",
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "xmpp_archive_messages_archived_total",
  "xmpp_archive_messages_dropped_total",
  "xmpp_archive_messages_rejected_total",
  "xmpp_archive_iq_requests_total",
  "xmpp_archive_iq_duration_seconds_bucket",
  "xmpp_archive_xmpp_errors_sent_total",
  "xmpp_archive_queue_depth",
  "xmpp_archive_queue_oldest_job_age_seconds",
  "xmpp_archive_cassandra_request_duration_seconds_bucket",
  "xmpp_archive_cassandra_errors_total",
  "xmpp_archive_shards_owned",
  "xmpp_archive_lease_acquisitions_total",
  "xmpp_archive_lease_losses_total",
  "xmpp_archive_lease_renew_failures_total",
  "xmpp_archive_active_actors",
  "xmpp_archive_component_connected",
]);

const REQUIRED_CONFIG = [
  "XMPP_DOMAINS",
  "COMPONENT_JID",
  "COMPONENT_SERVICE",
  "REDIS_URL",
  "REDIS_TLS",
  "CASSANDRA_CONTACT_POINTS",
  "CASSANDRA_LOCAL_DC",
  "CASSANDRA_KEYSPACE",
  "CASSANDRA_REPLICATION",
  "CASSANDRA_TLS",
  "METRICS_PORT",
  "LOG_LEVEL",
  "SHARD_COUNT",
  "DEFAULT_MAX",
  "MAX_PAGE_SIZE",
  "FORCE_ARCHIVING",
  "AUTO_ARCHIVING_ENABLED",
  "COLLECTION_IDLE_SECONDS",
  "SHUTDOWN_TIMEOUT_SECONDS",
];

// Set only when their values are: user names, CA files and tuning left to the service's defaults.
const OPTIONAL_CONFIG = [
  "REDIS_USERNAME",
  "REDIS_TLS_CA_FILE",
  "CASSANDRA_USERNAME",
  "CASSANDRA_TLS_CA_FILE",
  "MAX_REPLY_BYTES",
  "MAX_SAVE_ITEMS",
  "EDGE_BUFFER_BYTES",
  "LIST_CACHE_KEYS",
  "CASSANDRA_MAX_WRITES_IN_FLIGHT",
  "CASSANDRA_MAX_READS_IN_FLIGHT",
  "CASSANDRA_RECONNECT_MAX_MS",
  "CASSANDRA_WRITE_THREAD",
  "SHARD_PASSES_IN_FLIGHT",
  "LIST_CACHE_SECONDS",
  "CHANGE_RETENTION_DAYS",
  "READ_BARRIER_MS",
  "COMMAND_TIMEOUT_MS",
  "LEASE_TTL_MS",
  "ACTOR_IDLE_SECONDS",
  "MAX_ACTORS",
];

const SECRET_NAMES = ["COMPONENT_SECRET", "REDIS_PASSWORD", "CASSANDRA_PASSWORD"];

interface Case {
  name: string;
  args: string[];
  drainSeconds: number;
  existingSecret?: string;
  injection: "files" | "env";
  expectSecrets: string[];
  optionalKinds: string[];
  /** Kubernetes versions whose schemas the render must satisfy. */
  kubeVersions: string[];
}

const CASES: Case[] = [
  {
    name: "default values",
    args: [],
    drainSeconds: 30,
    injection: "files",
    expectSecrets: ["COMPONENT_SECRET"],
    optionalKinds: [],
    kubeVersions: [MIN_KUBE_VERSION, KUBE_VERSION],
  },
  {
    name: "ci/all-on-values.yaml (existing Secret, TLS, monitoring, HPA)",
    args: ["-f", allOnValues],
    drainSeconds: 60,
    existingSecret: "xmpp-archive-credentials",
    injection: "files",
    expectSecrets: SECRET_NAMES,
    optionalKinds: ["ServiceMonitor", "HorizontalPodAutoscaler"],
    // preStop sleep in all-on is a 1.29 feature; the defaults must work on the chart's floor.
    kubeVersions: ["1.29.0", KUBE_VERSION],
  },
  {
    name: "created Secret with passwords, injected as env",
    args: [
      "--set",
      "component.secret=s3cret,redis.password=r3dis,cassandra.username=archive,cassandra.password=c4ss,secrets.injection=env",
    ],
    drainSeconds: 30,
    injection: "env",
    expectSecrets: SECRET_NAMES,
    optionalKinds: [],
    kubeVersions: [MIN_KUBE_VERSION, KUBE_VERSION],
  },
];

const haveHelm = existsSync(helmBin);
const suiteName = haveHelm
  ? "helm chart helm/xmpp-archive"
  : "helm chart helm/xmpp-archive (skipped: .tools/bin/helm is missing; run deploy/tools/install-helm)";

describe.skipIf(!haveHelm)(suiteName, () => {
  it("passes helm lint --strict with default values and with ci/all-on-values.yaml", { timeout: HELM_TIMEOUT_MS }, () => {
    helmOk(["lint", "--strict", chartDir]);
    helmOk(["lint", "--strict", chartDir, "-f", allOnValues]);
  });

  it("renders without --kube-version (helm was built with a current default KubeVersion)", { timeout: HELM_TIMEOUT_MS }, () => {
    const text = helmOk(["template", "r", chartDir]);
    expect(parseManifests(text).map((m) => m.kind)).toContain("Deployment");
  });

  it("refuses clusters older than the chart's kubeVersion", { timeout: HELM_TIMEOUT_MS }, () => {
    const result = helm(["template", "r", chartDir, "--kube-version", "1.24.0"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/kubeVersion/i);
  });

  it.each([
    ["an unknown top-level key", ["--set", "replicas=3"]],
    ["an unknown secret injection mode", ["--set", "secrets.injection=both"]],
    ["a malformed replication setting", ["--set", "cassandra.replication=EverywhereStrategy"]],
    ["a string where a number belongs", ["--set-string", "shutdown.drainSeconds=soon"]],
    ["rediss:// without redis.tls.enabled", ["--set", "redis.url=rediss://redis:6380"]],
    ["autoscaling with minReplicas > maxReplicas", ["--set", "autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=2"]],
  ])("rejects %s", { timeout: HELM_TIMEOUT_MS }, (_label, args) => {
    const result = helm(templateArgs("r", "default", args));
    expect(result.status, result.stdout).not.toBe(0);
  });

  it("rolls the pods when the node configuration changes (checksum/config)", { timeout: HELM_TIMEOUT_MS }, () => {
    const checksum = (args: string[]): string => {
      const annotations = deployment(render("r", "default", args)).spec.template.metadata.annotations ?? {};
      const value = annotations["checksum/config"];
      expect(value).toMatch(/^[0-9a-f]{64}$/);
      return value ?? "";
    };
    const base = checksum([]);
    expect(checksum([])).toBe(base);
    expect(checksum(["--set", "logLevel=debug"])).not.toBe(base);
  });

  describe.each(CASES)("$name", (c) => {
    // Rendered in a hook: suite bodies are collected even when the suite is skipped.
    let r: Render;
    beforeAll(() => {
      r = render("arch", "xmpp", c.args);
    }, HELM_TIMEOUT_MS);

    it("renders the expected kinds, each once", () => {
      const kinds = r.manifests.map((m) => m.kind);
      for (const kind of ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceAccount"]) {
        expect(kinds).toContain(kind);
      }
      for (const kind of ["ServiceMonitor", "HorizontalPodAutoscaler"]) {
        expect(kinds.includes(kind), kind).toBe(c.optionalKinds.includes(kind));
      }
      expect(kinds.includes("Secret"), "Secret is created only without existingSecret").toBe(!c.existingSecret);
      const names = r.manifests.map((m) => `${m.kind}/${m.metadata.name}`);
      expect(new Set(names).size).toBe(names.length);
    });

    it("puts the standard labels on every resource and the pods", () => {
      for (const m of r.manifests) {
        for (const label of STANDARD_LABELS) {
          expect(m.metadata.labels?.[label], `${m.kind}/${m.metadata.name} ${label}`).toBeTruthy();
        }
        expect(m.metadata.labels?.["app.kubernetes.io/instance"]).toBe(r.release);
        expect(m.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
      }
      const pod = deployment(r).spec.template.metadata.labels;
      for (const label of STANDARD_LABELS) expect(pod[label], `pod ${label}`).toBeTruthy();
    });

    it("selects its own pods from the Deployment, Service, PodDisruptionBudget and ServiceMonitor", () => {
      const { manifest, spec } = deployment(r);
      const podLabels = spec.template.metadata.labels;
      const selector = spec.selector.matchLabels;
      expect(Object.keys(selector).sort()).toEqual(["app.kubernetes.io/instance", "app.kubernetes.io/name"]);
      expect(selects(selector, podLabels)).toBe(true);

      const service = single(r, "Service");
      const serviceSpec = service.spec as ServiceSpec;
      expect(selects(serviceSpec.selector, podLabels)).toBe(true);
      expect(serviceSpec.ports.map((p) => p.name)).toEqual(["metrics"]);
      expect(serviceSpec.ports[0]?.targetPort).toBe("metrics");

      const pdb = single(r, "PodDisruptionBudget").spec as { selector: { matchLabels: Labels } };
      expect(selects(pdb.selector.matchLabels, podLabels)).toBe(true);

      for (const sm of ofKind(r, "ServiceMonitor")) {
        const smSpec = sm.spec as ServiceMonitorSpec;
        expect(selects(smSpec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
        expect(smSpec.endpoints.map((e) => e.port)).toEqual(["metrics"]);
        expect(smSpec.endpoints[0]?.path).toBe("/metrics");
        if (sm.metadata.namespace !== service.metadata.namespace) {
          expect(smSpec.namespaceSelector?.matchNames).toContain(service.metadata.namespace);
        }
      }

      for (const hpa of ofKind(r, "HorizontalPodAutoscaler")) {
        const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        expect(target).toMatchObject({ kind: "Deployment", name: manifest.metadata.name });
        expect(spec.replicas, "replicas is left to the HPA").toBeUndefined();
      }
    });

    it("keeps capacity during rollouts", () => {
      const { strategy } = deployment(r).spec;
      expect(strategy.type).toBe("RollingUpdate");
      expect(strategy.rollingUpdate?.maxUnavailable).toBe(0);
    });

    it("probes /healthz and /readyz on the metrics port", () => {
      const { container } = deployment(r);
      const config = nodeConfig(r);
      const metricsPort = container.ports?.find((p) => p.name === "metrics");
      expect(metricsPort?.containerPort).toBe(Number(config.METRICS_PORT));
      const onMetrics = (port: string | number | undefined): boolean =>
        port === "metrics" || port === metricsPort?.containerPort;
      expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
      expect(onMetrics(container.livenessProbe?.httpGet?.port)).toBe(true);
      expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
      expect(onMetrics(container.readinessProbe?.httpGet?.port)).toBe(true);
      expect(container.startupProbe?.httpGet?.path).toBe("/healthz");
      expect(onMetrics(container.startupProbe?.httpGet?.port)).toBe(true);
    });

    it("runs non-root with a read-only root filesystem and a writable /tmp", () => {
      const { spec, container } = deployment(r);
      const pod = spec.template.spec.securityContext;
      expect(pod?.runAsNonRoot).toBe(true);
      expect(pod?.runAsUser).toBe(10001);
      expect(pod?.seccompProfile?.type).toBe("RuntimeDefault");
      const sc = container.securityContext;
      expect(sc?.runAsNonRoot).toBe(true);
      expect(sc?.runAsUser).toBe(10001);
      expect(sc?.readOnlyRootFilesystem).toBe(true);
      expect(sc?.allowPrivilegeEscalation).toBe(false);
      expect(sc?.capabilities?.drop).toContain("ALL");
      expect(sc?.seccompProfile?.type).toBe("RuntimeDefault");
      const tmp = container.volumeMounts?.find((m) => m.mountPath === "/tmp");
      const volume = spec.template.spec.volumes?.find((v) => v.name === tmp?.name);
      expect(volume?.emptyDir, "/tmp is an emptyDir").toBeDefined();
      expect(container.resources).toBeDefined();
    });

    it("gives the kubelet more time than the drain it tells the node about", () => {
      const { spec } = deployment(r);
      const config = nodeConfig(r);
      expect(Number(config.SHUTDOWN_TIMEOUT_SECONDS)).toBe(c.drainSeconds);
      expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(c.drainSeconds);
    });

    it("passes the node configuration through the ConfigMap and NODE_ID from the pod name", () => {
      const config = nodeConfig(r);
      for (const key of REQUIRED_CONFIG) expect(config[key], key).toBeTruthy();
      const known = new Set([...REQUIRED_CONFIG, ...OPTIONAL_CONFIG]);
      for (const key of Object.keys(config)) expect(known.has(key), `unknown variable ${key}`).toBe(true);
      for (const key of Object.keys(config)) {
        expect(SECRET_NAMES.some((s) => key.startsWith(s)), `${key} must not be in the ConfigMap`).toBe(false);
      }
      const env = deployment(r).container.env ?? [];
      expect(env.find((e) => e.name === "NODE_ID")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
      const pod = deployment(r).spec.template.metadata.annotations ?? {};
      expect(pod["checksum/config"]).toMatch(/^[0-9a-f]{64}$/);
    });

    it("wires every secret to a key that the Secret provides", () => {
      const { spec, container } = deployment(r);
      const env = container.env ?? [];
      const secret = ofKind(r, "Secret")[0];
      const secretName = c.existingSecret ?? secret?.metadata.name;
      const created = new Set(Object.keys(secret?.data ?? {}));

      for (const name of SECRET_NAMES) {
        const fileVar = env.find((e) => e.name === `${name}_FILE`);
        const plainVar = env.find((e) => e.name === name);
        if (!c.expectSecrets.includes(name)) {
          expect(fileVar ?? plainVar, `${name} is not wired`).toBeUndefined();
          continue;
        }
        if (c.injection === "env") {
          expect(fileVar).toBeUndefined();
          const ref = plainVar?.valueFrom?.secretKeyRef;
          expect(ref?.name).toBe(secretName);
          expect(created.has(ref?.key ?? ""), `${name} key in Secret`).toBe(true);
          continue;
        }
        expect(plainVar, `${name} must come from a file`).toBeUndefined();
        const path = fileVar?.value ?? "";
        const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(path));
        expect(mount, `a volumeMount at ${posix.dirname(path)} for ${name}_FILE`).toBeDefined();
        expect(mount?.readOnly).toBe(true);
        const volume = spec.template.spec.volumes?.find((v) => v.name === mount?.name);
        expect(volume?.secret?.secretName).toBe(secretName);
        const item = volume?.secret?.items?.find((i) => i.path === posix.basename(path));
        expect(item, `secret item for ${path}`).toBeDefined();
        if (!c.existingSecret) expect(created.has(item?.key ?? "")).toBe(true);
      }
    });

    it("mounts TLS CA bundles where the ConfigMap points", () => {
      const { container } = deployment(r);
      const config = nodeConfig(r);
      for (const key of ["REDIS_TLS_CA_FILE", "CASSANDRA_TLS_CA_FILE"]) {
        const path = config[key];
        if (path === undefined) continue;
        expect(container.volumeMounts?.some((m) => m.mountPath === posix.dirname(path))).toBe(true);
      }
    });

    it("validates against the Kubernetes JSON schemas (kubernetes-validate)", { timeout: HELM_TIMEOUT_MS }, (ctx) => {
      if (!existsSync(kubeValidateBin)) {
        ctx.skip("kubernetes-validate not installed in .tools/venv (deploy/tools/install-helm installs it)");
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), "xmpp-archive-chart-"));
      const file = join(dir, "rendered.yaml");
      writeFileSync(file, r.text);
      for (const version of c.kubeVersions) {
        const result = spawnSync(kubeValidateBin, ["--strict", "--quiet", "-k", version, file], {
          encoding: "utf8",
          timeout: HELM_TIMEOUT_MS,
        });
        expect(result.status, `${version}: ${result.stdout}${result.stderr}`).toBe(0);
        expect(result.stdout + result.stderr).not.toMatch(/ERROR/);
      }
    });
  });

  describe("Grafana dashboard", () => {
    let r: Render;
    beforeAll(() => {
      r = render("arch", "xmpp", ["-f", allOnValues]);
    }, HELM_TIMEOUT_MS);

    it("ships the dashboard in a ConfigMap labelled for the Grafana sidecar", () => {
      const cm = ofKind(r, "ConfigMap").find((m) => m.data?.["xmpp-archive.json"] !== undefined);
      expect(cm, "dashboard ConfigMap").toBeDefined();
      expect(cm?.metadata.labels?.grafana_dashboard).toBe("1");
      const shipped = JSON.parse(cm?.data?.["xmpp-archive.json"] ?? "") as unknown;
      const onDisk = JSON.parse(readFileSync(join(chartDir, "dashboards/xmpp-archive.json"), "utf8")) as unknown;
      expect(shipped).toEqual(onDisk);
    });

    it("is absent by default", () => {
      const def = render("arch", "xmpp");
      expect(def.manifests.some((m) => m.data?.["xmpp-archive.json"] !== undefined)).toBe(false);
    });

    it("uses a templated Prometheus datasource and queries only exported metrics", () => {
      interface Panel {
        type: string;
        title: string;
        datasource?: { type: string; uid: string };
        targets?: { expr: string }[];
      }
      const dash = JSON.parse(readFileSync(join(chartDir, "dashboards/xmpp-archive.json"), "utf8")) as {
        schemaVersion: number;
        uid: string;
        panels: Panel[];
        templating: { list: { name: string; type: string; query: unknown }[] };
      };
      expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
      const vars = dash.templating.list;
      expect(vars.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
      expect(vars.map((v) => v.name)).toEqual(expect.arrayContaining(["namespace", "pod"]));

      const queried = new Set<string>();
      for (const panel of dash.panels.filter((p) => p.type !== "row")) {
        expect(panel.datasource?.uid, panel.title).toBe("${datasource}");
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        for (const { expr } of panel.targets ?? []) {
          for (const name of expr.match(/\b(?:xmpp_archive|process|nodejs)_[a-z0-9_]+/g) ?? []) queried.add(name);
          // Quantiles must aggregate bucket rates while keeping `le`.
          if (expr.includes("histogram_quantile")) {
            expect(expr, panel.title).toMatch(
              /histogram_quantile\(0?\.\d+, sum by \((?:le, [a-z_, ]+|[a-z_, ]+, le)\) \(rate\([a-z0-9_]+_bucket\{[^}]*\}\[[0-9]+m\]\)\)\)/,
            );
          }
          if (/_total\b/.test(expr)) expect(expr, `${panel.title}: counters need rate()`).toMatch(/rate\(/);
        }
      }
      for (const name of queried) expect(KNOWN_METRICS.has(name), `unknown metric ${name}`).toBe(true);
      for (const required of [
        "xmpp_archive_messages_archived_total",
        "xmpp_archive_iq_duration_seconds_bucket",
        "xmpp_archive_queue_depth",
        "xmpp_archive_cassandra_request_duration_seconds_bucket",
        "xmpp_archive_shards_owned",
        "xmpp_archive_component_connected",
      ]) {
        expect(queried.has(required), required).toBe(true);
      }
    });
  });

  describe("documentation", () => {
    const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as JsonSchema;
    const values = parseYaml(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Record<string, unknown>;
    const readme = readFileSync(join(chartDir, "README.md"), "utf8");

    // A schema node with properties is a section; anything else is one documented value.
    const leaves = (node: JsonSchema, prefix: string): string[] =>
      Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
        const path = prefix ? `${prefix}.${key}` : key;
        return child.properties ? leaves(child, path) : [path];
      });
    const valuePaths = leaves(schema, "").filter((p) => p !== "global");

    it("gives every schema value a default in values.yaml", () => {
      for (const path of valuePaths) {
        let node: unknown = values;
        for (const part of path.split(".")) {
          expect(node !== null && typeof node === "object" && part in node, `${path} in values.yaml`).toBe(true);
          node = (node as Record<string, unknown>)[part];
        }
      }
    });

    it("lists every value in the README table", () => {
      for (const path of valuePaths) expect(readme, path).toContain(`| \`${path}\` |`);
    });
  });
});
