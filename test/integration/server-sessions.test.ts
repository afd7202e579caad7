/**
 * Server-side sessions through `replay` into the real engine: events without $session_id next to
 * client sessions give exactly the oracle's sessions, column by column, session_id_source
 * (the catalog's column) included; the state store's version filter; a database at the catalog
 * schema gets the state table and keeps its sessions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize, serverSessionKey, SESSION_COLUMNS, SessionBuffer, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { ClickHouseServerSessionStore, ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { MIGRATIONS } from '@sessionizer/clickhouse/testing';
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

  it('the state store: a key reads back as its row with the greatest version ≤ the given offset', async () => {
    const store = new ClickHouseServerSessionStore(db.handle.client, { schema: { database: db.database } });
    const state = (sessionId: string, minutes: number) => ({
      sessionId,
      start: 1_764_579_600_000_000,
      last: 1_764_579_600_000_000 + minutes * 60_000_000,
    });
    const a = '019ad9a0-0000-7000-8000-00000000000a';
    const b = '019ad9a0-0000-7000-8000-00000000000b';
    const written = await store.write([
      { topic: 'events', partition: 3, version: '5', changes: [{ teamId: 1, distinctId: 'x', state: state(a, 1) }] },
      { topic: 'events', partition: 3, version: '10', changes: [{ teamId: 1, distinctId: 'x', state: state(b, 2) }] },
      // written twice for one version (a crash between write and commit): equal rows
      { topic: 'events', partition: 3, version: '10', changes: [{ teamId: 1, distinctId: 'x', state: state(b, 2) }] },
      { topic: 'events', partition: 4, version: '1', changes: [{ teamId: 1, distinctId: 'x', state: state(a, 9) }] },
      {
        topic: 'events',
        partition: 3,
        version: '1',
        changes: [
          { teamId: 2, distinctId: 'x', state: state(a, 7) },
          { teamId: 1, distinctId: "y'\\n", state: state(b, 3) },
        ],
      },
    ]);
    expect(written.rows).toBe(6);
    const keys = [
      { teamId: 1, distinctId: 'x' },
      { teamId: 1, distinctId: "y'\\n" },
    ];
    const at = async (version: string) =>
      (await store.load('events', 3, keys, version)).sort((p, q) => (p.distinctId < q.distinctId ? -1 : 1));
    expect(await at('0')).toEqual([]);
    expect(await at('7')).toEqual([
      { teamId: 1, distinctId: 'x', state: state(a, 1) },
      { teamId: 1, distinctId: "y'\\n", state: state(b, 3) },
    ]);
    expect((await at('10'))[0]).toEqual({ teamId: 1, distinctId: 'x', state: state(b, 2) });
    expect(await store.load('events', 3, [{ teamId: 2, distinctId: 'y' }], '10')).toEqual([]);
  });

  it('the state store: storedKeys holds every key with a row of the partition, whatever its version', async () => {
    const store = new ClickHouseServerSessionStore(db.handle.client, { schema: { database: db.database } });
    const state = { sessionId: '019ad9a0-0000-7000-8000-00000000000c', start: 1_764_579_600_000_000, last: 1_764_579_600_000_000 };
    const empty = await store.storedKeys('filtered', 0);
    expect(empty.added).toBe(0);
    const ids = Array.from({ length: 3_000 }, (_, i) => `0f0e0d0c-0b0a-4000-9000-${String(i).padStart(12, '0')}`);
    await store.write([
      { topic: 'filtered', partition: 0, version: '7', changes: ids.map((distinctId) => ({ teamId: 1, distinctId, state })) },
      // a newer version of some keys, and keys of other teams, partitions and topics
      { topic: 'filtered', partition: 0, version: '9', changes: ids.slice(0, 10).map((distinctId) => ({ teamId: 1, distinctId, state })) },
      { topic: 'filtered', partition: 0, version: '9', changes: [{ teamId: 2, distinctId: "q'\n", state }] },
      { topic: 'filtered', partition: 1, version: '1', changes: [{ teamId: 1, distinctId: 'other-partition', state }] },
      { topic: 'other', partition: 0, version: '1', changes: [{ teamId: 1, distinctId: 'other-topic', state }] },
    ]);
    const filter = await store.storedKeys('filtered', 0);
    expect(filter.added).toBe(3_001); // one per key, however many rows it has
    expect(filter.capacity).toBe(100_000);
    expect(ids.every((id) => filter.has(serverSessionKey(1, id)))).toBe(true);
    expect(filter.has(serverSessionKey(2, "q'\n"))).toBe(true);
    // not stored on this partition: absent (the filter is far below capacity, so no false positive among these)
    expect(['other-partition', 'other-topic', ids[0] ?? ''].map((id, i) => filter.has(serverSessionKey(i < 2 ? 1 : 2, id)))).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('a database at the catalog schema (0002) gets the state table (0003) and keeps its sessions', async () => {
    const old = await testDatabase('server_sessions_upgrade');
    try {
      const before = MIGRATIONS.filter((m) => m.version !== '0003');
      await migrate(old.handle.client, { database: old.database }, { migrations: before });
      const sink = new ClickHouseSessionSink(old.handle.client, { schema: { database: old.database } });
      const events = serverTraffic(3, 2, 4).map((e, i) => ({
        ...e,
        sessionId: `019ad9a0-0000-7000-8000-${String(i % 3).padStart(12, '0')}`,
      }));
      const buffer = new SessionBuffer();
      for (const e of events) buffer.add(e);
      await sink.write(buffer.drain());
      const sessions = await readSessions(old.handle.client, old.database);
      const report = await migrate(old.handle.client, { database: old.database });
      expect(report.applied).toEqual(['0003']);
      expect(await readSessions(old.handle.client, old.database)).toEqual(sessions);
      expect(sessions.length).toBeGreaterThan(0);
      expect(new Set(sessions.map((s) => s.session_id_source))).toEqual(new Set(['client']));
      const store = new ClickHouseServerSessionStore(old.handle.client, { schema: { database: old.database } });
      expect(await store.load('events', 0, [{ teamId: 1, distinctId: 'x' }], '10')).toEqual([]);
    } finally {
      await old.drop();
    }
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
