/**
 * deploy/: every kustomization (the base and each overlay) builds, every manifest it renders is
 * valid against its schema (Kubernetes, KEDA, Prometheus operator: the kubernetes-models
 * packages), and the pieces agree with each other and with the service:
 *   - every environment variable the Deployment sets is a setting the service knows, and the
 *     whole environment parses with the service's own loadConfig (values, cross-field rules);
 *   - probes on /healthz and /readyz, a grace period above SHUTDOWN_TIMEOUT_MS, resources set,
 *     node (not npx/npm) as the process, the image's entrypoint included;
 *   - Service, ServiceMonitor and PodDisruptionBudget select the pods; KEDA's trigger reads the
 *     service's consumer group, brokers and topics, never scales past the partitions, and its
 *     lagThreshold lies within the bounds derived from the measured throughput;
 *   - every alert has a runbook entry in docs/operations.md, and the dashboard shows what the
 *     issue asks for, with PromQL that reads only the service's metrics.
 * (The schemas of kubernetes-models do not reject unknown fields; the checks below name the
 * fields that matter, so a misspelt one of those fails here.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { loadConfig, SETTINGS, type Config } from '../../services/sessionizer/src/config.js';
import { REPO_ROOT } from '../support/cli.js';
import { deployedNodeOptions } from '../bench/service.js';
import { build, isObject, text, type Json, type JsonObject, type Resource } from '../support/kustomize.js';
import {
  alertQueries,
  alertRules,
  alertsDocument,
  dashboardPanels,
  dashboardQueries,
  TARGET_LABELS,
  type Query,
} from '../support/observability.js';

const K8S = join(REPO_ROOT, 'deploy/k8s');
const KUSTOMIZATIONS = [
  'base',
  ...readdirSync(join(K8S, 'overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `overlays/${d.name}`),
];

// ---- reading rendered manifests ----

type Validator = (r: Resource) => void;
const model =
  (Model: new (data: never) => { validate(): void }): Validator =>
  (r) => {
    new Model(r as never).validate();
  };
const MODELS: Readonly<Record<string, Validator>> = {
  'v1/ConfigMap': model(ConfigMap),
  'v1/Secret': model(Secret),
  'v1/Service': model(Service),
  'apps/v1/Deployment': model(Deployment),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject),
  'keda.sh/v1alpha1/TriggerAuthentication': model(TriggerAuthentication),
  'monitoring.coreos.com/v1/ServiceMonitor': model(ServiceMonitor),
  'monitoring.coreos.com/v1/PrometheusRule': model(PrometheusRule),
};

const obj = (v: Json | undefined, what: string): JsonObject => {
  if (!isObject(v)) throw new Error(`${what}: expected a map`);
  return v;
};
const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function one(resources: readonly Resource[], kind: string, name?: string): Resource {
  const found = resources.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0] as Resource;
}

function container(resources: readonly Resource[]): JsonObject {
  const d = one(resources, 'Deployment');
  const pod = obj(obj(obj(d['spec'], 'spec')['template'], 'template')['spec'], 'pod spec');
  const containers = list(pod['containers']);
  expect(containers).toHaveLength(1);
  return obj(containers[0], 'container');
}

function podLabels(resources: readonly Resource[]): JsonObject {
  const d = one(resources, 'Deployment');
  return obj(obj(obj(obj(d['spec'], 'spec')['template'], 'template')['metadata'], 'template metadata')['labels'], 'pod labels');
}

const selects = (selector: Json | undefined, labels: JsonObject): boolean => {
  const match = obj(obj(selector, 'selector')['matchLabels'] ?? selector, 'matchLabels');
  return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels[k] === v);
};

interface EnvVar {
  readonly value: string;
  readonly from: string;
}

/**
 * The environment the container gets: envFrom ConfigMaps and Secrets (which must be rendered
 * too, or be optional), then env. Values from outside (a fieldRef, a Secret managed elsewhere)
 * stand in as placeholders.
 */
function containerEnv(resources: readonly Resource[]): Map<string, EnvVar> {
  const env = new Map<string, EnvVar>();
  const c = container(resources);
  for (const source of list(c['envFrom'])) {
    const s = obj(source, 'envFrom');
    const ref = s['configMapRef'] ?? s['secretRef'];
    const kind = s['configMapRef'] === undefined ? 'Secret' : 'ConfigMap';
    const name = str(obj(ref, 'envFrom ref')['name']) ?? '';
    const r = resources.find((x) => x.kind === kind && x.metadata.name === name);
    if (r === undefined) throw new Error(`envFrom ${kind} ${name} is not among the rendered manifests`);
    const data: JsonObject = { ...(isObject(r['data']) ? r['data'] : {}), ...(isObject(r['stringData']) ? r['stringData'] : {}) };
    for (const [k, v] of Object.entries(data)) {
      const value = kind === 'Secret' && isObject(r['data']) && k in r['data'] ? Buffer.from(text(v), 'base64').toString() : text(v);
      env.set(k, { value, from: `${kind} ${name}` });
    }
  }
  for (const e of list(c['env'])) {
    const v = obj(e, 'env');
    const name = str(v['name']) ?? '';
    if (typeof v['value'] === 'string') env.set(name, { value: v['value'], from: 'env' });
    else {
      const from = obj(v['valueFrom'], `env ${name}`);
      const field = isObject(from['fieldRef']) ? str(from['fieldRef']['fieldPath']) : undefined;
      env.set(name, {
        value: field === 'metadata.name' ? 'sessionizer-5d8f7c9b6-x2kq4' : `from-${Object.keys(from)[0] ?? '?'}`,
        from: 'env valueFrom',
      });
    }
  }
  return env;
}

const KNOWN_ENV = new Set<string>(Object.values(SETTINGS).map((s) => s.env));

/** Every variable must be a setting of the service; then the service must accept them all. */
function serviceConfig(env: ReadonlyMap<string, EnvVar>): Config {
  const unknown = [...env].filter(([k]) => !KNOWN_ENV.has(k)).map(([k, v]) => `${k} (${v.from})`);
  if (unknown.length > 0) throw new Error(`not settings of the service: ${unknown.join(', ')}`);
  return loadConfig({}, Object.fromEntries([...env].map(([k, v]) => [k, v.value])));
}

// ---- the bounds of lagThreshold, from BENCHMARKS.md (2 vCPU) ----

/** events/s one instance sustained until everything was committed (quiet-machine run of 2026-12-02). */
const MEASURED_EVENTS_PER_SECOND = 19_326;
/** events/s sustained with ~200 000 active sessions (the freshness phase of 2026-11-26/27, ~1.8 cores). */
const MEASURED_HIGH_CARDINALITY_EVENTS_PER_SECOND = 11_726;
/** FLUSH_INTERVAL_MS plus a flush (p99 1.7–4.2 s): how long an event stays uncommitted at most, roughly. */
const UNCOMMITTED_SECONDS = 7;

/** KEDA's names of the SASL mechanisms. */
const KEDA_SASL = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' } as const;

describe.each(KUSTOMIZATIONS)('deploy/k8s/%s', (dir) => {
  const resources = build(join(K8S, dir));
  const env = containerEnv(resources);

  it('renders only manifests that are valid against their schemas', () => {
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) {
      const validate = MODELS[`${r.apiVersion}/${r.kind}`];
      if (validate === undefined) throw new Error(`${r.apiVersion} ${r.kind} ${r.metadata.name}: no schema to validate it against`);
      validate(r);
    }
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'ConfigMap', 'ServiceMonitor', 'ScaledObject', 'PrometheusRule']) {
      expect(
        resources.filter((r) => r.kind === kind),
        kind,
      ).toHaveLength(1);
    }
  });

  it('sets only environment variables that are settings of the service, with values it accepts', () => {
    const config = serviceConfig(env);
    // several replicas need a ClickHouse server: the embedded engine allows one process per data directory
    expect(config.clickhouse.url).toBeDefined();
    expect(config.kafka.brokers).toBeDefined();
    // credentials are not in the ConfigMap
    const configMap = one(resources, 'ConfigMap');
    const secrets = Object.values(SETTINGS).filter((s) => 'secret' in s && s.secret);
    for (const s of secrets) expect(Object.keys(obj(configMap['data'], 'data')), s.env).not.toContain(s.env);
  });

  it('runs node as the container process, with probes, a grace period above the shutdown timeout, and resources', () => {
    const config = serviceConfig(env);
    const c = container(resources);
    const command = list(c['command']).map(String);
    expect(command.length === 0 || command[0] === 'node', `command ${command.join(' ')}`).toBe(true);
    expect([...command, ...list(c['args']).map(String)].join(' ')).not.toMatch(/\bnp[mx]\b/);
    expect(list(c['args'])).toEqual(['run']);

    const port = list(c['ports'])
      .map((p) => obj(p, 'port'))
      .find((p) => p['name'] === 'metrics');
    expect(port?.['containerPort']).toBe(config.metrics.port);
    const probe = (name: string): JsonObject => obj(obj(c[name], name)['httpGet'], `${name}.httpGet`);
    expect(probe('readinessProbe')).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(probe('livenessProbe')).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(probe('startupProbe')).toMatchObject({ path: '/healthz', port: 'metrics' });

    const pod = obj(obj(obj(one(resources, 'Deployment')['spec'], 'spec')['template'], 'template')['spec'], 'pod');
    const grace = pod['terminationGracePeriodSeconds'];
    expect(typeof grace).toBe('number');
    expect((grace as number) * 1000).toBeGreaterThan(config.shutdownTimeoutMs);

    const resourcesOf = obj(c['resources'], 'resources');
    const requests = obj(resourcesOf['requests'], 'requests');
    const limits = obj(resourcesOf['limits'], 'limits');
    expect(requests['cpu']).toBeDefined();
    expect(requests['memory']).toBeDefined();
    const mib = (q: Json | undefined): number => {
      const m = /^(\d+)(Mi|Gi)$/.exec(text(q));
      if (m === null) throw new Error(`memory quantity ${text(q)}: use Mi or Gi`);
      return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    expect(mib(limits['memory'])).toBeGreaterThanOrEqual(mib(requests['memory']));
  });

  it('selects the pods from the Service, the ServiceMonitor and the PodDisruptionBudget', () => {
    const labels = podLabels(resources);
    const service = one(resources, 'Service');
    const spec = obj(service['spec'], 'service spec');
    expect(selects(spec['selector'], labels)).toBe(true);
    expect(spec['publishNotReadyAddresses']).toBe(true);
    const ports = list(spec['ports']).map((p) => obj(p, 'service port'));
    expect(ports.map((p) => p['targetPort'])).toEqual(['metrics']);

    const monitor = obj(one(resources, 'ServiceMonitor')['spec'], 'ServiceMonitor spec');
    expect(selects(monitor['selector'], obj(service.metadata['labels'], 'service labels'))).toBe(true);
    const endpoints = list(monitor['endpoints']).map((e) => obj(e, 'endpoint'));
    expect(endpoints.map((e) => [e['port'], e['path']])).toEqual([[ports[0]?.['name'], '/metrics']]);

    const pdb = obj(one(resources, 'PodDisruptionBudget')['spec'], 'pdb spec');
    expect(selects(pdb['selector'], labels)).toBe(true);
    expect(pdb['maxUnavailable']).toBe(1);
  });

  it("scales on the service's consumer group lag, at most to the partitions, from the measured throughput", () => {
    const config = serviceConfig(env);
    const deployment = one(resources, 'Deployment');
    const so = one(resources, 'ScaledObject');
    const spec = obj(so['spec'], 'ScaledObject spec');
    expect(obj(spec['scaleTargetRef'], 'scaleTargetRef')['name']).toBe(deployment.metadata.name);
    expect(obj(deployment['spec'], 'spec')['replicas']).toBeUndefined(); // KEDA owns it

    const partitions = Number(obj(so.metadata['annotations'], 'annotations')['sessionizer/partitions']);
    expect(Number.isInteger(partitions) && partitions > 0).toBe(true);
    const max = spec['maxReplicaCount'];
    expect(typeof max === 'number' && max >= 1 && max <= partitions, `maxReplicaCount ${text(max)} ≤ ${partitions}`).toBe(true);
    expect(spec['minReplicaCount']).toBeGreaterThanOrEqual(1);

    const triggers = list(spec['triggers']).map((t) => obj(t, 'trigger'));
    expect(triggers.map((t) => t['type'])).toEqual(triggers.map(() => 'kafka'));
    expect(triggers.map((t) => str(obj(t['metadata'], 'metadata')['topic'])).sort()).toEqual(
      config.kafka.topics.map((t) => t.topic).sort(),
    );
    for (const t of triggers) {
      const m = obj(t['metadata'], 'trigger metadata');
      expect(m['consumerGroup']).toBe(config.kafka.groupId);
      expect(m['bootstrapServers']).toBe(config.kafka.brokers);
      expect(m['offsetResetPolicy']).toBe(config.kafka.fromBeginning ? 'earliest' : 'latest');
      expect(m['allowIdleConsumers']).toBe('false');
      // Below this, an instance that keeps up at the high-cardinality rate would count as behind
      // (flapping); above the other, KEDA would add a replica only once instances are saturated.
      const threshold = Number(m['lagThreshold']);
      expect(threshold).toBeGreaterThan(MEASURED_HIGH_CARDINALITY_EVENTS_PER_SECOND * UNCOMMITTED_SECONDS);
      expect(threshold).toBeLessThan(MEASURED_EVENTS_PER_SECOND * UNCOMMITTED_SECONDS);
      // KEDA authenticates like the service
      const sasl = config.kafka.sasl;
      expect(m['sasl']).toBe(sasl === undefined ? undefined : KEDA_SASL[sasl.mechanism]);
      expect(m['tls']).toBe(config.kafka.ssl ? 'enable' : undefined);
      if (sasl !== undefined || config.kafka.ssl) {
        const auth = one(resources, 'TriggerAuthentication', str(obj(t['authenticationRef'], 'authenticationRef')['name']));
        const authSpec = obj(auth['spec'], 'TriggerAuthentication spec');
        const params = [...list(authSpec['secretTargetRef']), ...list(authSpec['configMapTargetRef'])].map(
          (p) => obj(p, 'ref')['parameter'],
        );
        if (sasl !== undefined) expect(params).toEqual(expect.arrayContaining(['username', 'password']));
        if (config.kafka.sslCaFile !== undefined) expect(params).toContain('ca');
        const username = list(authSpec['configMapTargetRef'])
          .map((p) => obj(p, 'ref'))
          .find((p) => p['parameter'] === 'username');
        if (username !== undefined) expect(env.get(text(username['key']))?.value).toBe(sasl?.username);
      }
    }
  });
});

describe('the checks of the environment', () => {
  const resources = build(join(K8S, 'base'));
  const withData = (data: JsonObject): Resource[] =>
    resources.map((r) => (r.kind === 'ConfigMap' ? { ...r, data: { ...obj(r['data'], 'data'), ...data } } : r));

  it('fail on a variable that is not a setting, naming it and where it comes from', () => {
    expect(() => serviceConfig(containerEnv(withData({ FLUSH_INTERVAL: '5000' })))).toThrow(
      'not settings of the service: FLUSH_INTERVAL (ConfigMap sessionizer)',
    );
  });

  it('fail on a value or a combination the service refuses', () => {
    expect(() => serviceConfig(containerEnv(withData({ FLUSH_INTERVAL_MS: '5s' })))).toThrow(/FLUSH_INTERVAL_MS='5s': must be an integer/);
    expect(() => serviceConfig(containerEnv(withData({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })))).toThrow(
      /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required/,
    );
  });
});

describe('the image', () => {
  it('starts node directly on the bin script (no npx or npm between it and SIGTERM)', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(entrypoint, 'ENTRYPOINT in exec (JSON) form').toBeDefined();
    const argv = JSON.parse(entrypoint ?? '[]') as string[];
    expect(argv).toEqual(['node', 'services/sessionizer/bin/sessionizer.mjs']);
    expect(JSON.parse(readFileSync(join(REPO_ROOT, 'services/sessionizer/package.json'), 'utf8'))).toMatchObject({
      bin: { sessionizer: './bin/sessionizer.mjs' },
    });
    expect(dockerfile).not.toMatch(/^(ENTRYPOINT|CMD).*\bnp[mx]\b/m);
  });

  it("sizes V8's heap itself, so that the container's memory limit does not shrink it (what the benches measure is what runs)", () => {
    // Without --max-old-space-size node derives the old generation from the cgroup's memory limit
    // (half of it), and below 2 GiB V8 also lowers its heap-growing factor (1.5 at 768 MiB):
    // inside the Deployment's 1.5 GiB the service did ~10x the mark-compacts for +35-50 % CPU
    // (BENCHMARKS.md, "A full GC after the flush, and the heap inside the Deployment's limit").
    const flags = deployedNodeOptions(REPO_ROOT).split(/\s+/);
    const value = (name: string): number | undefined => {
      const f = flags.find((x) => x.startsWith(`--${name}=`));
      return f === undefined ? undefined : Number(f.slice(name.length + 3));
    };
    expect(value('max-old-space-size'), 'NODE_OPTIONS --max-old-space-size in the Dockerfile').toBeGreaterThanOrEqual(2048);
    expect(value('max-semi-space-size')).toBe(64);
    // the limit inside which this heap was measured (bench:cpu/bench:memory --memory-limit 1536M): a
    // lower one was not
    for (const dir of KUSTOMIZATIONS) {
      const limits = obj(obj(container(build(join(K8S, dir)))['resources'], 'resources')['limits'], 'limits');
      const m = /^(\d+)(Mi|Gi)$/.exec(text(limits['memory']));
      expect(m, `${dir}: memory limit in Mi or Gi`).not.toBeNull();
      expect(Number(m?.[1]) * (m?.[2] === 'Gi' ? 1024 : 1), `${dir}: memory limit (MiB)`).toBeGreaterThanOrEqual(1536);
    }
  });
});

// ---- alerts and dashboard ----

const operations = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchors = new Set(
  [...operations.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) =>
    (m[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-'),
  ),
);

describe('docs/operations.md', () => {
  it('has every anchor that deploy/ and the document itself link to', () => {
    const files = readdirSync(join(REPO_ROOT, 'deploy'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const links = files.flatMap((f) =>
      [...readFileSync(join(f.parentPath, f.name), 'utf8').matchAll(/docs\/operations\.md#([\w-]+)/g)].map((m) => m[1] ?? ''),
    );
    links.push(...[...operations.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1] ?? ''));
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});

/** Metrics and labels a query reads must be the service's (or target labels). */
function ownMetricsOnly(q: Query): void {
  for (const s of q.use.selectors) expect(s.metric, q.where).toMatch(/^sessionizer_/);
  expect(q.use.selectors.length, q.where).toBeGreaterThan(0);
}

describe('deploy/prometheus/alerts.yaml', () => {
  const rules = alertRules();

  it('is a valid PrometheusRule with the five alerts', () => {
    new PrometheusRule(alertsDocument() as never).validate();
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'SessionizerDeadLetterRateHigh',
        'SessionizerLagGrowing',
        'SessionizerNoCommits',
        'SessionizerNotReady',
        'SessionizerWritesFailing',
      ].sort(),
    );
  });

  it.each(alertRules().map((r) => [r.alert, r] as const))(
    '%s has a severity, a summary and a runbook entry in docs/operations.md',
    (_, r) => {
      expect(['warning', 'critical']).toContain(r.labels?.['severity']);
      expect(r.annotations?.['summary']).toBeTruthy();
      const url = r.annotations?.['runbook_url'] ?? '';
      expect(url).toBe(`docs/operations.md#${r.alert.toLowerCase()}`);
      expect(anchors.has(r.alert.toLowerCase()), `docs/operations.md has a heading '${r.alert}'`).toBe(true);
      expect(r.for).toMatch(/^\d+m$/);
    },
  );

  it('reads only the service metrics', () => {
    for (const q of alertQueries()) ownMetricsOnly(q);
  });
});

describe('deploy/grafana/sessionizer.json', () => {
  const queries = dashboardQueries();

  it('has a title per panel and PromQL that reads only the service metrics, with the datasource variable', () => {
    const panels = dashboardPanels();
    for (const p of panels) expect(typeof p['title'] === 'string' && p['title'] !== '').toBe(true);
    for (const q of queries) ownMetricsOnly(q);
    for (const p of panels.filter((x) => x['type'] !== 'row')) expect(obj(p['datasource'], 'datasource')['uid']).toBe('${datasource}');
  });

  it('shows throughput, lag per partition, flush duration and rows, write retries, rejects by reason, dead letters, readiness, memory', () => {
    const reads = (metric: string, by?: string): boolean =>
      queries.some((q) => q.use.selectors.some((s) => s.metric === metric) && (by === undefined || q.use.groupingLabels.includes(by)));
    expect(reads('sessionizer_received_events_total')).toBe(true);
    expect(reads('sessionizer_consumer_lag_messages', 'partition')).toBe(true);
    expect(reads('sessionizer_flush_duration_seconds_bucket', 'le')).toBe(true);
    expect(reads('sessionizer_written_rows_total')).toBe(true);
    expect(reads('sessionizer_clickhouse_write_retries_total', 'code')).toBe(true);
    expect(reads('sessionizer_invalid_events_total', 'reason')).toBe(true);
    expect(reads('sessionizer_excluded_events_total', 'reason')).toBe(true);
    expect(reads('sessionizer_dead_lettered_events_total', 'reason')).toBe(true);
    expect(reads('sessionizer_ready')).toBe(true);
    expect(reads('sessionizer_process_resident_memory_bytes')).toBe(true);
  });

  it('groups only by labels the metrics have or Prometheus adds', () => {
    for (const q of queries) {
      for (const l of q.use.groupingLabels) {
        expect(TARGET_LABELS.has(l) || ['topic', 'partition', 'reason', 'code', 'outcome', 'le'].includes(l), `${q.where}: ${l}`).toBe(
          true,
        );
      }
    }
  });
});
