import { describe, expect, it } from 'vitest';
import { migrationSql } from './migrate.js';
import { PARTIAL_COLUMNS } from '../rows.js';
import { assertIdentifier, names, sessionsViewSql } from './ddl.js';

describe('schema DDL', () => {
  const single = migrationSql({ database: 'sessionizer' });
  const cluster = migrationSql({ database: 'analytics', cluster: 'events_cluster' });

  it('single node: plain engines, no ON CLUSTER, no Distributed', () => {
    const sql = single.join('\n');
    expect(sql).not.toContain('ON CLUSTER');
    expect(sql).not.toMatch(/Replicated|Distributed/);
    expect(sql).toContain('ENGINE = AggregatingMergeTree()');
    expect(sql).toContain('PARTITION BY toYYYYMM(session_start)');
    expect(sql).toContain('ORDER BY (team_id, session_start, session_id)');
    expect(sql).toContain('CREATE MATERIALIZED VIEW IF NOT EXISTS sessionizer.sessions_raw_mv TO sessionizer.sessions_raw AS');
    expect(sql).toContain('FROM sessionizer.session_partials_in\n');
  });

  it('cluster: every statement ON CLUSTER, Replicated engines with {shard}/{replica}', () => {
    for (const statement of cluster) expect(statement.split('\n')[0]).toContain(' ON CLUSTER events_cluster');
    const sql = cluster.join('\n');
    expect(sql).toContain("ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/sessions_raw', '{replica}')");
    expect(sql).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/schema_migrations', '{replica}', applied_at)",
    );
    expect(sql).not.toMatch(/ENGINE = AggregatingMergeTree\(/);
  });

  it('cluster: local tables behind Distributed tables sharded by a hash of session_id', () => {
    const sql = cluster.join('\n');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS analytics.session_partials_in_local ON CLUSTER events_cluster');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS analytics.sessions_raw_local ON CLUSTER events_cluster');
    expect(sql).toContain(
      'CREATE TABLE IF NOT EXISTS analytics.session_partials_in ON CLUSTER events_cluster AS analytics.session_partials_in_local\nENGINE = Distributed(events_cluster, analytics, session_partials_in_local, cityHash64(session_id))',
    );
    expect(sql).toContain('ENGINE = Distributed(events_cluster, analytics, sessions_raw_local, cityHash64(session_id))');
    // the materialized view works shard-locally: local input → local raw table
    expect(sql).toContain(
      'CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.sessions_raw_mv ON CLUSTER events_cluster TO analytics.sessions_raw_local AS',
    );
    expect(sql).toContain('FROM analytics.session_partials_in_local\n');
    // the view reads the Distributed table
    expect(sessionsViewSql({ database: 'analytics', cluster: 'events_cluster' })).toContain('FROM analytics.sessions_raw\n');
    // the sink inserts into the Distributed input table
    expect(names({ database: 'analytics', cluster: 'events_cluster' }).input).toBe('analytics.session_partials_in');
  });

  it('bakes the bounce thresholds into the view: global, and per team', () => {
    expect(sessionsViewSql({ database: 'd' })).toContain('session_duration >= 10)');
    expect(sessionsViewSql({ database: 'd', bounceThresholdSeconds: 30 })).toContain('session_duration >= 30)');
    expect(
      sessionsViewSql({
        database: 'd',
        bounceThresholdSeconds: 30,
        bounceThresholdSecondsByTeam: new Map([
          [7, 5],
          [2, 12.5],
        ]),
      }),
    ).toContain('session_duration >= transform(team_id, [2, 7], [toFloat64(12.5), toFloat64(5)], toFloat64(30)))');
    expect(() => sessionsViewSql({ database: 'd', bounceThresholdSeconds: -1 })).toThrow(/bounce threshold/);
    expect(() => sessionsViewSql({ database: 'd', bounceThresholdSecondsByTeam: new Map([[2, Number.NaN]]) })).toThrow(
      /bounce threshold of team 2/,
    );
  });

  it('the input table has the partial row columns, in order', () => {
    const input = single.find((s) => s.includes('session_partials_in (')) ?? '';
    const columns = [...input.matchAll(/^ {2}([a-z_0-9]+) /gm)].map((m) => m[1]);
    expect(columns).toEqual([...PARTIAL_COLUMNS]);
  });

  it('refuses names that are not identifiers (no SQL injection through config)', () => {
    expect(() => assertIdentifier('sessions; DROP TABLE x', 'database')).toThrow(
      /database 'sessions; DROP TABLE x' is not a valid identifier/,
    );
    expect(() => migrationSql({ database: 'ok', cluster: "c' OR 1" })).toThrow(/cluster/);
    expect(() => names({ database: '1abc' })).toThrow();
  });
});
