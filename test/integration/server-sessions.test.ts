/**
 * Server-side sessions through `replay` into the real engine: events without $session_id next to
 * client sessions give exactly the oracle's sessions, column by column, session_id_source
 * (the catalog's column) included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize, SESSION_COLUMNS, sessionize, type SessionEvent } from '@sessionizer/core';
import { ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { replay } from '../../services/sessionizer/src/commands/replay.js';
import { Progress } from '../../services/sessionizer/src/progress.js';
import { ServerSessionStage, serverSessionTeams } from '../../services/sessionizer/src/service/server-sessions.js';
import { jsonLines, runCli } from '../support/cli.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { serverTraffic, withOracleSessions } from '../support/server-sessions.js';
import { readSessions } from '../support/sessions.js';
import { buildStream, serialize } from '../support/stream.js';

describe('server-side sessions in ClickHouse equal the oracle', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('server_sessions');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('replay: client sessions untouched, server sessions assigned by the rule, every column as the oracle', async () => {
    await migrate(db.handle.client, { database: db.database });
    const client = buildStream({ seed: 14, sessions: 60, maxEventsPerSession: 8 });
    const server = serverTraffic(14, 40, 30);
    const serverLines = server.map((e) =>
      serialize(e, 'posthog-events', { $lib: 'posthog-node', utm_source: e.uuid.endsWith('1') ? 'crm' : null }),
    );
    const lines = [...client.messages.map((m) => m.value), ...serverLines];
    const normalizeOptions = { ...client.normalizeOptions, serverSessions: serverSessionTeams('all') };
    const stage = new ServerSessionStage({ idleMs: 30 * 60_000 });
    const summary = await replay({
      input: '-',
      stdin: Readable.from([Buffer.from(lines.join('\n'))]),
      format: 'posthog-events',
      normalize: normalizeOptions,
      serverSessions: stage,
      sink: new ClickHouseSessionSink(db.handle.client, { schema: { database: db.database }, maxRowsPerInsert: 101 }),
      // small flushes: the assignment does not depend on them
      policy: { intervalMs: 3_600_000, maxSessions: 37, maxBytes: 1 << 30 },
      rejectsPath: undefined,
      progress: new Progress(false, () => undefined),
    });
    expect(summary.rejected.no_session_id).toBe(0);

    const normalized = lines.flatMap((l) => {
      const r = normalize('posthog-events', l, normalizeOptions);
      return r.ok ? [r.event] : [];
    });
    const clientEvents = normalized.filter((e) => e.sessionIdSource !== 'server');
    const serverEvents: SessionEvent[] = normalized.filter((e) => e.sessionIdSource === 'server');
    expect(serverEvents).toHaveLength(server.length);
    const expected = sessionize([...clientEvents, ...withOracleSessions([serverEvents])]);
    const actual = await readSessions(db.handle.client, db.database);
    for (const column of SESSION_COLUMNS) {
      expect(
        actual.map((s) => s[column]),
        column,
      ).toEqual(expected.map((s) => s[column]));
    }
    const bySource = (source: string): number => actual.filter((s) => s.session_id_source === source).length;
    console.log(
      `${clientEvents.length} client events, ${serverEvents.length} server events → ${bySource('client')} client sessions, ` +
        `${bySource('server')} server sessions (rules ${JSON.stringify(stage.assigner('-', 0).counts)})`,
    );
    expect(bySource('server')).toBeGreaterThan(40);
    expect(stage.assigner('-', 0).counts.late).toBeGreaterThan(0);
  });
});

describe('sessionizer replay --server-sessions', () => {
  it('assigns server sessions only for the listed teams, the same ids on a second replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'serversessions-cli-'));
    try {
      const events = serverTraffic(7, 6, 12);
      const input = events.map((e) => serialize(e, 'posthog-events', { $lib: 'posthog-python' })).join('\n');
      const dataDir = join(dir, 'data');
      const first = await runCli(
        ['replay', '-', '--format', 'posthog-events', '--data-dir', dataDir, '--server-sessions', '1', '--json'],
        {},
        input,
      );
      expect(first.code).toBe(0);
      const summary = JSON.parse(first.stdout) as { accepted: number; rejected: Record<string, number> };
      const team1 = events.filter((e) => e.teamId === 1);
      expect(summary.accepted).toBe(team1.length);
      expect(summary.rejected['no_session_id']).toBe(events.length - team1.length);
      const query = [
        'query',
        'SELECT team_id, toString(session_id) AS id, session_id_source FROM sessions ORDER BY id',
        '--data-dir',
        dataDir,
      ];
      const rows = jsonLines<{ team_id: number; id: string; session_id_source: string }>((await runCli(query)).stdout);
      const normalized = team1.map((e) => ({ ...e, sessionIdSource: 'server' as const }));
      const expectedIds = [...new Set(withOracleSessions([normalized]).map((e) => e.sessionId))].sort();
      expect(rows.map((r) => r.id)).toEqual(expectedIds);
      expect(new Set(rows.map((r) => `${r.team_id}/${r.session_id_source}`))).toEqual(new Set(['1/server']));
      // replayed again: the same ids, nothing doubled
      expect(
        (await runCli(['replay', '-', '--format', 'posthog-events', '--data-dir', dataDir, '--server-sessions', '1'], {}, input)).code,
      ).toBe(0);
      expect(jsonLines((await runCli(query)).stdout)).toEqual(rows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
