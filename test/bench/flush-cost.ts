/**
 * Where a flush's time goes, step by step, on the embedded engine (one process, nothing else
 * running in it): `npm run bench:flush -- [--events-per-flush N] [--active-sessions A] [--flushes K]`.
 *
 * Each flush is what the service writes after N events from A concurrently active sessions
 * (the pipeline benchmark's freshness phase runs at A = 17 × the event rate: ~200 000 at ~12k
 * events/s, so nearly every event touches a session of its own). For each flush it measures:
 *   serialise       toPartialRow + JSON.stringify of every partial (JavaScript, main thread);
 *   parse only      the rows into a Null table without the materialized view, three ways:
 *                   `client.exec` with the client's settings (chdb/connection sends each as a
 *                   `SET k = v;` statement before the INSERT and the inlined body: how the sink
 *                   inserted before), `client.exec` the way the sink does now (the settings in
 *                   the INSERT's SETTINGS clause, none per call), and chDB's raw-insert entry
 *                   (`connection.chdb.rawInsert`, payload passed beside the SQL);
 *   MV SELECT       the materialized view's SELECT over the same rows, output discarded;
 *   full insert     session_partials_in → MV → sessions_raw (AggregateFunction argMin/argMax
 *                   states of tuples, uniqExactArray states), before and now;
 *   candidate       INSERT … SELECT of the same rows into a candidate table in which argMin/argMax
 *                   become SimpleAggregateFunction(min/max, Tuple(key, value)) — the same result,
 *                   since every key carries the event uuid — checked equal to the real schema.
 * Prints a table and one JSON line, FLUSH-COST {…}. Nothing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { generate } from '@sessionizer/generator';
import { normalize, SessionBuffer } from '@sessionizer/core';
import { COMMON_SETTINGS, INSERT_CALL_SETTINGS, migrate, partialInsertSql, toPartialRow } from '@sessionizer/clickhouse';

const { values } = parseArgs({
  options: { 'events-per-flush': { type: 'string' }, 'active-sessions': { type: 'string' }, flushes: { type: 'string' } },
});
const PER_FLUSH = Number(values['events-per-flush'] ?? 60_000);
const ACTIVE = Number(values['active-sessions'] ?? 200_000);
const FLUSHES = Number(values.flushes ?? 3);

interface RawInsertResult {
  readonly elapsed: number;
}
interface ChdbExtension {
  rawInsert(params: { table: string; values: Buffer; format: string; settings: Record<string, number> }): Promise<RawInsertResult>;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-flush-'));
const connection = createChdbConnection({ path: dir });
const ext = (connection as unknown as { chdb: ChdbExtension }).chdb;
// The same client settings as the service (createClickHouse), plus a handle on the raw entry.
const client: ClickHouseClient = createClient({ clickhouse_settings: COMMON_SETTINGS, connection: connection as never });
const DB = 'flushcost';
await migrate(client, { database: DB });

const TS = "DateTime64(6, 'UTC')";
const KEY = `Tuple(rank UInt8, ts ${TS}, uuid String)`;
const S = 'Nullable(String)';
await client.command({ query: `CREATE TABLE ${DB}.parse_only AS ${DB}.session_partials_in ENGINE = Null` });
await client.command({ query: `CREATE TABLE ${DB}.staged AS ${DB}.session_partials_in ENGINE = Memory` });
await client.command({
  query: `CREATE TABLE ${DB}.candidate (
  team_id Int64, session_start DateTime64(3, 'UTC'), session_id UUID,
  min_ts SimpleAggregateFunction(min, ${TS}), max_ts SimpleAggregateFunction(max, ${TS}),
  last SimpleAggregateFunction(max, Tuple(Tuple(ts ${TS}, uuid String), String)),
  entry SimpleAggregateFunction(min, Tuple(${KEY}, Tuple(${Array.from({ length: 13 }, () => S).join(', ')}))),
  exit SimpleAggregateFunction(max, Tuple(${KEY}, Tuple(${S}, ${S}))),
  pageview_uuids AggregateFunction(uniqExactArray, Array(UUID)),
  autocapture_uuids AggregateFunction(uniqExactArray, Array(UUID)),
  screen_uuids AggregateFunction(uniqExactArray, Array(UUID))
) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(session_start) ORDER BY (team_id, session_start, session_id)`,
});
const MV_SELECT = `SELECT team_id, UUIDv7ToDateTime(session_id, 'UTC') AS session_start, session_id,
  min(min_ts), max(max_ts), argMaxState(distinct_id, last_key), argMinState(entry, entry_key), argMaxState(exit, exit_key),
  uniqExactArrayState(pageview_uuids), uniqExactArrayState(autocapture_uuids), uniqExactArrayState(screen_uuids)
FROM ${DB}.staged GROUP BY team_id, session_id`;
const CANDIDATE_SELECT = `SELECT team_id, UUIDv7ToDateTime(session_id, 'UTC'), session_id, min_ts, max_ts,
  (last_key, distinct_id), (entry_key, entry), (exit_key, exit),
  initializeAggregation('uniqExactArrayState', pageview_uuids), initializeAggregation('uniqExactArrayState', autocapture_uuids),
  initializeAggregation('uniqExactArrayState', screen_uuids)
FROM ${DB}.staged`;

/** The sink's insert before this measurement: its settings came from the client, as SETs. */
const insertBefore = (table: string): string =>
  `INSERT INTO ${table} SETTINGS input_format_json_named_tuples_as_objects = 0 FORMAT JSONCompactEachRow`;

async function exec(query: string, body?: string, asSinkNow = false): Promise<number> {
  const t = performance.now();
  const r = await client.exec({
    query,
    ...(body === undefined ? {} : { values: Readable.from([body], { objectMode: false }) }),
    ...(asSinkNow ? { clickhouse_settings: INSERT_CALL_SETTINGS } : {}),
  });
  r.stream.destroy();
  return performance.now() - t;
}

const steps: Record<string, number[]> = {
  'serialise (JS)': [],
  'parse only: settings as SETs (before)': [],
  'parse only: settings in the INSERT (sink now)': [],
  'parse only: chDB raw-insert entry': [],
  'MV SELECT alone': [],
  'full insert: settings as SETs (before)': [],
  'full insert: settings in the INSERT (sink now)': [],
  'INSERT…SELECT → sessions_raw': [],
  'INSERT…SELECT → candidate': [],
};
const push = (k: string, ms: number): void => {
  steps[k]?.push(ms);
};
const rows: number[] = [];
const bodyBytes: number[] = [];
const messages = generate({ seed: 7, format: 'posthog-events', events: PER_FLUSH * FLUSHES, activeSessions: ACTIVE });
for (let f = 0; f < FLUSHES; f += 1) {
  const buffer = new SessionBuffer();
  for (let i = 0; i < PER_FLUSH; i += 1) {
    const m = messages.next();
    if (m.done === true) break;
    const r = normalize('posthog-events', m.value.value);
    if (r.ok) buffer.add(r.event);
  }
  const states = buffer.drain();
  let t = performance.now();
  const body = states.map((s) => JSON.stringify(toPartialRow(s))).join('\n') + '\n';
  push('serialise (JS)', performance.now() - t);
  rows.push(states.length);
  bodyBytes.push(Buffer.byteLength(body));

  push('parse only: settings as SETs (before)', await exec(insertBefore(`${DB}.parse_only`), body));
  push('parse only: settings in the INSERT (sink now)', await exec(partialInsertSql(`${DB}.parse_only`), body, true));
  t = performance.now();
  await ext.rawInsert({
    table: `${DB}.parse_only`,
    values: Buffer.from(body),
    format: 'JSONCompactEachRow',
    settings: { input_format_json_named_tuples_as_objects: 0, async_insert: 0 },
  });
  push('parse only: chDB raw-insert entry', performance.now() - t);
  await exec(`TRUNCATE TABLE ${DB}.staged`);
  await exec(partialInsertSql(`${DB}.staged`), body);
  push('MV SELECT alone', await exec(`${MV_SELECT} FORMAT Null`));
  push('full insert: settings as SETs (before)', await exec(insertBefore(`${DB}.session_partials_in`), body));
  push('full insert: settings in the INSERT (sink now)', await exec(partialInsertSql(`${DB}.session_partials_in`), body, true));
  push('INSERT…SELECT → sessions_raw', await exec(`INSERT INTO ${DB}.sessions_raw ${MV_SELECT}`));
  push('INSERT…SELECT → candidate', await exec(`INSERT INTO ${DB}.candidate ${CANDIDATE_SELECT}`));
}

// Same answer? Each flush went into sessions_raw three times and into candidate once; duplicates do not
// change min/max/argMin/argMax/uniqExact, so the merged results must be equal (tuples compared as
// text: `=` on tuples holding NULL is NULL, which countIf would count as equal).
const diff = await client.query({
  query: `SELECT count() AS sessions, countIf(a.distinct_id != b.distinct_id OR toString(a.entry) != toString(b.entry) OR toString(a.exit) != toString(b.exit) OR a.pv != b.pv
          OR a.ac != b.ac OR a.sc != b.sc OR a.lo != b.lo OR a.hi != b.hi) AS different
FROM (SELECT team_id, session_id, argMaxMerge(distinct_id) AS distinct_id, argMinMerge(entry) AS entry, argMaxMerge(exit) AS exit,
        uniqExactArrayMerge(pageview_uuids) AS pv, uniqExactArrayMerge(autocapture_uuids) AS ac, uniqExactArrayMerge(screen_uuids) AS sc,
        min(min_ts) AS lo, max(max_ts) AS hi FROM ${DB}.sessions_raw GROUP BY team_id, session_id) AS a
INNER JOIN (SELECT team_id, session_id, max(last).2 AS distinct_id, tupleElement(min(entry), 2) AS entry, tupleElement(max(exit), 2) AS exit,
        uniqExactArrayMerge(pageview_uuids) AS pv, uniqExactArrayMerge(autocapture_uuids) AS ac, uniqExactArrayMerge(screen_uuids) AS sc,
        min(min_ts) AS lo, max(max_ts) AS hi FROM ${DB}.candidate GROUP BY team_id, session_id) AS b
USING (team_id, session_id)`,
  format: 'JSONEachRow',
  clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
});
const [check] = await diff.json<{ sessions: number; different: number }>();
// Fully merged, so that bytes per row compare like with like.
await exec(`OPTIMIZE TABLE ${DB}.sessions_raw FINAL`);
await exec(`OPTIMIZE TABLE ${DB}.candidate FINAL`);
const parts = await client.query({
  query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk FROM system.parts
          WHERE database = '${DB}' AND active AND table IN ('sessions_raw', 'candidate') GROUP BY table ORDER BY table`,
  format: 'JSONEachRow',
});
const disk = await parts.json<{ table: string; rows: number; bytes_on_disk: number }>();
await client.close();
rmSync(dir, { recursive: true, force: true });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(
  `${FLUSHES} flushes of ${PER_FLUSH} events from ${ACTIVE} active sessions: ${Math.round(mean(rows))} partial rows, ${(mean(bodyBytes) / 1e6).toFixed(1)} MB of JSON each`,
);
console.log('step'.padEnd(44), 'median ms', '  µs/row');
for (const [k, xs] of Object.entries(steps)) {
  console.log(k.padEnd(44), String(Math.round(median(xs))).padStart(9), ((median(xs) * 1000) / mean(rows)).toFixed(1).padStart(8));
}
for (const d of disk)
  console.log(`on disk after OPTIMIZE FINAL: ${d.table} ${d.rows} rows, ${Math.round(d.bytes_on_disk / d.rows)} bytes/row`);
console.log(`candidate = sessions_raw for ${check?.sessions ?? 0} sessions, ${check?.different ?? '?'} different`);
console.log(
  `FLUSH-COST ${JSON.stringify({
    eventsPerFlush: PER_FLUSH,
    activeSessions: ACTIVE,
    flushes: FLUSHES,
    rowsPerFlush: Math.round(mean(rows)),
    jsonBytesPerFlush: Math.round(mean(bodyBytes)),
    medianMs: Object.fromEntries(Object.entries(steps).map(([k, xs]) => [k, Math.round(median(xs))])),
    disk,
    candidateCheck: check,
  })}`,
);
