/**
 * The dashboard (deploy/grafana/sessionizer.json) and the alerts (deploy/prometheus/alerts.yaml)
 * query metrics that a running service exposes, with the labels they use. The service runs
 * in-process against the real broker and the embedded engine; it is fed valid, invalid and
 * excluded events, and its first ClickHouse write fails once (as an overloaded server would), so
 * that the labelled series exist: rejects and dead letters by reason, write retries by code,
 * flushes and commits by outcome, lag by topic and partition. Then /metrics is scraped and every
 * selector of every query is checked against it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { faults, faultyClient } from '../support/faults.js';
import { committedOffsets, createTopic, endOffsets, produce, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { alertQueries, dashboardQueries, TARGET_LABELS, type Query } from '../support/observability.js';
import { parseExposition, seriesOf, type Labels } from '../support/prometheus.js';
import { buildStream } from '../support/stream.js';

/** Prometheus text exposition: the series of each sample name, and the declared metric names. */
function exposition(text: string): { series: Map<string, Labels[]>; declared: Set<string> } {
  const { samples, declared } = parseExposition(text);
  return { series: seriesOf(samples), declared };
}

/** What is wrong with a query against this scrape (empty: nothing). */
function problems(q: Query, series: ReadonlyMap<string, Labels[]>): string[] {
  const out: string[] = [];
  const labelsOf = (metric: string): Set<string> => new Set((series.get(metric) ?? []).flatMap((s) => Object.keys(s)));
  for (const s of q.use.selectors) {
    const samples = series.get(s.metric);
    if (samples === undefined) {
      out.push(`${q.where}: no series ${s.metric}`);
      continue;
    }
    for (const m of s.matchers) {
      if (TARGET_LABELS.has(m.label)) continue;
      if (!labelsOf(s.metric).has(m.label)) out.push(`${q.where}: ${s.metric} has no label ${m.label}`);
      // a literal value (not a Grafana variable) must be one the service emits
      else if (m.op === '=' && !m.value.includes('$') && !samples.some((x) => x[m.label] === m.value)) {
        out.push(`${q.where}: no series ${s.metric}{${m.label}="${m.value}"}`);
      }
    }
  }
  const all = new Set(q.use.selectors.flatMap((s) => [...labelsOf(s.metric)]));
  for (const l of q.use.groupingLabels) {
    if (!TARGET_LABELS.has(l) && !all.has(l)) out.push(`${q.where}: groups by ${l}, which none of its metrics has`);
  }
  return out;
}

describe('the metrics the dashboard and the alerts query', () => {
  const kafka = testKafka();
  const log = createLogger('warn');
  let db: TestDatabase;
  let service: Service | undefined;
  let scrape = '';

  beforeAll(async () => {
    db = await testDatabase('observability');
    const topic = uniqueName('events');
    const group = uniqueName('group');
    const stream = buildStream({ seed: 16, sessions: 60, maxEventsPerSession: 6, invalid: 5, noSessionId: 3 });
    expect(stream.invalid.length).toBeGreaterThan(0);
    expect(stream.excluded.length).toBeGreaterThan(0);
    await createTopic(kafka, topic, 2);
    await produce(kafka, topic, stream.messages);
    const config = inProcessConfig(db.database, {
      topics: `${topic}:posthog-events`,
      'group-id': group,
      'dlq-topic': `${topic}_dlq`,
      'data-dir': '/nonexistent-unused',
      'flush-interval-ms': '300',
      'clickhouse-retry-max-delay-ms': '200',
      'token-teams': 'phc_test_team_1=1,phc_test_team_2=2,phc_test_team_3=3',
      'log-level': 'error',
    });
    const faulty = faultyClient(db.handle.client);
    service = await startInProcess(config, { log, clickhouse: { ...db.handle, client: faulty.client } });
    // The first write fails as an overloaded server's would (241 MEMORY_LIMIT_EXCEEDED, retriable).
    faulty.failNextInserts(1, faults.server(241, 'MEMORY_LIMIT_EXCEEDED'));
    await service.consumer.start();
    const ends = await endOffsets(kafka, topic);
    await waitFor('committed offsets at the end of every partition', async () => {
      const committed = await committedOffsets(kafka, group, topic);
      return [...ends].every(([p, end]) => committed.get(p) === end) ? true : undefined;
    });
    const url = service.http.url;
    await waitFor('the instance ready again after the retried write', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
    scrape = await (await fetch(`${url}/metrics`)).text();
  });
  afterAll(async () => {
    await service?.consumer.stop(10_000);
    await service?.close();
    await db.drop();
  });

  it('exist in /metrics with the labels and values the queries use', () => {
    const { series, declared } = exposition(scrape);
    expect(declared.size).toBeGreaterThan(20);
    // the scenario produced the labelled series it is meant to
    expect(series.get('sessionizer_clickhouse_write_retries_total')).toEqual([{ code: '241' }]);
    expect(series.get('sessionizer_excluded_events_total')?.length).toBeGreaterThan(0);
    expect(series.get('sessionizer_dead_lettered_events_total')?.length).toBeGreaterThan(0);

    const queries = [...dashboardQueries(), ...alertQueries()];
    expect(queries.length).toBeGreaterThan(30);
    expect(queries.flatMap((q) => problems(q, series))).toEqual([]);
  });

  it('the check finds a metric, a label or a value that is not there', () => {
    const { series } = exposition(scrape);
    const check = (selectors: Query['use']['selectors'], groupingLabels: string[] = []): string[] =>
      problems({ where: 'q', expr: '', use: { selectors, groupingLabels } }, series);
    expect(check([{ metric: 'sessionizer_flushes_seconds_total', matchers: [] }])).toEqual([
      'q: no series sessionizer_flushes_seconds_total',
    ]);
    expect(check([{ metric: 'sessionizer_flushes_total', matchers: [{ label: 'status', op: '=~', value: '.*' }] }])).toEqual([
      'q: sessionizer_flushes_total has no label status',
    ]);
    expect(check([{ metric: 'sessionizer_flushes_total', matchers: [{ label: 'outcome', op: '=', value: 'success' }] }])).toEqual([
      'q: no series sessionizer_flushes_total{outcome="success"}',
    ]);
    expect(check([{ metric: 'sessionizer_ready', matchers: [{ label: 'pod', op: '=~', value: '$pod' }] }], ['partition'])).toEqual([
      'q: groups by partition, which none of its metrics has',
    ]);
  });
});
