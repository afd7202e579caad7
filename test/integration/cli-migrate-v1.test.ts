/**
 * `sessionizer migrate` on a data directory written by schema 0001, as a user runs it: the
 * directory is written through the CLI (`sessionizer query` with the frozen 0001 DDL and 0001
 * rows), the service's commands refuse it, `migrate --prepare` copies, `migrate` cuts over and
 * says what it did, and the `sessions` view then has every session with what 0001 kept exactly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import {
  checksum,
  createDatabaseSql,
  createMigrationsTableSql,
  createPartialStateTablesV1Sql,
  V1_SCHEMA_VERSION,
} from '@sessionizer/clickhouse/testing';
import { eventFor } from '../support/arbitraries.js';
import { jsonLines, runCli } from '../support/cli.js';
import { v1Rows } from '../support/v1-writer.js';

const DB = 'analytics';
const sqlString = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

describe('sessionizer migrate on a schema-0001 data directory', () => {
  let dir: string;
  let dataDir: string;
  const events: SessionEvent[] = [];
  for (let s = 0; s < 40; s += 1)
    for (let i = 0; i < 1 + (s % 5); i += 1)
      events.push(eventFor(1 + (s % 2), s, i, { teams: [1, 2], sessions: 40, uuids: 5, timeSlots: 20 }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'migrate-cli-'));
    dataDir = join(dir, 'data');
    const ctx = { database: DB };
    const v1 = createPartialStateTablesV1Sql(ctx);
    const input = v1[0] ?? '';
    const structure = input
      .slice(input.indexOf('(') + 1, input.lastIndexOf(')'))
      .replace(/\s+/g, ' ')
      .trim();
    const rows = [...v1Rows(events.slice(0, 70)), ...v1Rows(events.slice(70))].map((r) => JSON.stringify(r)).join('\n');
    const statements = [
      createDatabaseSql(ctx),
      createMigrationsTableSql(ctx),
      ...v1,
      `INSERT INTO ${DB}.schema_migrations (version, name, checksum) VALUES ('${V1_SCHEMA_VERSION}', 'partial-state tables', '${checksum(v1)}')`,
      `INSERT INTO ${DB}.session_partials_in SELECT * FROM format(JSONCompactEachRow, ${sqlString(structure)}, ${sqlString(rows)})
       SETTINGS input_format_json_named_tuples_as_objects = 0`,
    ];
    for (const sql of statements) {
      const r = await runCli(['query', '--data-dir', dataDir, sql]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  }, 300_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to run the service on it, copies with --prepare, then cuts over and says what it did', async () => {
    const replay = await runCli(['replay', '-', '--data-dir', dataDir, '--database', DB], {}, '');
    expect(replay.code).not.toBe(0);
    expect(replay.stderr).toMatch(/schema v1 .*Run `sessionizer migrate`/);

    const prepare = await runCli(['migrate', '--prepare', '--data-dir', dataDir, '--database', DB]);
    expect(prepare.stderr).toContain('migrate: copy complete: 1 partition(s)');
    expect(prepare.code).toBe(0);
    const expected = sessionize(events);
    expect(prepare.stdout).toContain(`(sessions: ${expected.length} in 0001, ${expected.length} in the new table)`);

    const cut = await runCli(['migrate', '--data-dir', dataDir, '--database', DB]);
    console.log(`${cut.stderr}${cut.stdout}`);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toContain(`migrate: compared: each of the ${expected.length} sessions has the same values`);
    expect(cut.stdout).toContain(`(sessions: ${expected.length} in 0001, ${expected.length} in the new table)`);
    expect(cut.stdout).toContain('applied 0002, 0003, 0004, R__sessions_view');

    const q = await runCli([
      'query',
      '--data-dir',
      dataDir,
      '--database',
      DB,
      `SELECT team_id, toString(session_id) AS session_id, distinct_id, start_timestamp, end_timestamp, pageview_count, autocapture_count,
         screen_count, is_bounce FROM ${DB}.sessions ORDER BY team_id, session_id`,
    ]);
    expect(q.code).toBe(0);
    expect(jsonLines(q.stdout)).toEqual(
      expected.map((s) => ({
        team_id: s.team_id,
        session_id: s.session_id,
        distinct_id: s.distinct_id,
        start_timestamp: s.start_timestamp,
        end_timestamp: s.end_timestamp,
        pageview_count: s.pageview_count,
        autocapture_count: s.autocapture_count,
        screen_count: s.screen_count,
        is_bounce: s.is_bounce,
      })),
    );
    const again = await runCli(['migrate', '--data-dir', dataDir, '--database', DB]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to apply');
  });
});
