/**
 * ClickHouse storage against the real (embedded) engine: partial flushes in random order, with
 * duplicates and re-inserted partials, give exactly the oracle's sessions, column by column.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, SESSION_COLUMNS, SessionBuffer, VIEW_COLUMNS, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { ClickHouseSessionSink, migrate, MigrationError, SinkError, type Migration } from '@sessionizer/clickhouse';
import {
  COMMON_SETTINGS,
  EMBEDDED_RAW_TABLE_SETTINGS,
  createPartialStateTablesV1Sql,
  V1_SCHEMA_VERSION,
  MIGRATIONS,
  names,
  PARTIAL_COLUMNS,
} from '@sessionizer/clickhouse/testing';
import { eventFor } from '../support/arbitraries.js';
import { recordingExec, testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { faults, faultyClient } from '../support/faults.js';
import { readInsertedAt, readSessions } from '../support/sessions.js';

function generate(seed: number, sessions: number, perSession: number): SessionEvent[] {
  const rnd = fc.sample(fc.array(fc.nat(), { minLength: sessions * 3, maxLength: sessions * 3 }), { seed, numRuns: 1 })[0] ?? [];
  const events: SessionEvent[] = [];
  for (let s = 0; s < sessions; s += 1) {
    const team = 1 + ((rnd[s] ?? 0) % 3);
    const n = 1 + ((rnd[sessions + s] ?? 0) % perSession);
    for (let i = 0; i < n; i += 1) events.push(eventFor(team, s, i, { teams: [1, 2, 3], sessions, uuids: perSession, timeSlots: 40 }));
  }
  return events;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  return fc.sample(fc.shuffledSubarray([...items], { minLength: items.length }), { seed, numRuns: 1 })[0] ?? [];
}

describe('sessions in ClickHouse equal the oracle', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('storage');
    const report = await migrate(db.handle.client, { database: db.database });
    expect(report.applied).toEqual(MIGRATIONS.map((m) => m.version));
  });
  afterAll(async () => {
    await db.drop();
  });

  it('after many partial flushes in random order, with duplicates and re-inserted partials', async () => {
    const events = generate(42, 400, 12);
    const duplicates = shuffle(events, 1).slice(0, 500);
    const stream = shuffle([...events, ...duplicates], 2);
    const sink = new ClickHouseSessionSink(db.handle.client, { schema: { database: db.database }, maxRowsPerInsert: 97 });

    const writeStarted = Date.now();
    // 25 flushes of uneven size, like a consumer flushing by time
    const cuts = [...new Set(fc.sample(fc.integer({ min: 1, max: stream.length - 1 }), { seed: 3, numRuns: 24 }))].sort((a, b) => a - b);
    let from = 0;
    let inserts = 0;
    let replayed = 0;
    for (const [i, to] of [...cuts, stream.length].entries()) {
      const buffer = new SessionBuffer();
      for (const e of stream.slice(from, to)) buffer.add(e);
      const states = buffer.drain();
      const stats = await sink.write(states);
      inserts += stats.inserts;
      expect(stats.rows).toBe(states.length);
      if (i % 5 === 0) {
        // a crash between write and commit replays the same partials
        await sink.write(states);
        replayed += states.length;
      }
      from = to;
    }
    const expected = sessionize(events);
    const actual = await readSessions(db.handle.client, db.database);
    console.log(
      `${events.length} events (+${duplicates.length} duplicates) → ${cuts.length + 1} flushes, ${inserts} inserts, ` +
        `${replayed} partials re-inserted → ${actual.length} sessions (oracle ${expected.length})`,
    );
    expect(actual.map((s) => Object.keys(s))).toEqual(expected.map(() => [...SESSION_COLUMNS]));
    for (const column of SESSION_COLUMNS) {
      expect(
        actual.map((s) => s[column]),
        column,
      ).toEqual(expected.map((s) => s[column]));
    }
    expect(actual).toEqual(expected);
    // max_inserted_at, the one column the oracle cannot know: ClickHouse's clock during the writes
    // (same machine; a second of slack for the clocks' rounding)
    const insertedAt = await readInsertedAt(db.handle.client, db.database);
    expect(insertedAt).toHaveLength(expected.length);
    for (const ms of insertedAt) expect(ms >= writeStarted - 1_000 && ms <= Date.now() + 1_000, String(ms)).toBe(true);
    expect(new Set(expected.map((s) => s.channel_type)).size).toBeGreaterThan(3);
    // the new columns are exercised, not all empty
    expect(expected.some((s) => s.flag_keys.length > 0 && s.emails.length > 0 && s.entry_msclkid !== null)).toBe(true);
    expect(expected.some((s) => s.is_bounce === false) && expected.some((s) => s.hosts.length > 1)).toBe(true);
    expect(expected.some((s) => s.is_bounce === null) && expected.some((s) => s.is_bounce === true)).toBe(true);
  });

  it('the sink writes its values in the input table’s column order', async () => {
    const rs = await db.handle.client.query({
      query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = 'session_partials_in' ORDER BY position`,
      query_params: { db: db.database },
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ name: string }>()).map((c) => c.name)).toEqual([...PARTIAL_COLUMNS]);
  });

  it('per-team bounce thresholds: the view (re-created by migrate) equals the oracle with the same options', async () => {
    const events = generate(42, 400, 12);
    const options = {
      bounceThresholdSeconds: 3,
      bounceThresholdSecondsByTeam: new Map([
        [2, 0],
        [3, 60],
      ]),
    };
    const report = await migrate(db.handle.client, { database: db.database, ...options });
    expect(report.applied).toEqual(['R__sessions_view']);
    const actual = await readSessions(db.handle.client, db.database);
    expect(actual.map((s) => s.is_bounce)).toEqual(sessionize(events, options).map((s) => s.is_bounce));
    expect(actual.map((s) => s.is_bounce)).not.toEqual(sessionize(events).map((s) => s.is_bounce));
    await migrate(db.handle.client, { database: db.database });
  });

  it('is unchanged by OPTIMIZE FINAL (background merges keep the result)', async () => {
    const before = await readSessions(db.handle.client, db.database);
    await db.handle.client.command({ query: `OPTIMIZE TABLE ${names({ database: db.database }).raw} FINAL` });
    expect(await readSessions(db.handle.client, db.database)).toEqual(before);
  });
});

describe('migrations', () => {
  it('applying twice is a no-op', async () => {
    const db = await testDatabase('migrate');
    try {
      const first = await migrate(db.handle.client, { database: db.database });
      const second = await migrate(db.handle.client, { database: db.database });
      expect(first.applied).toEqual(['0002', '0003', '0004', 'R__sessions_view']);
      expect(second.applied).toEqual([]);
      expect(second.unchanged).toEqual(['0002', '0003', '0004', 'R__sessions_view']);
      const rs = await db.handle.client.query({
        query: `SELECT count() AS n FROM ${db.database}.schema_migrations`,
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ n: 4 }]);
    } finally {
      await db.drop();
    }
  });

  it('sets the merge-memory settings of sessions_raw on the embedded engine (0004) and leaves a server table alone', async () => {
    const settingsOf = async (database: string): Promise<string> => {
      const rs = await db.handle.client.query({
        query: `SELECT engine_full AS e FROM system.tables WHERE database = '${database}' AND name = 'sessions_raw'`,
        format: 'JSONEachRow',
      });
      return (await rs.json<{ e: string }>())[0]?.e ?? '';
    };
    const db = await testDatabase('mergemem');
    const server = `${db.database}_server`;
    try {
      const embedded = await migrate(db.handle.client, { database: db.database, embedded: true });
      expect(embedded.applied).toContain('0004');
      const e = await settingsOf(db.database);
      for (const [k, v] of EMBEDDED_RAW_TABLE_SETTINGS) expect(e).toContain(`${k} = ${v}`);
      // The same migration list on a server's database: 0004 is recorded but changes nothing.
      const onServer = await migrate(db.handle.client, { database: server });
      expect(onServer.applied).toContain('0004');
      const s = await settingsOf(server);
      for (const [k] of EMBEDDED_RAW_TABLE_SETTINGS) expect(s).not.toContain(k);
    } finally {
      await db.handle.client.command({ query: `DROP DATABASE IF EXISTS ${server}` });
      await db.drop();
    }
  });

  it('re-creates the view when its definition changes (repeatable) and refuses an edited versioned one', async () => {
    const db = await testDatabase('migrate');
    try {
      await migrate(db.handle.client, { database: db.database });
      const changed = await migrate(db.handle.client, { database: db.database, bounceThresholdSeconds: 30 });
      expect(changed.applied).toEqual(['R__sessions_view']);
      const rs = await db.handle.client.query({
        query: `SELECT create_table_query AS q FROM system.tables WHERE database = '${db.database}' AND name = 'sessions'`,
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ q: string }>();
      expect(row?.q).toContain('>= 30');

      const edited: Migration[] = MIGRATIONS.map((m) =>
        m.version === '0002' ? { ...m, statements: (ctx) => [...m.statements(ctx), 'SELECT 1'] } : m,
      );
      await expect(migrate(db.handle.client, { database: db.database }, { migrations: edited })).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await db.drop();
    }
  });
});

describe('schema versions', () => {
  it('the view has the catalog columns with the catalog types, in order', async () => {
    const db = await testDatabase('viewtypes');
    try {
      await migrate(db.handle.client, { database: db.database });
      const rs = await db.handle.client.query({
        query: `SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'sessions' ORDER BY position`,
        query_params: { db: db.database },
        format: 'JSONEachRow',
      });
      const expected = CATALOG.filter((p) => !(p.kind === 'scalar' && p.hidden === true)).map((p) => ({
        name: p.column,
        type: p.viewType,
      }));
      expect(await rs.json<{ name: string; type: string }>()).toEqual(expected);
      expect(expected.map((c) => c.name)).toEqual([...VIEW_COLUMNS]);
    } finally {
      await db.drop();
    }
  });

  it('refuses a database written by schema v1 and changes nothing (its data must be carried over first)', async () => {
    const db = await testDatabase('v1refused');
    try {
      const v1: Migration = {
        version: V1_SCHEMA_VERSION,
        name: 'partial-state tables',
        repeatable: false,
        statements: (ctx) => createPartialStateTablesV1Sql(ctx),
      };
      await migrate(db.handle.client, { database: db.database }, { migrations: [v1] });
      const tables = async (): Promise<string[]> => {
        const rs = await db.handle.client.query({
          query: `SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name`,
          query_params: { db: db.database },
          format: 'JSONEachRow',
        });
        return (await rs.json<{ name: string }>()).map((t) => t.name);
      };
      const before = await tables();
      expect(before).toEqual(['schema_migrations', 'session_partials_in', 'sessions_raw', 'sessions_raw_mv']);
      await expect(migrate(db.handle.client, { database: db.database })).rejects.toThrow(
        /schema v1 \(migration 0001\).*Nothing was changed/,
      );
      expect(await tables()).toEqual(before);
    } finally {
      await db.drop();
    }
  });
});

describe('the sink against a flaky ClickHouse (fault-injecting wrapper around the real client)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('sinkfaults');
    await migrate(db.handle.client, { database: db.database });
  });
  afterAll(async () => {
    await db.drop();
  });

  const states = (): ReturnType<SessionBuffer['drain']> => {
    const buffer = new SessionBuffer();
    for (const e of generate(7, 30, 5)) buffer.add(e);
    return buffer.drain();
  };

  it('retries transient failures with backoff, then lands every row once', async () => {
    const faulty = faultyClient(db.handle.client);
    const retries: { attempt: number; delay: number; code: string | undefined }[] = [];
    const sink = new ClickHouseSessionSink(faulty.client, {
      schema: { database: db.database },
      retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 40 },
      onRetry: (e, attempt, delay) => retries.push({ attempt, delay, code: e.code }),
    });
    faulty.failNextInserts(2, faults.connectionReset());
    const batch = states();
    const stats = await sink.write(batch);
    expect(stats.attempts).toBe(3);
    expect(faulty.inserts()).toBe(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(retries.every((r) => r.code === 'ECONNRESET' && r.delay >= 0 && r.delay <= 40)).toBe(true);

    faulty.failNextInserts(1, faults.server(241, 'MEMORY_LIMIT_EXCEEDED'));
    expect((await sink.write(batch)).attempts).toBe(2);

    const events = generate(7, 30, 5);
    expect(await readSessions(db.handle.client, db.database)).toEqual(sessionize(events));
  });

  it('does not retry bad data, and reports the ClickHouse code', async () => {
    const faulty = faultyClient(db.handle.client);
    const sink = new ClickHouseSessionSink(faulty.client, {
      schema: { database: db.database },
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 },
    });
    faulty.failNextInserts(1, faults.server(117, 'INCORRECT_DATA'));
    const err = await sink.write(states()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retriable: false, code: '117' });
    expect(faulty.inserts()).toBe(1);
  });

  it('gives up after maxAttempts of transient failures, as a retriable error', async () => {
    const faulty = faultyClient(db.handle.client);
    const sink = new ClickHouseSessionSink(faulty.client, {
      schema: { database: db.database },
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    faulty.failInsertsUntilHealed(faults.server(202, 'TOO_MANY_SIMULTANEOUS_QUERIES'));
    await expect(sink.write(states())).rejects.toMatchObject({ retriable: true, code: '202' });
    expect(faulty.inserts()).toBe(3);
  });

  it('stops retrying when aborted', async () => {
    const faulty = faultyClient(db.handle.client);
    const sink = new ClickHouseSessionSink(faulty.client, {
      schema: { database: db.database },
      retry: { maxAttempts: Infinity, initialDelayMs: 50, maxDelayMs: 50 },
    });
    faulty.failInsertsUntilHealed(faults.connectionReset());
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error('shutting down'));
    }, 120);
    await expect(sink.write(states(), controller.signal)).rejects.toThrow('shutting down');
  });

  it('sends its settings in the INSERT statement and cancels the client defaults per call', async () => {
    // chdb/connection turns per-call settings into SET statements in front of the inlined rows,
    // which costs time in proportion to the body (BENCHMARKS.md, bench:flush); the statement
    // carries what the insert needs instead, async_insert = 0 above all (rows in the table when
    // the write resolves), and optimize_on_insert = 0 (BENCHMARKS.md, freshness).
    const seen: { query: string; settings: Record<string, unknown> | undefined }[] = [];
    const recording = recordingExec(db.handle.client, (params) => {
      seen.push({ query: params.query, settings: params.clickhouse_settings });
    });
    const sink = new ClickHouseSessionSink(recording, { schema: { database: db.database } });
    await sink.write(states());
    expect(seen).toHaveLength(1);
    expect(seen[0]?.query).toMatch(/^INSERT INTO \S+ SETTINGS .*\basync_insert = 0\b.* FORMAT JSONCompactEachRow$/);
    // no aggregation of the block at insert time (a flush has one row per session; merges and
    // queries aggregate): the sessions read back are still exactly the oracle's
    expect(seen[0]?.query).toMatch(/\boptimize_on_insert = 0\b/);
    expect(Object.keys(seen[0]?.settings ?? {}).sort()).toEqual(Object.keys(COMMON_SETTINGS).sort());
    expect(Object.values(seen[0]?.settings ?? {}).every((v) => v === undefined)).toBe(true);
    expect(await readSessions(db.handle.client, db.database)).toEqual(sessionize(generate(7, 30, 5)));
  });

  it('in cluster mode its INSERT waits for the shards (distributed_foreground_insert = 1), and the engine accepts the setting', async () => {
    // Commit-after-write needs the rows on the shards when the INSERT returns; with the default
    // background forwarding of a Distributed table they would still be queued on one node's disk.
    // No cluster runs here: the schema context names one, the insert goes to this single-node
    // database's input table, so the engine parses and applies the setting for real.
    const seen: string[] = [];
    const recording = recordingExec(db.handle.client, (params) => {
      seen.push(params.query);
    });
    await db.handle.client.command({ query: `TRUNCATE TABLE ${names({ database: db.database }).raw}` });
    const clustered = new ClickHouseSessionSink(recording, { schema: { database: db.database, cluster: 'analytics' } });
    expect(names({ database: db.database, cluster: 'analytics' }).input).toBe(names({ database: db.database }).input);
    await clustered.write(states());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/ SETTINGS .*\bdistributed_foreground_insert = 1\b.* FORMAT JSONCompactEachRow$/);
    expect(await readSessions(db.handle.client, db.database)).toEqual(sessionize(generate(7, 30, 5)));

    const single: string[] = [];
    const plain = new ClickHouseSessionSink(
      recordingExec(db.handle.client, (params) => {
        single.push(params.query);
      }),
      { schema: { database: db.database } },
    );
    await plain.write(states());
    expect(single[0]).not.toContain('distributed_foreground_insert');
  });

  it('a real bad-data error from the engine is not retried', async () => {
    const sink = new ClickHouseSessionSink(db.handle.client, {
      schema: { database: db.database },
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 },
    });
    const [state] = states();
    if (state === undefined) throw new Error('no state');
    // a session id that is not a UUID cannot be parsed by ClickHouse
    const broken = { ...state, sessionId: 'not-a-uuid' };
    await expect(sink.write([broken])).rejects.toMatchObject({ retriable: false });
  });
});
