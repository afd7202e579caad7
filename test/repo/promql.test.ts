/** The PromQL reader the dashboard and alert tests rely on: what it finds, and what it refuses. */
import { describe, expect, it } from 'vitest';
import { analyze, analyzeLabelValues, PromqlError } from '../support/promql.js';

describe('analyze', () => {
  it('finds selectors with their matchers, skipping functions, aggregations, numbers and ranges', () => {
    const use = analyze(
      'histogram_quantile(0.99, sum by (le, namespace) (rate(sessionizer_flush_duration_seconds_bucket{namespace="$namespace", pod=~"$pod"}[$__rate_interval])))',
    );
    expect(use.selectors).toEqual([
      {
        metric: 'sessionizer_flush_duration_seconds_bucket',
        matchers: [
          { label: 'namespace', op: '=', value: '$namespace' },
          { label: 'pod', op: '=~', value: '$pod' },
        ],
      },
    ]);
    expect(use.groupingLabels).toEqual(['le', 'namespace']);
  });

  it('reads binary expressions, vector matching, offsets, subqueries and bare metric names', () => {
    const use = analyze(`
      sessionizer_uncommitted_partitions > 0
        and on (namespace, pod) (time() - sessionizer_last_commit_timestamp_seconds offset 1m) > 600
        or ignoring(code) group_left(topic) max_over_time(sessionizer_ready[10m:1m]) == bool 1
        unless {__name__="sessionizer_fetch_paused", pod!~'a.*'} # a comment
    `);
    expect(use.selectors.map((s) => s.metric)).toEqual([
      'sessionizer_uncommitted_partitions',
      'sessionizer_last_commit_timestamp_seconds',
      'sessionizer_ready',
      'sessionizer_fetch_paused',
    ]);
    expect(use.selectors[3]?.matchers).toEqual([{ label: 'pod', op: '!~', value: 'a.*' }]);
    expect([...use.groupingLabels].sort()).toEqual(['code', 'namespace', 'pod', 'topic']);
  });

  it('takes aggregation modifiers after the expression, and Grafana variables as values', () => {
    const use = analyze(
      'sum(rate(sessionizer_received_events_total{topic=~"${topic:regex}"}[$__interval])) without (instance) / $scale > [[limit]]',
    );
    expect(use.selectors).toEqual([
      { metric: 'sessionizer_received_events_total', matchers: [{ label: 'topic', op: '=~', value: '${topic:regex}' }] },
    ]);
    expect(use.groupingLabels).toEqual(['instance']);
  });

  it('refuses what it cannot read', () => {
    expect(() => analyze('sum(x{a="b"')).toThrow(PromqlError);
    expect(() => analyze('x{a}')).toThrow(/bad label matcher/);
    expect(() => analyze('{job="a"}')).toThrow(/without a metric name/);
    expect(() => analyze('rate(x[5m)')).toThrow(/unterminated/);
    expect(() => analyze('x ; y')).toThrow(/unexpected ';'/);
  });
});

describe('analyzeLabelValues', () => {
  it('reads label_values(selector, label)', () => {
    expect(analyzeLabelValues('label_values(sessionizer_ready{namespace="$namespace", job="x"}, pod)')).toEqual({
      selectors: [
        {
          metric: 'sessionizer_ready',
          matchers: [
            { label: 'namespace', op: '=', value: '$namespace' },
            { label: 'job', op: '=', value: 'x' },
          ],
        },
      ],
      groupingLabels: ['pod'],
    });
    expect(() => analyzeLabelValues('query_result(up)')).toThrow(PromqlError);
  });
});
