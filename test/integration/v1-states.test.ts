/**
 * The migration's hard part, on the real engine: reading schema 0001's argMin/argMax states back
 * as (key, value) in SQL (packages/clickhouse/src/schema/v1-states.ts). Partials go through the
 * real 0001 tables (session_partials_in → sessions_raw_mv → sessions_raw), split over several
 * inserts and sometimes merged on disk, and every session read back must equal what the
 * partials say: min/max of the keys, the value that goes with the winning key, the distinct
 * uuid counts, and every state must rebuild byte for byte.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V1_TYPES, v1SessionsSql } from '@sessionizer/clickhouse/testing';
import { createV1Schema, insertV1Rows } from '../support/v1-writer.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { uuidV7At } from '../support/arbitraries.js';

type Key3 = [rank: number, ts: string, uuid: string];
type Key2 = [ts: string, uuid: string];

const BASE_US = Date.UTC(2026, 10, 26, 10, 0, 0) * 1000;

/** DateTime64(6) text of a microsecond offset from BASE_US. */
function ts(offsetUs: number): string {
  const us = BASE_US + offsetUs;
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** ClickHouse compares String bytewise (UTF-8). */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
function compareKey(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : compareBytes(String(x), String(y));
    if (c !== 0) return c;
  }
  return 0;
}

// Strings as they get stressed: empty, NUL bytes, any Unicode (4-byte code points), long
// (String lengths are varints in the key: past 127 and 16383 bytes they take 2 and 3 bytes).
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u0000', 'a\u0000b', 'null', 'NULL') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 100, max: 20_000 }))
      .map(([s, n]) => (s + 'x').repeat(n).slice(0, n)),
  },
);
const nullableText = fc.option(text, { nil: null, freq: 3 });
const offset = fc.integer({ min: -5_000_000, max: 3_600_000_000 });
const rank = fc.constantFrom(0, 1, 255);
const uuidText = fc.oneof(fc.uuid(), text);
const uuids = fc.array(
  fc.integer({ min: 0, max: 40 }).map((n) => uuidV7At(1_764_151_200_000, n)),
  { maxLength: 6 },
);

const partial = fc.record({
  min: offset,
  span: fc.integer({ min: 0, max: 600_000_000 }),
  last: fc.tuple(offset.map(ts), uuidText),
  distinctId: text,
  entryKey: fc.tuple(rank, offset.map(ts), uuidText),
  entry: fc.array(nullableText, { minLength: 13, maxLength: 13 }),
  exitKey: fc.tuple(rank, offset.map(ts), uuidText),
  exit: fc.array(nullableText, { minLength: 2, maxLength: 2 }),
  pageviews: uuids,
  autocaptures: uuids,
  screens: uuids,
});
type Partial = typeof partial extends fc.Arbitrary<infer T> ? T : never;

const keysDistinct = (ps: readonly Partial[]): boolean =>
  [(p: Partial) => p.last, (p: Partial) => p.entryKey, (p: Partial) => p.exitKey].every(
    (k) => new Set(ps.map((p) => JSON.stringify(k(p)))).size === ps.length,
  );

/** Sessions (team, session number) with 1–4 partials whose keys never tie (a tie is the same event). */
const sessions = fc.uniqueArray(
  fc.record({
    team: fc.constantFrom(1, 2),
    n: fc.integer({ min: 1, max: 9 }),
    partials: fc.array(partial, { minLength: 1, maxLength: 4 }).filter(keysDistinct),
  }),
  { minLength: 1, maxLength: 6, selector: (s) => `${s.team}/${s.n}` },
);

function sessionId(n: number): string {
  return uuidV7At(1_764_151_200_000 + n * 1000, n);
}

function row(team: number, sid: string, p: Partial): unknown[] {
  return [
    team,
    sid,
    ts(p.min),
    ts(p.min + p.span),
    p.last,
    p.distinctId,
    p.entryKey,
    p.entry,
    p.exitKey,
    p.exit,
    p.pageviews,
    p.autocaptures,
    p.screens,
  ];
}

interface ReadBack {
  team_id: number;
  session_id: string;
  min_ts: string;
  max_ts: string;
  last_key: Key2;
  distinct_id: string;
  entry_key: Key3;
  entry: (string | null)[];
  exit_key: Key3;
  exit: (string | null)[];
  pageviews: number;
  autocaptures: number;
  screens: number;
  empty_states: number;
  exact: number;
}

function expected(team: number, sid: string, ps: readonly Partial[]): ReadBack {
  const pick = <T>(
    f: (p: Partial) => readonly (number | string)[],
    sign: 1 | -1,
    v: (p: Partial) => T,
  ): [readonly (number | string)[], T] => {
    let best = ps[0] as Partial;
    for (const p of ps) if (sign * compareKey(f(p), f(best)) < 0) best = p;
    return [f(best), v(best)];
  };
  const [lastKey, distinctId] = pick(
    (p) => p.last,
    -1,
    (p) => p.distinctId,
  );
  const [entryKey, entry] = pick(
    (p) => p.entryKey,
    1,
    (p) => p.entry,
  );
  const [exitKey, exit] = pick(
    (p) => p.exitKey,
    -1,
    (p) => p.exit,
  );
  const count = (f: (p: Partial) => string[]): number => new Set(ps.flatMap(f)).size;
  return {
    team_id: team,
    session_id: sid,
    min_ts: ts(Math.min(...ps.map((p) => p.min))),
    max_ts: ts(Math.max(...ps.map((p) => p.min + p.span))),
    last_key: lastKey as Key2,
    distinct_id: distinctId,
    entry_key: entryKey as Key3,
    entry,
    exit_key: exitKey as Key3,
    exit,
    pageviews: count((p) => p.pageviews),
    autocaptures: count((p) => p.autocaptures),
    screens: count((p) => p.screens),
    empty_states: 0,
    exact: 1,
  };
}

describe('reading schema 0001 states back as (key, value), on the engine', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('v1_states');
    await createV1Schema(db.handle.client, db.database);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function insert(rows: readonly unknown[][]): Promise<void> {
    await insertV1Rows(db.handle.client, db.database, rows);
  }

  async function readBack(): Promise<ReadBack[]> {
    const rs = await db.handle.client.query({
      query: `SELECT team_id, toString(session_id) AS session_id, toString(min_ts) AS min_ts, toString(max_ts) AS max_ts,
        tupleElement(last_key, 1) AS l1, tupleElement(last_key, 2) AS l2, distinct_id,
        entry_key,
        untuple(entry), exit_key, exit,
        finalizeAggregation(pageview_uuids) AS pageviews, finalizeAggregation(autocapture_uuids) AS autocaptures,
        finalizeAggregation(screen_uuids) AS screens,
        empty_states, exact
      FROM (${v1SessionsSql({ source: `${db.database}.sessions_raw` })})
      ORDER BY team_id, session_id
      SETTINGS output_format_json_named_tuples_as_objects = 0, output_format_json_quote_64bit_integers = 0`,
      format: 'JSONCompactEachRow',
    });
    const rows = await rs.json<unknown[]>();
    return rows.map((r) => {
      const [team, sid, minTs, maxTs, l1, l2, did, entryKey, ...rest] = r as [
        number,
        string,
        string,
        string,
        string,
        string,
        string,
        Key3,
        ...unknown[],
      ];
      const entry = rest.slice(0, 13) as (string | null)[];
      const [exitKey, exit, pageviews, autocaptures, screens, empty, exact] = rest.slice(13) as [
        Key3,
        (string | null)[],
        number,
        number,
        number,
        number,
        number,
      ];
      return {
        team_id: team,
        session_id: sid,
        min_ts: minTs,
        max_ts: maxTs,
        last_key: [l1, l2],
        distinct_id: did,
        entry_key: entryKey,
        entry,
        exit_key: exitKey,
        exit,
        pageviews,
        autocaptures,
        screens,
        empty_states: empty,
        exact,
      };
    });
  }

  it('the state layout it relies on: argMinState(v, k) = minState(v) ‖ minState(k)', async () => {
    const key = `CAST((1, toDateTime64('2026-11-26 10:00:00.123456', 6, 'UTC'), 'u') AS ${V1_TYPES.rankKey})`;
    const rs = await db.handle.client.query({
      query: `SELECT
        hex(CAST(argMinState('abc', ${key}) AS String)) AS string_value,
        hex(CAST(argMinState(CAST((NULL, 'x') AS ${V1_TYPES.exit}), ${key}) AS String)) AS tuple_value,
        hex(CAST(initializeAggregation('minState', ${key}) AS String)) AS key_alone`,
      format: 'JSONEachRow',
    });
    const [r] = await rs.json<{ string_value: string; tuple_value: string; key_alone: string }>();
    if (r === undefined) throw new Error('no row');
    // key: has-value 01, rank 01, ts as Int64 µs (little endian), uuid: varint length 01, 'u'
    const micros = Buffer.alloc(8);
    micros.writeBigInt64LE(BigInt(Date.UTC(2026, 10, 26, 10, 0, 0)) * 1000n + 123_456n);
    expect(r.key_alone).toBe('0101' + micros.toString('hex').toUpperCase() + '0175');
    // String value: Int32 size with the trailing NUL (4), 'abc', NUL; then the key
    expect(r.string_value).toBe('04000000' + '61626300' + r.key_alone);
    // Tuple value: has-value 01; Nullable: null flag 01 (NULL); null flag 00, varint 01, 'x'; then the key
    expect(r.tuple_value).toBe('01' + '01' + '000178' + r.key_alone);
  });

  it('any partials, split over inserts and merged or not, read back exactly (property, real engine)', async () => {
    let runs = 0;
    let partials = 0;
    await fc.assert(
      fc.asyncProperty(sessions, fc.integer({ min: 1, max: 3 }), fc.boolean(), async (ss, inserts, optimize) => {
        await db.handle.client.command({ query: `TRUNCATE TABLE ${db.database}.sessions_raw` });
        const all = ss.flatMap((s) => s.partials.map((p) => row(s.team, sessionId(s.n), p)));
        for (let i = 0; i < inserts; i++) await insert(all.filter((_, j) => j % inserts === i));
        if (optimize) await db.handle.client.command({ query: `OPTIMIZE TABLE ${db.database}.sessions_raw FINAL` });
        const want = ss
          .map((s) => expected(s.team, sessionId(s.n), s.partials))
          .sort((a, b) => a.team_id - b.team_id || compareBytes(a.session_id, b.session_id));
        expect(await readBack()).toEqual(want);
        runs += 1;
        partials += all.length;
      }),
      { numRuns: 40, endOnFailure: true },
    );
    console.log(`v1 states: ${runs} runs, ${partials} partials read back exactly`);
  });

  it('empty states (never written by the 0001 view) are flagged, and lose to any value when merged', async () => {
    const t = `${db.database}.sessions_raw`;
    await db.handle.client.command({ query: `TRUNCATE TABLE ${t}` });
    const empty = (fn: string, v: string, k: string): string =>
      `arrayReduce('${fn}State', CAST([] AS Array(${v})), CAST([] AS Array(${k})))`;
    const emptyRow = (n: number): string => `SELECT 1, UUIDv7ToDateTime(toUUID('${sessionId(n)}'), 'UTC'), toUUID('${sessionId(n)}'),
        toDateTime64('${ts(0)}', 6, 'UTC'), toDateTime64('${ts(0)}', 6, 'UTC'),
        ${empty('argMax', 'String', V1_TYPES.lastKey)}, ${empty('argMin', V1_TYPES.entry, V1_TYPES.rankKey)},
        ${empty('argMax', V1_TYPES.exit, V1_TYPES.rankKey)},
        arrayReduce('uniqExactArrayState', CAST([] AS Array(Array(UUID)))), arrayReduce('uniqExactArrayState', CAST([] AS Array(Array(UUID)))),
        arrayReduce('uniqExactArrayState', CAST([] AS Array(Array(UUID))))`;
    await db.handle.client.command({ query: `INSERT INTO ${t} ${emptyRow(1)}` });
    await db.handle.client.command({ query: `INSERT INTO ${t} ${emptyRow(2)}` });
    const p = fc.sample(
      partial.filter((x) => keysDistinct([x])),
      { numRuns: 1, seed: 7 },
    )[0] as Partial;
    await insert([row(1, sessionId(2), p)]);
    const back = await readBack();
    expect(back.map((r) => [r.session_id, r.empty_states, r.exact])).toEqual([
      [sessionId(1), 3, 1],
      [sessionId(2), 0, 1],
    ]);
    expect(back[1]).toEqual({ ...expected(1, sessionId(2), [p]), min_ts: ts(Math.min(0, p.min)), max_ts: ts(Math.max(0, p.min + p.span)) });
  });
});
