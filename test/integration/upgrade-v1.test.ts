/**
 * `sessionizer migrate` from schema 0001 on the real engine: a database written by the frozen
 * 0001 DDL and the 0001 row writer (test/support/v1-writer.ts) is carried over to 0002 while
 * more old partials arrive, then written on by the 0002 sink (late partials of migrated
 * sessions included) and compared with the oracle column by column: exactly for sessions that
 * began after the upgrade and for every column 0001 kept; with the documented old rule
 * (docs/operations.md) for the rest of a migrated session. And a crash at every step of the
 * upgrade, resumed, gives the same result.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  isPageLike,
  LOWER_TIER_AD_IDS,
  sessionKey,
  SESSION_COLUMNS,
  SessionBuffer,
  type Session,
  type SessionEvent,
} from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { ClickHouseSessionSink, migrate, MigrationError, type MigrationReport } from '@sessionizer/clickhouse';
import { upgradeFromV1, upgradeNames, UPGRADE_TO_0002 } from '@sessionizer/clickhouse/testing';
import { eventFor, uuidV7At } from '../support/arbitraries.js';
import { blankEvent } from '../support/events.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { readSessions } from '../support/sessions.js';
import { createV1Schema, insertV1Rows, v1Flushes, v1Rows, writeV1 } from '../support/v1-writer.js';

const DAY_MS = 86_400_000;
const SESSION_MS = Date.UTC(2026, 10, 26, 10, 0, 0);

/** Sessions in three months (three partitions), each with 1–perSession events. */
function generate(seed: number, sessions: number, perSession: number): SessionEvent[] {
  const rnd = fc.sample(fc.array(fc.nat(), { minLength: sessions * 2, maxLength: sessions * 2 }), { seed, numRuns: 1 })[0] ?? [];
  const pools = { teams: [1, 2, 3], sessions, uuids: perSession, timeSlots: 40 };
  const events: SessionEvent[] = [];
  for (let s = 0; s < sessions; s += 1) {
    const team = 1 + ((rnd[s] ?? 0) % 3);
    const n = 1 + ((rnd[sessions + s] ?? 0) % perSession);
    const shiftMs = (s % 3) * 40 * DAY_MS;
    for (let i = 0; i < n; i += 1) {
      const e = eventFor(team, s, i, pools);
      events.push({ ...e, sessionId: uuidV7At(SESSION_MS + s * 1_000 - shiftMs, s), timestamp: e.timestamp - shiftMs * 1_000 });
    }
  }
  return events;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  return fc.sample(fc.shuffledSubarray([...items], { minLength: items.length }), { seed, numRuns: 1 })[0] ?? [];
}

/** Write events with the 0002 sink: several flushes, every third written twice (a replay). */
async function write(sink: ClickHouseSessionSink, events: readonly SessionEvent[], flushes: number): Promise<void> {
  const size = Math.max(1, Math.ceil(events.length / flushes));
  for (let from = 0, i = 0; from < events.length; from += size, i += 1) {
    const buffer = new SessionBuffer();
    for (const e of events.slice(from, from + size)) buffer.add(e);
    const states = buffer.drain();
    await sink.write(states);
    if (i % 3 === 0) await sink.write(states);
  }
}

/** Columns 0001 kept exactly (or that derive only from them). */
const KEPT: readonly (keyof Session)[] = [
  'team_id',
  'session_id',
  'session_timestamp',
  'distinct_id',
  'start_timestamp',
  'end_timestamp',
  'session_duration',
  'pageview_count',
  'autocapture_count',
  'screen_count',
  'is_bounce',
];
const EXIT: readonly (keyof Session)[] = ['exit_current_url', 'exit_pathname', 'exit_hostname'];
/** Columns of the entry: the 0001 entry event is their candidate (with its key), besides later events. */
const ENTRY: readonly (keyof Session)[] = SESSION_COLUMNS.filter((c) => c.startsWith('entry_') || c === 'channel_type');

type Key = readonly (number | string)[];
function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number | string;
    const y = b[i] as number | string;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
/** The item with the smallest (sign 1) or largest (sign -1) key. */
function pick<T>(items: readonly T[], key: (t: T) => Key, sign: 1 | -1): T {
  let best = items[0] as T;
  for (const t of items) if (sign * compareKeys(key(t), key(best)) < 0) best = t;
  return best;
}

const stripped = (e: SessionEvent, distinctId: string): SessionEvent =>
  blankEvent({ uuid: e.uuid, event: e.event, teamId: e.teamId, distinctId, sessionId: e.sessionId, timestamp: e.timestamp });

/**
 * A migrated session as docs/operations.md says it is: the columns 0001 kept exactly; the entry
 * and exit columns with the entry (exit) event of each 0001 partial that reached the new table
 * as a candidate (its 0001 values only), besides the events written after the upgrade; the rest
 * from the events after the upgrade, with distinct_ids seeded with each such partial's latest
 * distinct_id, event_names with the counted names, and session_id_source 'client'.
 * `partials`: the events of each 0001 partial that reached the new table (the copy: the merged
 * session; the bridge: each partial written during the copy).
 */
function expectedMigrated(
  before: readonly SessionEvent[],
  partials: readonly (readonly SessionEvent[])[],
  after: readonly SessionEvent[],
): Session {
  const full = sessionize([...before, ...after])[0] as Session;
  const lastOf = (es: readonly SessionEvent[]): SessionEvent => pick(es, (e) => [e.timestamp, e.uuid], -1);
  const copies = new Map<string, SessionEvent>();
  const exits = new Map<string, SessionEvent>();
  for (const p of partials) {
    const last = lastOf(p);
    const entry = pick(p, (e) => [isPageLike(e.event) ? 0 : 1, e.timestamp, e.uuid], 1);
    const exit = pick(p, (e) => [isPageLike(e.event) ? 1 : 0, e.timestamp, e.uuid], -1);
    copies.set(entry.uuid, {
      ...stripped(entry, last.distinctId),
      currentUrl: entry.currentUrl,
      referringDomain: entry.referringDomain,
      utmSource: entry.utmSource,
      utmMedium: entry.utmMedium,
      utmCampaign: entry.utmCampaign,
      utmTerm: entry.utmTerm,
      utmContent: entry.utmContent,
      gclid: entry.gclid,
      gadSource: entry.gadSource,
      fbclid: entry.fbclid,
    });
    exits.set(exit.uuid, { ...stripped(exit, last.distinctId), currentUrl: exit.currentUrl });
  }
  // An event written again after the upgrade (a replay) is a candidate with all its values
  // anyway; but its entry-event state ties with the 0001 copy's on the key, and ClickHouse orders
  // the copy's NULL lower-tier ad ids first: the copy wins those.
  const not = (m: Map<string, SessionEvent>): SessionEvent[] => [...m.values()].filter((c) => !after.some((e) => e.uuid === c.uuid));
  const withoutAdIds = (e: SessionEvent): SessionEvent => {
    if (!copies.has(e.uuid) || e.props === undefined) return e;
    const props = Object.fromEntries(Object.entries(e.props).filter(([k]) => !(LOWER_TIER_AD_IDS as readonly string[]).includes(k)));
    return { ...e, props };
  };
  const withEntry = sessionize([...after.map(withoutAdIds), ...not(copies)])[0] as Session;
  const withExit = sessionize([...after, ...not(exits)])[0] as Session;
  const later = after.length === 0 ? undefined : (sessionize(after)[0] as Session);
  const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const counted = ['$pageview', '$autocapture', '$screen'].filter((name) => before.some((e) => e.event === name));
  const out: Record<string, unknown> = {};
  for (const c of SESSION_COLUMNS) {
    if (KEPT.includes(c)) out[c] = full[c];
    else if (ENTRY.includes(c)) out[c] = withEntry[c];
    else if (EXIT.includes(c)) out[c] = withExit[c];
    else if (c === 'distinct_ids') out[c] = sorted([...partials.map((p) => lastOf(p).distinctId), ...after.map((e) => e.distinctId)]);
    else if (c === 'event_names') out[c] = sorted([...counted, ...after.map((e) => e.event)]);
    else if (c === 'session_id_source') out[c] = 'client';
    else if (later !== undefined) out[c] = later[c];
    else out[c] = Array.isArray(full[c]) ? [] : c === 'num_uniq_urls' ? 0 : null;
  }
  return out as unknown as Session;
}

const groupBySession = (events: readonly SessionEvent[]): Map<string, SessionEvent[]> => {
  const m = new Map<string, SessionEvent[]>();
  for (const e of events) {
    const k = sessionKey(e.teamId, e.sessionId);
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return m;
};

/**
 * Compare with the oracle: sessions without 0001 events exactly, migrated ones as documented.
 * `reached`: the 0001 partials (as event lists, any sessions) that reached the new table.
 */
function expectAsDocumented(
  actual: readonly Session[],
  cutOver: readonly SessionEvent[],
  afterCutOver: readonly SessionEvent[],
  reached: readonly (readonly SessionEvent[])[],
): { migrated: number; late: number } {
  const all = sessionize([...cutOver, ...afterCutOver]);
  expect(actual.length).toBe(all.length);
  const before = groupBySession(cutOver);
  const partials = new Map<string, SessionEvent[][]>();
  for (const r of reached) {
    for (const [k, es] of groupBySession(r)) partials.set(k, [...(partials.get(k) ?? []), es]);
  }
  const after = groupBySession(afterCutOver);
  let migrated = 0;
  let late = 0;
  const expected = all.map((session) => {
    const k = sessionKey(session.team_id, session.session_id);
    const b = before.get(k);
    if (b === undefined) return session;
    migrated += 1;
    const a = after.get(k) ?? [];
    if (a.length > 0) late += 1;
    return expectedMigrated(b, partials.get(k) ?? [], a);
  });
  for (const column of SESSION_COLUMNS) {
    expect(
      actual.map((x) => x[column]),
      column,
    ).toEqual(expected.map((x) => x[column]));
  }
  return { migrated, late };
}

interface Scenario {
  readonly events: SessionEvent[];
  readonly before: SessionEvent[];
  readonly during: SessionEvent[];
  readonly after: SessionEvent[];
}

function scenario(seed: number, sessions: number): Scenario {
  const events = generate(seed, sessions, 10);
  const stream = shuffle([...events, ...shuffle(events, seed + 1).slice(0, Math.floor(events.length / 5))], seed + 2);
  const a = Math.floor(stream.length * 0.45);
  const b = Math.floor(stream.length * 0.7);
  return { events, before: stream.slice(0, a), during: stream.slice(a, b), after: stream.slice(b) };
}

async function v1Database(client: ClickHouseClient, database: string, events: readonly SessionEvent[]): Promise<void> {
  await createV1Schema(client, database);
  await writeV1(client, database, events, 7);
}

/** A client whose `command` fails once at call `at` (before running it when even, after when odd). */
function crashingClient(real: ClickHouseClient, at: number): { client: ClickHouseClient; crashed: () => boolean } {
  let calls = 0;
  let crashed = false;
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'command') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: Parameters<ClickHouseClient['command']>) => {
        const call = calls;
        calls += 1;
        if (!crashed && call === Math.floor(at / 2) && at % 2 === 0) {
          crashed = true;
          throw new Error(`injected crash before command ${call}`);
        }
        const result = await target.command(...args);
        if (!crashed && call === Math.floor(at / 2)) {
          crashed = true;
          throw new Error(`injected crash after command ${call}`);
        }
        return result;
      };
    },
  });
  return { client, crashed: () => crashed };
}

describe('sessionizer migrate from schema 0001 to 0002', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('upgrade_v1');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('keeps every session while old partials keep coming, then takes new and late partials; as documented against the oracle', async () => {
    const { client } = db.handle;
    const s = scenario(11, 240);
    await v1Database(client, db.database, s.before);
    // the service's own start refuses, and changes nothing
    await expect(migrate(client, { database: db.database })).rejects.toThrow(MigrationError);
    await expect(migrate(client, { database: db.database })).rejects.toThrow(/holds sessions in schema v1 .* Run `sessionizer migrate`/);

    const half = Math.floor(s.during.length / 2);
    const messages: string[] = [];
    const report: MigrationReport = await migrate(
      client,
      { database: db.database },
      {
        log: (m) => messages.push(m),
        upgradeV1: {
          // an old instance still writing: before the copy, and after it (then only the bridge carries them)
          afterBridge: async () => writeV1(client, db.database, s.during.slice(0, half), 3),
          afterCopy: async () => writeV1(client, db.database, s.during.slice(half), 3),
        },
      },
    );
    const cutOver = [...s.before, ...s.during];
    const atCutOver = sessionize(cutOver).length;
    const upgrade = report.upgrade;
    expect(report.applied).toEqual(['0002', '0003', '0004', 'R__sessions_view']);
    expect(upgrade?.sessionsBefore).toBe(atCutOver);
    expect(upgrade?.sessionsAfter).toBe(atCutOver);
    expect(upgrade?.copied.map((c) => c.partition)).toEqual(['202609', '202610', '202611']);
    expect(upgrade?.copied.reduce((sum, c) => sum + c.sessions, 0)).toBe(sessionize([...s.before, ...s.during.slice(0, half)]).length);
    expect(atCutOver).toBeGreaterThan(sessionize([...s.before, ...s.during.slice(0, half)]).length);
    console.log(`migrate:\n  ${messages.join('\n  ')}`);

    // an old instance still running after the cut-over cannot write: its 0001 row does not fit
    // the 0002 input table (bad data, not retried), so it commits nothing
    const first = s.after[0];
    if (first === undefined) throw new Error('empty scenario');
    await expect(insertV1Rows(client, db.database, v1Rows([first]))).rejects.toThrow();

    // the 0002 writer: new sessions and late partials of migrated ones
    const sink = new ClickHouseSessionSink(client, { schema: { database: db.database }, maxRowsPerInsert: 41 });
    await write(sink, s.after, 5);
    // what reached the new table: the copy (the sessions as merged when it ran), then the bridge (each partial after that)
    const reached = [
      [...s.before, ...s.during.slice(0, half)],
      ...v1Flushes(s.during.slice(0, half), 3),
      ...v1Flushes(s.during.slice(half), 3),
    ];
    const { migrated, late } = expectAsDocumented(await readSessions(client, db.database), cutOver, s.after, reached);
    console.log(
      `${s.events.length} events, ${sessionize(s.events).length} sessions: ${migrated} migrated ` +
        `(${upgrade?.rowsBefore ?? 0} rows → ${upgrade?.rowsAfter ?? 0}), ${late} of them got partials after the upgrade`,
    );
    expect(migrated).toBe(atCutOver);
    expect(late).toBeGreaterThan(20);

    // again: nothing to do
    const again = await migrate(client, { database: db.database }, { upgradeV1: true });
    expect(again.applied).toEqual([]);
    expect(again.upgrade).toBeUndefined();
    const direct = await upgradeFromV1(client, { database: db.database }, UPGRADE_TO_0002);
    expect(direct.steps).toEqual([`already upgraded; the 0001 data is kept as ${upgradeNames({ database: db.database }).backupLocal}`]);
  });

  it('stops before the swap when the new table does not hold exactly what 0001 held', async () => {
    const tamperDb = await testDatabase('upgrade_tamper');
    try {
      const { client } = tamperDb.handle;
      const s = scenario(5, 30);
      await v1Database(client, tamperDb.database, s.before);
      const prepared = await migrate(client, { database: tamperDb.database }, { upgradeV1: { phase: 'prepare' } });
      expect(prepared.upgrade?.sessionsAfter).toBe(prepared.upgrade?.sessionsBefore);
      // one session gets a distinct_id that 0001 never had (a later key)
      const u = upgradeNames({ database: tamperDb.database });
      await client.command({
        query: `INSERT INTO ${u.next} (team_id, session_start, session_id, min_ts, max_ts, distinct_id)
          SELECT team_id, session_start, session_id, min_ts, max_ts,
            (1, toDateTime64('2099-01-01 00:00:00', 6, 'UTC'), 'z', 'someone-else')
          FROM ${u.next} ORDER BY session_id LIMIT 1`,
      });
      await expect(migrate(client, { database: tamperDb.database }, { upgradeV1: true })).rejects.toThrow(
        /holds \d+ sessions, .* \d+, and their values differ: the cut-over stopped before changing anything/,
      );
      // nothing swapped: sessions_raw still holds 0001 states
      const rs = await client.query({
        query: `SELECT type FROM system.columns WHERE database = '${tamperDb.database}' AND table = 'sessions_raw' AND name = 'entry'`,
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ type: expect.stringMatching(/^AggregateFunction\(argMin/) as unknown }]);
    } finally {
      await tamperDb.drop();
    }
  });

  it('a crash before or after any statement of the upgrade, then a re-run, loses and doubles nothing', async () => {
    const s = scenario(23, 60);
    const cutOver = [...s.before, ...s.during];
    let points = 0;
    for (let at = 0; ; at += 1) {
      const crashDb = await testDatabase('upgrade_crash');
      try {
        const { client } = crashDb.handle;
        await v1Database(client, crashDb.database, cutOver);
        const crashing = crashingClient(client, at);
        let first: MigrationReport | undefined;
        try {
          first = await migrate(crashing.client, { database: crashDb.database }, { upgradeV1: true });
        } catch (err) {
          expect(String(err)).toMatch(/injected crash/);
        }
        if (!crashing.crashed()) {
          expect(first?.upgrade?.sessionsAfter).toBe(sessionize(cutOver).length);
          break;
        }
        const report = await migrate(client, { database: crashDb.database }, { upgradeV1: true });
        expect(report.applied.length + report.unchanged.length).toBe(4); // 0002, 0003, 0004, R__sessions_view
        expectAsDocumented(await readSessions(client, crashDb.database), cutOver, [], [cutOver]);
        points += 1;
      } finally {
        await crashDb.drop();
      }
    }
    console.log(`migrate resumed after a crash at each of ${points} points`);
    expect(points).toBeGreaterThan(15);
  }, 900_000);
});
