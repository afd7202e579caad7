/**
 * `upgradeFromV1` on the real engine: a database written by schema 0001 (its migrations and its
 * sink), upgraded to the new state layout while more old partials arrive, then written on with
 * the new layout (late partials of migrated sessions included), compared with the oracle column
 * by column; and a crash at every step of the upgrade, resumed, gives the same result.
 *
 * The new layout is the provisional one (test/support/provisional-v2.ts) until the catalog's
 * schema lands; the old-rule exceptions for migrated sessions therefore do not arise yet.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { SESSION_COLUMNS, SessionBuffer, sessionize, type Session, type SessionEvent } from '@sessionizer/core';
import { ClickHouseSessionSink, migrate, upgradeFromV1, upgradeNames, type UpgradeReport } from '@sessionizer/clickhouse';
import { eventFor, uuidV7At } from '../support/arbitraries.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { PROVISIONAL_V2, provisionalV2Sql } from '../support/provisional-v2.js';
import { readSessions } from '../support/sessions.js';

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

/** Write events as a consumer would: several flushes, some of them written twice (a replay). */
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

function expectOracle(actual: readonly Session[], events: readonly SessionEvent[]): void {
  const expected = sessionize(events);
  expect(actual.length).toBe(expected.length);
  for (const column of SESSION_COLUMNS) {
    expect(
      actual.map((s) => s[column]),
      column,
    ).toEqual(expected.map((s) => s[column]));
  }
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

async function writeV1(client: ClickHouseClient, database: string, events: readonly SessionEvent[]): Promise<ClickHouseSessionSink> {
  await migrate(client, { database });
  const sink = new ClickHouseSessionSink(client, { schema: { database }, maxRowsPerInsert: 53 });
  await write(sink, events, 7);
  return sink;
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

describe('upgrading a schema-0001 database to the new state layout', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('upgrade_v1');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('keeps every session while old partials keep coming, then takes new and late partials; equal to the oracle', async () => {
    const { client } = db.handle;
    const s = scenario(11, 240);
    const oldSink = await writeV1(client, db.database, s.before);
    expectOracle(await readSessions(client, db.database), s.before);

    const half = Math.floor(s.during.length / 2);
    const messages: string[] = [];
    const report = await upgradeFromV1(client, { database: db.database }, PROVISIONAL_V2, {
      log: (m) => messages.push(m),
      // an old instance still writing: before the copy, and after it (then only the bridge carries them)
      afterBridge: async () => write(oldSink, s.during.slice(0, half), 3),
      afterCopy: async () => write(oldSink, s.during.slice(half), 3),
    });
    const atCutOver = sessionize([...s.before, ...s.during]).length;
    expect(report.sessionsBefore).toBe(atCutOver);
    expect(report.sessionsAfter).toBe(atCutOver);
    expect(report.copied.map((c) => c.partition)).toEqual(['202609', '202610', '202611']);
    expect(report.copied.reduce((sum, c) => sum + c.sessions, 0)).toBe(sessionize([...s.before, ...s.during.slice(0, half)]).length);
    expect(atCutOver).toBeGreaterThan(sessionize([...s.before, ...s.during.slice(0, half)]).length);
    console.log(`upgrade: ${report.steps.join('; ')}`);

    // an old instance still running after the cut-over cannot write: its insert fails (UNKNOWN_TABLE,
    // not retried), so it commits nothing; its events are read again by the new release
    const probe = new SessionBuffer();
    const first = s.after[0];
    if (first === undefined) throw new Error('empty scenario');
    probe.add(first);
    const stuck = new ClickHouseSessionSink(client, {
      schema: { database: db.database },
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(stuck.write(probe.drain())).rejects.toMatchObject({ code: '60', retriable: false });

    // the new release's migrations, then the new writer: late partials of migrated sessions merge
    for (const query of provisionalV2Sql({ database: db.database })) await client.command({ query });
    const newSink = new ClickHouseSessionSink(client, { schema: { database: db.database }, maxRowsPerInsert: 41 });
    await write(newSink, s.after, 5);
    const all = await readSessions(client, db.database);
    expectOracle(all, s.events);
    const migrated = new Set(sessionize([...s.before, ...s.during]).map((x) => x.session_id));
    const late = new Set(s.after.filter((e) => migrated.has(e.sessionId)).map((e) => e.sessionId));
    console.log(
      `${s.events.length} events, ${all.length} sessions: ${atCutOver} migrated (${report.rowsBefore} rows → ${report.rowsAfter}), ` +
        `${late.size} of them got late partials after the cut-over`,
    );
    expect(late.size).toBeGreaterThan(20);

    // again: nothing to do
    const again = await upgradeFromV1(client, { database: db.database }, PROVISIONAL_V2);
    expect(again.steps).toEqual([`already upgraded; the 0001 data is kept as ${upgradeNames({ database: db.database }).backupLocal}`]);
  });

  it('stops before the swap when the new table does not hold exactly what 0001 held', async () => {
    const tamperDb = await testDatabase('upgrade_tamper');
    try {
      const { client } = tamperDb.handle;
      const s = scenario(5, 30);
      await writeV1(client, tamperDb.database, s.before);
      const prepared = await upgradeFromV1(client, { database: tamperDb.database }, PROVISIONAL_V2, { phase: 'prepare' });
      expect(prepared.sessionsAfter).toBe(prepared.sessionsBefore);
      // one session gets an exit that 0001 never had (a later key, another URL)
      const u = upgradeNames({ database: tamperDb.database });
      await client.command({
        query: `INSERT INTO ${u.next} SELECT team_id, session_start, session_id, min_ts, max_ts, last, entry,
          ((255, toDateTime64('2099-01-01 00:00:00', 6, 'UTC'), 'z'), ('https://elsewhere.test/', '/')) AS exit,
          pageview_uuids, autocapture_uuids, screen_uuids
        FROM ${u.next} ORDER BY session_id LIMIT 1`,
      });
      await expect(upgradeFromV1(client, { database: tamperDb.database }, PROVISIONAL_V2)).rejects.toThrow(
        /holds \d+ sessions, .* \d+, and their values differ: the cut-over stopped before changing anything/,
      );
      // nothing swapped: the 0001 view still answers, exactly
      expectOracle(await readSessions(client, tamperDb.database), s.before);
    } finally {
      await tamperDb.drop();
    }
  });

  it('a crash before or after any statement of the upgrade, then a re-run, loses and doubles nothing', async () => {
    const s = scenario(23, 60);
    const atCutOver = [...s.before, ...s.during];
    let points = 0;
    for (let at = 0; ; at += 1) {
      const crashDb = await testDatabase('upgrade_crash');
      try {
        const { client } = crashDb.handle;
        const oldSink = await writeV1(client, crashDb.database, s.before);
        await write(oldSink, s.during, 2);
        const crashing = crashingClient(client, at);
        let first: UpgradeReport | undefined;
        try {
          first = await upgradeFromV1(crashing.client, { database: crashDb.database }, PROVISIONAL_V2);
        } catch (err) {
          expect(String(err)).toMatch(/injected crash/);
        }
        if (!crashing.crashed()) {
          expect(first?.sessionsAfter).toBe(sessionize(atCutOver).length);
          break;
        }
        const report = await upgradeFromV1(client, { database: crashDb.database }, PROVISIONAL_V2);
        expect(report.steps.join('; ')).not.toMatch(/nothing to upgrade/);
        for (const query of provisionalV2Sql({ database: crashDb.database })) await client.command({ query });
        expectOracle(await readSessions(client, crashDb.database), atCutOver);
        points += 1;
      } finally {
        await crashDb.drop();
      }
    }
    console.log(`upgrade resumed after a crash at each of ${points} points`);
    expect(points).toBeGreaterThan(15);
  }, 600_000);
});
