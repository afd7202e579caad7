import { describe, expect, it } from 'vitest';
import { copyPartitionSql, cutOverSql, fingerprintSql, prepareSql, upgradeNames } from './upgrade-v1.js';
import { UPGRADE_TO_0002 } from './upgrade-v1-target.js';
import { v1SessionsSql } from './v1-states.js';

const target = UPGRADE_TO_0002;

describe('upgrade from schema 0001: emitted SQL', () => {
  it('single node: plain engines, no ON CLUSTER; the bridge feeds the new table from the old input', () => {
    const sql = prepareSql({ database: 'd' }, target);
    expect(sql.join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed/);
    expect(sql[1]).toMatch(/^CREATE TABLE IF NOT EXISTS d\.sessions_raw_next \(\n {2}team_id Int64,\n/);
    expect(sql[1]).toContain('  entry_current_url SimpleAggregateFunction(min, Tuple(UInt8, UInt8, ');
    expect(sql[1]).toContain(') ENGINE = AggregatingMergeTree()');
    expect(sql[1]).toContain('PARTITION BY toYYYYMM(session_start)\nORDER BY (team_id, session_start, session_id)');
    expect(sql.at(-1)).toMatch(
      /^CREATE MATERIALIZED VIEW IF NOT EXISTS d\.sessions_raw_bridge_mv TO d\.sessions_raw_next AS\nSELECT\n {2}team_id,\n/,
    );
    expect(sql.at(-1)).toMatch(/\nFROM \(SELECT \*, distinct_id AS v1_distinct_id FROM d\.session_partials_in\)$/);
    const cut = cutOverSql({ database: 'd' });
    expect(cut.renameInput).toBe('RENAME TABLE d.session_partials_in TO d.session_partials_in_v1');
    expect(cut.drops).toEqual(['DROP VIEW IF EXISTS d.sessions_raw_mv SYNC', 'DROP VIEW IF EXISTS d.sessions_raw_bridge_mv SYNC']);
    expect(cut.exchange).toBe('EXCHANGE TABLES d.sessions_raw AND d.sessions_raw_next');
    expect(cut.backup).toBe('RENAME TABLE d.sessions_raw_next TO d.sessions_raw_v1');
    expect(cut.distributed).toEqual([]);
  });

  it('cluster: every statement ON CLUSTER on the _local tables, Replicated engines, the Distributed sessions_raw re-created', () => {
    const ctx = { database: 'a', cluster: 'c' };
    const sql = prepareSql(ctx, target);
    for (const statement of sql) expect(statement.split('\n')[0]).toContain(' ON CLUSTER c');
    expect(sql.join('\n')).toContain('CREATE TABLE IF NOT EXISTS a.sessions_raw_next_local ON CLUSTER c (\n  team_id Int64,');
    expect(sql.join('\n')).toContain(
      ") ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/a/sessions_raw_next_local', '{replica}')",
    );
    expect(sql.join('\n')).toContain(
      'CREATE TABLE IF NOT EXISTS a.sessions_raw_next ON CLUSTER c AS a.sessions_raw_next_local\nENGINE = Distributed(c, a, sessions_raw_next_local, cityHash64(session_id))',
    );
    expect(sql.at(-1)).toContain('TO a.sessions_raw_next_local AS\nSELECT\n  team_id,');
    expect(sql.at(-1)).toContain('FROM (SELECT *, distinct_id AS v1_distinct_id FROM a.session_partials_in_local)');
    const cut = cutOverSql(ctx);
    expect(cut.renameInput).toBe('RENAME TABLE a.session_partials_in_local TO a.session_partials_in_v1_local ON CLUSTER c');
    expect(cut.exchange).toBe('EXCHANGE TABLES a.sessions_raw_local AND a.sessions_raw_next_local ON CLUSTER c');
    expect(cut.backup).toBe('RENAME TABLE a.sessions_raw_next_local TO a.sessions_raw_v1_local ON CLUSTER c');
    for (const statement of [...cut.drops, ...cut.distributed]) expect(statement).toContain(' ON CLUSTER c');
    expect(cut.distributed.at(-1)).toBe(
      'CREATE TABLE IF NOT EXISTS a.sessions_raw ON CLUSTER c AS a.sessions_raw_local\nENGINE = Distributed(c, a, sessions_raw_local, cityHash64(session_id))',
    );
    // the copy reads and writes the Distributed tables
    const copy = copyPartitionSql(ctx, target, '202611');
    expect(copy).toMatch(/^INSERT INTO a\.sessions_raw_next\n/);
    expect(copy).toContain("FROM a.sessions_raw\n  WHERE _partition_id = '202611'");
    expect(upgradeNames(ctx).progress).toBe('a.schema_upgrade_v1');
  });

  it('fingerprints a per-session read without a join', () => {
    const sql = fingerprintSql(target.v1ComparableSql(v1SessionsSql({ source: 'd.sessions_raw' })));
    expect(sql).toMatch(/^SELECT count\(\) AS sessions, toString\(sum\(sipHash64\(toString\(tuple\(\*\)\)\)\)\) AS hash FROM /);
    expect(sql).toContain('finalizeAggregation(pageview_uuids) AS pageviews');
    expect(target.comparableSql('d.sessions_raw_next')).toContain('uniqExactArrayMerge(pageview_count) AS pageviews');
    expect(sql).not.toMatch(/JOIN/);
  });

  it('the copy stops on a state it cannot read exactly, and takes only partition ids', () => {
    const copy = copyPartitionSql({ database: 'd' }, target, '202611');
    expect(copy).toContain('throwIf(exact = 0,');
    expect(copy).toContain('throwIf(empty_states > 0,');
    expect(() => copyPartitionSql({ database: 'd' }, target, "1' OR 1")).toThrow(/partition id/);
  });
});
