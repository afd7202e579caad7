/**
 * The PromQL of deploy/grafana/sessionizer.json and deploy/prometheus/alerts.yaml, read once for
 * the unit checks (test/repo/deploy.test.ts) and for the check against a running service's
 * /metrics (test/integration/observability.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './cli.js';
import { isObject, text, type Json, type JsonObject } from './kustomize.js';
import { analyze, analyzeLabelValues, type PromqlUse } from './promql.js';

const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/sessionizer.json');
const ALERTS = join(REPO_ROOT, 'deploy/prometheus/alerts.yaml');

export interface Query {
  /** Where it is: "dashboard panel 'Title'", "alert SessionizerNotReady", … */
  readonly where: string;
  readonly expr: string;
  readonly use: PromqlUse;
}

/**
 * Labels that the Prometheus operator puts on every series it scrapes through the ServiceMonitor
 * (target labels): queries may use them although /metrics does not carry them.
 */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['namespace', 'pod', 'service', 'endpoint', 'container', 'job', 'instance']);

export function dashboard(): JsonObject {
  const value = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Json;
  if (!isObject(value)) throw new Error(`${DASHBOARD}: not an object`);
  return value;
}

function panelsOf(d: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  const walk = (panels: Json | undefined): void => {
    if (!Array.isArray(panels)) return;
    for (const p of panels) {
      if (!isObject(p)) continue;
      out.push(p);
      walk(p['panels']); // collapsed rows hold their panels
    }
  };
  walk(d['panels']);
  return out;
}

export function dashboardPanels(): JsonObject[] {
  return panelsOf(dashboard());
}

export function dashboardQueries(): Query[] {
  const d = dashboard();
  const out: Query[] = [];
  for (const p of panelsOf(d)) {
    const targets = p['targets'];
    if (!Array.isArray(targets)) continue;
    for (const t of targets) {
      if (!isObject(t) || typeof t['expr'] !== 'string') continue;
      out.push({ where: `dashboard panel '${text(p['title'])}'`, expr: t['expr'], use: analyze(t['expr']) });
    }
  }
  const templating = d['templating'];
  const variables = isObject(templating) && Array.isArray(templating['list']) ? templating['list'] : [];
  for (const v of variables) {
    if (!isObject(v) || v['type'] !== 'query') continue;
    const q = v['query'];
    const expr = isObject(q) && typeof q['query'] === 'string' ? q['query'] : typeof q === 'string' ? q : undefined;
    if (expr === undefined) throw new Error(`dashboard variable ${text(v['name'])}: no query`);
    out.push({ where: `dashboard variable $${text(v['name'])}`, expr, use: analyzeLabelValues(expr) });
  }
  return out;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function alertsDocument(): JsonObject {
  const value = parse(readFileSync(ALERTS, 'utf8')) as Json;
  if (!isObject(value)) throw new Error(`${ALERTS}: not a map`);
  return value;
}

export function alertRules(): AlertRule[] {
  const spec = alertsDocument()['spec'];
  const groups = isObject(spec) && Array.isArray(spec['groups']) ? spec['groups'] : [];
  const out: AlertRule[] = [];
  for (const g of groups) {
    const rules = isObject(g) && Array.isArray(g['rules']) ? g['rules'] : [];
    for (const r of rules) if (isObject(r) && typeof r['alert'] === 'string') out.push(r as unknown as AlertRule);
  }
  return out;
}

export function alertQueries(): Query[] {
  return alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr, use: analyze(r.expr) }));
}
