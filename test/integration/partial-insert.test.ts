/**
 * The sink's INSERT of partial rows against the statement it replaced (before 2026-12-02: the same
 * JSONCompactEachRow rows without `optimize_on_insert = 0`), on the real (embedded) engine: the
 * same states, written both ways into two databases, give the same `sessions_raw` states (each
 * set's state compared as its elements: the engine's merge on insert only re-hashed them) and the
 * same `sessions`, before and after the parts are merged. The states include one with every
 * column at its default (absent candidates, NULL any-values and entry-event values, empty counts
 * and sets; a second partial of its session carries the few values the view requires) and one
 * with every column set. Twice: the sink as it writes to a server, and as it writes on the
 * embedded engine (schema with migration 0004's settings; the INSERT also with
 * `enable_analyzer = 0`, so the view's SELECT runs under the old analyzer, and the rows as
 * RowBinary; and once more with that statement's JSON rows).
 *
 * RowBinary on the embedded engine (rows.ts, row-binary.ts, client.ts): chDB's native raw insert
 * takes any bytes (the chDB version is pinned: a test fails on another one); the encoder's UUIDs
 * are the engine's; the encoder agrees with the table's own column types; generated states with
 * awkward strings, NULLs, empty arrays and huge counts and sets give the same states and sessions
 * as RowBinary and as JSONCompactEachRow (a property test); what each format does with a lone
 * UTF-16 surrogate; a failed RowBinary INSERT is classified and retried as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import {
  ANY,
  COUNTS,
  ENTRY_EVENT,
  KEYED,
  normalize,
  SETS,
  SessionBuffer,
  type EventKey,
  type ScalarProperty,
  type SessionEvent,
  type SessionState,
  type Value,
} from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { generate } from '@sessionizer/generator';
import { ClickHouseSessionSink, migrate, SinkError } from '@sessionizer/clickhouse';
import {
  chdbRawInsert,
  classify,
  INSERT_CALL_SETTINGS,
  names,
  PARTIAL_COLUMN_TYPES,
  PARTIAL_COLUMNS,
  PartialRowBinaryEncoder,
  parseChType,
  RowBinaryWriter,
  showChType,
  toPartialRow,
} from '@sessionizer/clickhouse/testing';
import { uuidV4Like, uuidV7At } from '../support/arbitraries.js';
import { recordingExec, testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { faults, faultyClient } from '../support/faults.js';
import { readSessions } from '../support/sessions.js';

/** The statement the sink sent until 2026-12-01 (rows.ts partialInsertSql before optimize_on_insert = 0). */
const OLD_INSERT = (table: string): string =>
  `INSERT INTO ${table} SETTINGS input_format_json_named_tuples_as_objects = 0, async_insert = 0 FORMAT JSONCompactEachRow`;

const SESSION = '01a1f866-0d00-78bf-8979-7023310fe484';
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1000; // microseconds
const key = (n: number, page: boolean): EventKey => ({
  page,
  ts: T0 + n * 1_000_000,
  uuid: `01a1f866-0d00-7${String(n).padStart(3, '0')}-8000-000000000000`,
});

/** Every column at its default: what a keyed candidate, an any-value or a set is when nothing was seen. */
function allDefault(): SessionState {
  return {
    teamId: 7,
    sessionId: SESSION,
    sessionStartMs: T0 / 1000,
    startTs: T0,
    endTs: T0,
    keyed: KEYED.map(() => null),
    entryEvent: { key: key(0, false), value: ENTRY_EVENT.map(() => null) },
    any: ANY.map(() => null),
    counts: COUNTS.map(() => []),
    sets: SETS.map(() => []),
  };
}

/**
 * A second partial of allDefault()'s session with the values the view cannot do without (it
 * declares distinct_id, session_id_source and the entry event's click-id flags non-NULL), every
 * other column at its default; its entry event (page-like) wins over allDefault()'s.
 */
function companion(): SessionState {
  const s = allDefault();
  return {
    ...s,
    keyed: KEYED.map((p) => (p.column === 'distinct_id' ? { key: key(1, false), value: 'user-1' } : null)),
    entryEvent: { key: key(2, true), value: ENTRY_EVENT.map((p) => (p.type === 'Bool' ? false : null)) },
    any: ANY.map((p) => (p.column === 'session_id_source' ? 'client' : null)),
  };
}

const valueOf = (p: ScalarProperty, n: number): Value =>
  p.type === 'Int64' ? 100 + n : p.type === 'Bool' ? n % 2 === 0 : `${p.column} value ${n} 'quoted' \\ é`;

/** Every column set, from several events, sets with several values in no particular order. */
function allSet(): SessionState {
  return {
    teamId: 8,
    sessionId: '01a1f866-0d00-7abc-8979-7023310fe484',
    sessionStartMs: T0 / 1000,
    startTs: T0,
    endTs: T0 + 40_000_000,
    keyed: KEYED.map((p, i) => ({ key: key(1 + (i % 5), i % 2 === 0), value: valueOf(p, i) })),
    entryEvent: { key: key(1, true), value: ENTRY_EVENT.map((p, i) => valueOf(p, i)) },
    any: ANY.map((p, i) => valueOf(p, i)),
    counts: COUNTS.map((_, i) => [key(1, true).uuid, key(2 + i, false).uuid, key(9, true).uuid]),
    sets: SETS.map((p, i) => [`z ${p.column}`, `a ${p.column}`, `m ${i}`, 'é', 'E']),
  };
}

function generatedStates(): { states: SessionState[]; events: SessionEvent[] } {
  const events = normalizeAll();
  const buffer = new SessionBuffer();
  for (const e of events) buffer.add(e);
  return { states: buffer.drain(), events };
}

function normalizeAll(): SessionEvent[] {
  const out: SessionEvent[] = [];
  for (const m of generate({ seed: 11, format: 'posthog-events', events: 3_000, activeSessions: 300 })) {
    const r = normalize('posthog-events', m.value);
    if (r.ok) out.push(r.event);
  }
  return out;
}

async function text(db: TestDatabase, query: string): Promise<string[]> {
  const rs = await db.handle.client.query({ query, format: 'TabSeparated' });
  return (await rs.text()).split('\n').sort();
}

/** sessions_raw as values: every state column, a set's state as its sorted elements. */
const rawAsValues = (database: string): string =>
  `SELECT * EXCEPT (max_inserted_at, ${SETS.map((p) => p.column).join(', ')}), ${SETS.map((p) => `arraySort(${p.column})`).join(', ')}
   FROM ${database}.sessions_raw`;

// `embedded`: the service's schema and statement on the embedded engine (migration 0004's table
// settings; the INSERT with `enable_analyzer = 0`; the rows as RowBinary through chDB's raw
// insert), against the statement before it on a server's schema. `format` JSONCompactEachRow: the
// embedded statement with the JSON rows (what the sink sent there before RowBinary).
describe.each([
  { embedded: false, format: undefined },
  { embedded: true, format: undefined },
  { embedded: true, format: 'JSONCompactEachRow' as const },
])('the sink’s INSERT gives the states and sessions of the statement before it (%o)', ({ embedded, format }) => {
  let before: TestDatabase;
  let now: TestDatabase;
  beforeAll(async () => {
    before = await testDatabase('insert_before');
    now = await testDatabase('insert_now');
    for (const db of [before, now]) {
      await migrate(db.handle.client, { database: db.database, embedded: db === now && embedded });
      // the parts as the inserts wrote them, until the test merges them
      await db.handle.client.command({ query: `SYSTEM STOP MERGES ${names({ database: db.database }).raw}` });
    }
  });
  afterAll(async () => {
    await before.drop();
    await now.drop();
  });

  it('every column at its default, every column set, and generated sessions (two flushes)', async () => {
    const { states, events } = generatedStates();
    const special = [allDefault(), allSet()];
    // the special rows are what they claim: all defaults, and nothing at a default
    const isDefault = (v: unknown): boolean =>
      v === null || (Array.isArray(v) && (v.length === 0 || (v.length === 2 && v[0] === 0 && v[1] === null)));
    const columns = (s: SessionState): [string, unknown][] => toPartialRow(s).map((v, i) => [PARTIAL_COLUMNS[i] as string, v]);
    const properties = ([c]: [string, unknown]): boolean =>
      !['team_id', 'session_id', 'min_ts', 'max_ts', 'events', 'entry_event'].includes(c);
    expect(
      columns(allDefault())
        .filter(properties)
        .filter(([, v]) => !isDefault(v)),
    ).toEqual([]);
    expect(columns(allDefault()).find(([c]) => c === 'entry_event')).toEqual(['entry_event', [0, ENTRY_EVENT.map(() => null)]]);
    expect(columns(allSet()).filter(([, v]) => isDefault(v) || (Array.isArray(v) && v.includes(null)))).toEqual([]);

    const half = Math.floor(states.length / 2);
    const flushes = [
      [...special, ...states.slice(0, half)],
      [companion(), ...states.slice(half)],
    ];
    const sent: string[] = [];
    const recording = recordingExec(now.handle.client, (params) => {
      sent.push(params.query);
    });
    const sink = new ClickHouseSessionSink(recording, {
      schema: { database: now.database, embedded },
      ...(format === undefined ? {} : { format }),
    });
    for (const flush of flushes) {
      await sink.write(flush);
      const r = await before.handle.client.exec({
        query: OLD_INSERT(names({ database: before.database }).input),
        values: Readable.from([flush.map((s) => JSON.stringify(toPartialRow(s))).join('\n') + '\n'], { objectMode: true }),
        clickhouse_settings: INSERT_CALL_SETTINGS,
      });
      r.stream.destroy();
    }

    expect(sent.length).toBeGreaterThan(0);
    for (const q of sent) expect(/\benable_analyzer = 0\b/.test(q)).toBe(embedded);
    for (const q of sent)
      expect(q).toMatch(embedded && format === undefined ? / FORMAT RowBinaryWithNamesAndTypes$/ : / FORMAT JSONCompactEachRow$/);

    const beforeRaw = await text(before, rawAsValues(before.database));
    expect(beforeRaw.length).toBe(states.length + special.length + 2);
    expect(await text(now, rawAsValues(now.database))).toEqual(beforeRaw);
    const sessions = await readSessions(now.handle.client, now.database);
    expect(sessions).toEqual(await readSessions(before.handle.client, before.database));
    // and the generated ones are the oracle's
    expect(sessions.filter((s) => !special.some((x) => x.sessionId === s.session_id))).toEqual(sessionize(events));

    for (const db of [before, now]) {
      await db.handle.client.command({ query: `SYSTEM START MERGES ${names({ database: db.database }).raw}` });
      await db.handle.client.command({ query: `OPTIMIZE TABLE ${names({ database: db.database }).raw} FINAL` });
    }
    expect(await text(now, rawAsValues(now.database))).toEqual(await text(before, rawAsValues(before.database)));
    expect(await readSessions(now.handle.client, now.database)).toEqual(sessions);
  });
});

/** sessions_raw and sessions as values, to compare two databases. */
async function contents(db: TestDatabase): Promise<{ raw: string[]; sessions: unknown[] }> {
  return { raw: await text(db, rawAsValues(db.database)), sessions: await readSessions(db.handle.client, db.database) };
}

async function rowBinaryBytes(db: TestDatabase, sql: string): Promise<Buffer> {
  const r = await db.handle.client.exec({ query: `${sql} FORMAT RowBinary` });
  const chunks: Buffer[] = [];
  for await (const c of r.stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('RowBinary partials on the embedded engine', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('rowbinary');
    await migrate(db.handle.client, { database: db.database, embedded: true });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('goes through chDB’s native raw insert, of the version package-lock.json pins, any bytes as they are', async () => {
    // client.ts reaches chDB's native addon through chDB's own loader (not a public entry point):
    // a chDB upgrade must re-verify that path, and this test says so.
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    expect(chdbRawInsert().version).toBe(lock.packages['node_modules/chdb']?.version);
    expect(chdbRawInsert().version).toBe('3.4.0');

    const table = `${db.database}.bytes`;
    await db.handle.client.command({ query: `CREATE TABLE ${table} (s String, n Nullable(Int64)) ENGINE = Memory` });
    const w = new RowBinaryWriter(16);
    // RowBinaryWithNamesAndTypes's header
    w.varint(2);
    for (const v of ['s', 'n', 'String', 'Nullable(Int64)']) w.string(v);
    // what a string literal or the INSERT's inline data could choke on; 10 = "\n" as a length byte
    const values = [
      '\u0000',
      'a\nb\r\n',
      '\n\n',
      '\n\nSELECT 1',
      "'); DROP TABLE x; --",
      '\\',
      "\\'",
      '\\N\t"',
      'é😀',
      'x'.repeat(200),
      '\n'.repeat(10),
    ];
    for (const v of values) {
      w.string(v);
      w.u8(1);
    }
    // and bytes that are no UTF-8 at all, and an Int64 with two 0x0a bytes
    w.varint(4);
    for (const b of [0xff, 0x00, 0x0a, 0x0a]) w.u8(b);
    w.u8(0);
    w.int64(0x0a0a);
    const r = await db.handle.client.exec({
      query: `INSERT INTO ${table} SETTINGS async_insert = 0 FORMAT RowBinaryWithNamesAndTypes`,
      values: Readable.from([w.copy(0, w.off)]),
      clickhouse_settings: INSERT_CALL_SETTINGS,
    });
    r.stream.destroy();
    const rows = await db.handle.client.query({ query: `SELECT hex(s) AS h, n FROM ${table}`, format: 'JSONEachRow' });
    expect(await rows.json()).toEqual([
      ...values.map((v) => ({ h: Buffer.from(v).toString('hex').toUpperCase(), n: null })),
      { h: 'FF000A0A', n: 0x0a0a },
    ]);
  });

  it('(why not `INSERT … FORMAT RowBinary` with the data after it: chDB ends such data at the first "\\n\\n")', async () => {
    // client.ts sends binary rows as a string literal through the `format` table function because
    // of this; should a chDB upgrade make this INSERT take the bytes, this test says so and the
    // simpler statement can be measured again.
    const table = `${db.database}.inline`;
    await db.handle.client.command({ query: `CREATE TABLE ${table} (s String) ENGINE = Memory` });
    const { native, Session } = chdbRawInsert();
    const session = new Session((db.handle.target.match(/ at (.*)$/) as RegExpMatchArray)[1] as string);
    try {
      const data = Buffer.from([4, 0x61, 0x0a, 0x0a, 0x62]);
      await expect(
        native.InsertRawAsyncConnection(session.connection, `INSERT INTO ${table} FORMAT RowBinary`, data, false),
      ).rejects.toThrow(/Cannot read all data/);
      // one newline at a time is fine
      await native.InsertRawAsyncConnection(
        session.connection,
        `INSERT INTO ${table} FORMAT RowBinary`,
        Buffer.from([3, 0x61, 0x0a, 0x62]),
        false,
      );
    } finally {
      session.close();
    }
    expect(await text(db, `SELECT hex(s) FROM ${table}`)).toEqual(['', '610A62']);
  });

  it('writes UUIDs the engine’s way (the high then the low UInt64, each little-endian)', async () => {
    for (const u of [
      '00112233-4455-6677-8899-aabbccddeeff',
      '01a1f866-0d00-78bf-8979-7023310fe484',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ]) {
      const w = new RowBinaryWriter(16);
      w.uuid(u);
      expect(w.copy(0, w.off).toString('hex')).toBe((await rowBinaryBytes(db, `SELECT toUUID('${u}')`)).toString('hex'));
    }
    const w = new RowBinaryWriter(16);
    w.int64(1_764_670_000_123_456);
    w.int64(-1);
    expect(w.copy(0, w.off)).toEqual(await rowBinaryBytes(db, `SELECT toDateTime64('2025-12-02 10:06:40.123456', 6, 'UTC'), toInt64(-1)`));
  });

  it('the encoder agrees with the table’s own columns and types (a column added to the catalog cannot drift)', async () => {
    const rs = await db.handle.client.query({
      query: `SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'session_partials_in' ORDER BY position`,
      query_params: { db: db.database },
      format: 'JSONEachRow',
    });
    const table = (await rs.json<{ name: string; type: string }>()).map((c) => [c.name, c.type] as const);
    expect(table.map(([c]) => c)).toEqual(PARTIAL_COLUMNS);
    expect(table.map(([c, t]) => [c, showChType(parseChType(t))])).toEqual(
      PARTIAL_COLUMN_TYPES.map(([c, t]) => [c, showChType(parseChType(t))]),
    );
    expect(new PartialRowBinaryEncoder(table).columns).toEqual(PARTIAL_COLUMNS);
  });

  it('a lone UTF-16 surrogate: JSON refuses the INSERT (code 25), RowBinary stores U+FFFD, as the service’s decoding does', async () => {
    const lone = '\ud800 lone \udfff';
    const state = { ...allSet(), sessionId: '01a1f866-0d00-7def-8979-7023310fe484' };
    state.sets = SETS.map(() => [lone]);
    const json = new ClickHouseSessionSink(db.handle.client, {
      schema: { database: db.database, embedded: true },
      format: 'JSONCompactEachRow',
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(json.write([state])).rejects.toMatchObject({ retriable: false, code: '25' });

    const other = await testDatabase('rowbinary_surrogate');
    try {
      await migrate(other.handle.client, { database: other.database, embedded: true });
      await new ClickHouseSessionSink(db.handle.client, { schema: { database: db.database, embedded: true } }).write([state, companion()]);
      const wellFormed = { ...state, sets: SETS.map(() => ['\ufffd lone \ufffd']) };
      await new ClickHouseSessionSink(other.handle.client, {
        schema: { database: other.database, embedded: true },
        format: 'JSONCompactEachRow',
      }).write([wellFormed, companion()]);
      expect(await contents(db)).toEqual(await contents(other));
      const rs = await db.handle.client.query({
        query: `SELECT hex(arrayJoin(${SETS[0]?.column})) AS h FROM ${db.database}.sessions_raw WHERE session_id = '${state.sessionId}'`,
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ h: Buffer.from('\ufffd lone \ufffd').toString('hex').toUpperCase() }]);
    } finally {
      await other.drop();
      await db.handle.client.command({ query: `TRUNCATE TABLE ${names({ database: db.database }).raw}` });
    }
  });

  it('in cluster mode too: the INSERT … SELECT keeps distributed_foreground_insert = 1, and the engine applies it', async () => {
    // as storage.test.ts's cluster-mode test: no cluster runs here; the schema names one, and the
    // insert goes to this single-node database's input table
    const sent: string[] = [];
    const sink = new ClickHouseSessionSink(
      recordingExec(db.handle.client, (params) => {
        sent.push(params.query);
      }),
      { schema: { database: db.database, cluster: 'analytics', embedded: true } },
    );
    expect(names({ database: db.database, cluster: 'analytics' }).input).toBe(names({ database: db.database }).input);
    const { states, events } = generatedStates();
    await sink.write(states);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/ SETTINGS .*\bdistributed_foreground_insert = 1\b.* FORMAT RowBinaryWithNamesAndTypes$/);
    expect(await readSessions(db.handle.client, db.database)).toEqual(sessionize(events));
    await db.handle.client.command({ query: `TRUNCATE TABLE ${names({ database: db.database }).raw}` });
  });

  it('a failed binary INSERT is classified and retried as before; a value it cannot encode is bad data', async () => {
    // the engine's own error for RowBinary it cannot read: not retriable, with its code
    const e = new PartialRowBinaryEncoder();
    e.header();
    e.encode(allSet());
    const truncated = await db.handle.client
      .exec({
        query: `INSERT INTO ${names({ database: db.database }).input} SETTINGS async_insert = 0 FORMAT RowBinaryWithNamesAndTypes`,
        values: Readable.from([e.writer.copy(0, e.writer.off - 3)]),
        clickhouse_settings: INSERT_CALL_SETTINGS,
      })
      .catch((err: unknown) => err);
    expect(classify(truncated, 'insert')).toMatchObject({ retriable: false, code: '32' }); // ATTEMPT_TO_READ_AFTER_EOF

    const states = [allSet(), companion(), allDefault()];
    const faulty = faultyClient(db.handle.client);
    const retries: (string | undefined)[] = [];
    const sink = new ClickHouseSessionSink(faulty.client, {
      schema: { database: db.database, embedded: true },
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2 },
      onRetry: (e) => retries.push(e.code),
    });
    faulty.failNextInserts(2, faults.connectionReset());
    expect(await sink.write(states)).toMatchObject({ attempts: 3, inserts: 1, rows: 3 });
    expect(retries).toEqual(['ECONNRESET', 'ECONNRESET']);
    faulty.failNextInserts(1, faults.server(117, 'INCORRECT_DATA'));
    await expect(sink.write(states)).rejects.toMatchObject({ retriable: false, code: '117' });
    faulty.failInsertsUntilHealed(faults.server(241, 'MEMORY_LIMIT_EXCEEDED'));
    await expect(sink.write(states)).rejects.toMatchObject({ retriable: true, code: '241' });
    faulty.heal();
    expect(await text(db, `SELECT count() FROM ${db.database}.sessions_raw`)).toEqual(['', '3']);

    // a session id that is not a UUID: the row cannot be encoded; nothing is sent
    const inserts = faulty.inserts();
    const broken = { ...allSet(), sessionId: 'not-a-uuid' };
    const err = await sink.write([allSet(), broken]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retriable: false, message: expect.stringContaining('session_id: "not-a-uuid" is not a UUID') as unknown });
    expect(faulty.inserts()).toBe(inserts);
    // the sink is fine afterwards
    await sink.write(states);
    expect(await text(db, `SELECT count() FROM ${db.database}.sessions_raw`)).toEqual(['', '6']);
    await db.handle.client.command({ query: `TRUNCATE TABLE ${names({ database: db.database }).raw}` });
  });
});

// ---------------------------------------------------------------------------------------------
// RowBinary against JSONCompactEachRow, generated states

/** Strings the encoders could get wrong: escapes, control bytes, multi-byte and astral characters, lengths around the varint steps. */
const awkward: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'a',
    'é',
    '😀',
    'a\nb',
    'tab\there',
    'back\\slash',
    'quote"s',
    "single'q",
    'nul\u0000byte',
    '\u2028\u2029',
    '\u0080\u07ff\u0800\uffff',
    '\\N',
  ),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'binary-ascii', minLength: 120, maxLength: 20_000 }),
);
const int64 = fc.oneof(fc.integer(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 32)));
const valueOfType = (p: ScalarProperty): fc.Arbitrary<Value> => (p.type === 'Int64' ? int64 : p.type === 'Bool' ? fc.boolean() : awkward);
const nullableValue = (p: ScalarProperty): fc.Arbitrary<Value> => fc.option(valueOfType(p), { nil: null });
/** Micros from 1950 (negative) to 2100. */
const micros = fc
  .integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2100, 0, 1) })
  .chain((ms) => fc.integer({ min: 0, max: 999 }).map((u) => ms * 1000 + u));

const stateArbitrary: fc.Arbitrary<SessionState> = fc
  .record({
    teamId: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    sessionMs: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
    sessionN: fc.integer({ min: 0, max: 2 ** 40 }),
    keys: fc.uniqueArray(fc.record({ page: fc.boolean(), ts: micros, n: fc.integer({ min: 0, max: 2 ** 40 }) }), {
      minLength: 1,
      maxLength: 8,
      selector: (k) => k.n,
    }),
    keyedPick: fc.array(fc.option(fc.nat(), { nil: null }), { minLength: KEYED.length, maxLength: KEYED.length }),
    keyed: fc.tuple(...KEYED.map((p) => (p.column === 'distinct_id' ? valueOfType(p) : nullableValue(p)))),
    entryPick: fc.nat(),
    // the view reads the entry event's flags as non-NULL (see companion())
    entry: fc.tuple(...ENTRY_EVENT.map((p) => (p.type === 'Bool' ? fc.boolean() : nullableValue(p)))),
    any: fc.tuple(...ANY.map((p) => (p.column === 'session_id_source' ? valueOfType(p) : nullableValue(p)))),
    counts: fc.tuple(
      ...COUNTS.map(() =>
        fc.oneof(
          fc.uniqueArray(fc.nat(), { maxLength: 10 }),
          fc.integer({ min: 0, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
        ),
      ),
    ),
    sets: fc.tuple(
      ...SETS.map(() =>
        fc.oneof(
          fc.uniqueArray(awkward, { maxLength: 12 }),
          fc.integer({ min: 0, max: 2_500 }).map((n) => Array.from({ length: n }, (_, i) => `value ${i} é`)),
        ),
      ),
    ),
    start: micros,
    length: fc.integer({ min: 0, max: 86_400_000_000 }),
  })
  .map((r): SessionState => {
    const keys: EventKey[] = r.keys.map((k) => ({
      page: k.page,
      ts: k.ts,
      uuid: uuidV7At(Math.floor(k.ts / 1000) < 0 ? 0 : Math.floor(k.ts / 1000), k.n),
    }));
    const keyAt = (i: number): EventKey => keys[i % keys.length] as EventKey;
    return {
      teamId: r.teamId,
      sessionId: uuidV7At(r.sessionMs, r.sessionN),
      sessionStartMs: r.sessionMs,
      startTs: r.start,
      endTs: r.start + r.length,
      keyed: KEYED.map((p, i) => {
        const pick = r.keyedPick[i] ?? null;
        const value = r.keyed[i] ?? null;
        return p.column === 'distinct_id'
          ? { key: keyAt(pick ?? 0), value }
          : pick === null || value === null
            ? null
            : { key: keyAt(pick), value };
      }),
      entryEvent: { key: keyAt(r.entryPick), value: r.entry },
      any: [...r.any],
      counts: r.counts.map((ns) => ns.map((n) => uuidV4Like(n))),
      sets: r.sets.map((v) => [...v]),
    };
  });

describe('RowBinary and JSONCompactEachRow rows of generated states give the same states and sessions', () => {
  let binary: TestDatabase;
  let json: TestDatabase;
  beforeAll(async () => {
    binary = await testDatabase('prop_rowbinary');
    json = await testDatabase('prop_json');
    for (const db of [binary, json]) await migrate(db.handle.client, { database: db.database, embedded: true });
  });
  afterAll(async () => {
    await binary.drop();
    await json.drop();
  });

  it('for any states (awkward strings, NULLs, empty arrays, huge counts and sets, extreme integers)', async () => {
    const rowBinarySink = new ClickHouseSessionSink(binary.handle.client, {
      schema: { database: binary.database, embedded: true },
      maxRowsPerInsert: 7,
    });
    const jsonSink = new ClickHouseSessionSink(json.handle.client, {
      schema: { database: json.database, embedded: true },
      format: 'JSONCompactEachRow',
    });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(stateArbitrary, { minLength: 1, maxLength: 25, selector: (s) => `${s.teamId}:${s.sessionId}` }),
        async (states) => {
          runs += 1;
          for (const db of [binary, json])
            await db.handle.client.command({ query: `TRUNCATE TABLE ${names({ database: db.database }).raw}` });
          const stats = await rowBinarySink.write(states);
          await jsonSink.write(states);
          expect(stats.inserts).toBe(Math.ceil(states.length / 7));
          const a = await contents(binary);
          expect(a.raw.filter((l) => l !== '')).toHaveLength(states.length);
          expect(a).toEqual(await contents(json));
        },
      ),
      { numRuns: 25, seed: 20261202 },
    );
    expect(runs).toBeGreaterThanOrEqual(25);
  });
});
