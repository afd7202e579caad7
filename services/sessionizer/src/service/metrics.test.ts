/** The telemetry contract: names, one registry per instance, default metrics optional. */
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('registers the documented metric names', async () => {
    const m = new Metrics(false);
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).sort();
    expect(names).toEqual(
      [
        'sessionizer_received_events_total',
        'sessionizer_aggregated_events_total',
        'sessionizer_excluded_events_total',
        'sessionizer_invalid_events_total',
        'sessionizer_dead_lettered_events_total',
        'sessionizer_normalize_warnings_total',
        'sessionizer_flushes_total',
        'sessionizer_flush_duration_seconds',
        'sessionizer_written_rows_total',
        'sessionizer_written_bytes_total',
        'sessionizer_clickhouse_write_retries_total',
        'sessionizer_dead_letter_write_retries_total',
        'sessionizer_buffered_sessions',
        'sessionizer_buffered_bytes',
        'sessionizer_consumer_lag_messages',
        'sessionizer_offset_commits_total',
        'sessionizer_commit_duration_seconds',
        'sessionizer_last_commit_timestamp_seconds',
        'sessionizer_uncommitted_partitions',
        'sessionizer_fetch_paused',
        'sessionizer_ready',
        'sessionizer_server_session_events_total',
        'sessionizer_server_session_misrouted_events_total',
      ].sort(),
    );
  });

  it('instances do not share a registry (several services in one process)', async () => {
    const a = new Metrics(false);
    const b = new Metrics(false);
    a.aggregated.inc(5);
    expect((await b.aggregated.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    expect(await a.registry.metrics()).toContain('sessionizer_aggregated_events_total 5');
  });

  it('adds the default process metrics with the prefix unless told not to', async () => {
    const withDefaults = await new Metrics().registry.metrics();
    expect(withDefaults).toContain('sessionizer_process_cpu_user_seconds_total');
    expect(await new Metrics(false).registry.metrics()).not.toContain('process_cpu');
  });
});
