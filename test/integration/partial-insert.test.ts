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
 * `enable_analyzer = 0`, so the view's SELECT runs under the old analyzer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
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
import { ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { INSERT_CALL_SETTINGS, names, PARTIAL_COLUMNS, toPartialRow } from '@sessionizer/clickhouse/testing';
import { recordingExec, testDatabase, type TestDatabase } from '../support/clickhouse.js';
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
// settings; the INSERT with `enable_analyzer = 0`), against the statement before it on a server's schema.
describe.each([{ embedded: false }, { embedded: true }])(
  'the sink’s INSERT gives the states and sessions of the statement before it (%o)',
  ({ embedded }) => {
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
      const sink = new ClickHouseSessionSink(recording, { schema: { database: now.database, embedded } });
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
  },
);
