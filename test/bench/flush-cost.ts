/**
 * The write cost of a flush, schema v1 against schema v2, in one run on the embedded engine (one
 * process, nothing else running in it): `npm run bench:flush -- [--events-per-flush N]
 * [--active-sessions A] [--flushes K]`.
 *
 * Each flush is what the service writes after N events from A concurrently active sessions
 * (the pipeline benchmark's freshness phase runs at A = 17 × the event rate: ~200 000 at ~12k
 * events/s, so nearly every event touches a session of its own). The same states go to both:
 *   v1  schema 0001 (packages/clickhouse/src/schema/ddl-v1.ts, frozen): argMin/argMax states of
 *       the whole entry and exit tuples, uniqExactArray states; rows built from the same states
 *       (entry and exit values of the catalog's columns, under the entry/exit event's key);
 *   v2  schema 0002 (ddl.ts, the catalog): SimpleAggregateFunction(min|max, Tuple(flag, key,
 *       value)) per column, the entry event as one tuple, uniqExactArray and groupUniqArrayArray;
 *       the sink's rows (rows.ts), with every catalog column (v1 has 24, v2 66).
 * For each schema and flush it measures: serialise (JavaScript), parse only (the rows into a Null
 * table with the input table's columns, no view), and the full insert (input table → view →
 * state table parts), all the way the sink sends them (settings in the INSERT, none per call).
 * After the flushes: bytes per session on disk after OPTIMIZE FINAL, and a check that v2's
 * `sessions` view equals the oracle over the same events (every column but max_inserted_at).
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
import { formatTimestamp, KEYED, normalize, SessionBuffer, type SessionEvent, type SessionState } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import {
  COMMON_SETTINGS,
  createPartialStateTablesV1Sql,
  INSERT_CALL_SETTINGS,
  migrate,
  names,
  partialInsertSql,
  toPartialRow,
} from '@sessionizer/clickhouse';

const { values } = parseArgs({
  options: { 'events-per-flush': { type: 'string' }, 'active-sessions': { type: 'string' }, flushes: { type: 'string' } },
});
const PER_FLUSH = Number(values['events-per-flush'] ?? 60_000);
const ACTIVE = Number(values['active-sessions'] ?? 200_000);
const FLUSHES = Number(values.flushes ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'bench-flush-'));
// The same client settings as the service (createClickHouse).
const client: ClickHouseClient = createClient({
  clickhouse_settings: COMMON_SETTINGS,
  connection: createChdbConnection({ path: dir }) as never,
});
const V1 = 'flushcost_v1';
const V2 = 'flushcost_v2';
await client.command({ query: `CREATE DATABASE ${V1}` });
for (const statement of createPartialStateTablesV1Sql({ database: V1 })) await client.command({ query: statement });
await migrate(client, { database: V2 });
for (const db of [V1, V2]) await client.command({ query: `CREATE TABLE ${db}.parse_only AS ${db}.session_partials_in ENGINE = Null` });

// ---- v1 rows from the same states -------------------------------------------------------------

const col = (name: string): number => KEYED.findIndex((p) => p.column === name);
const ENTRY_COLUMNS = [
  'entry_current_url',
  null, // pathname: v1 stored it; computed here from the URL as v1 did (no path() in JS needed for cost)
  'entry_utm_source',
  'entry_utm_medium',
  'entry_utm_campaign',
  'entry_utm_term',
  'entry_utm_content',
  'entry_referring_domain',
  'entry_gclid',
  'entry_gad_source',
  'entry_fbclid',
].map((c) => (c === null ? -1 : col(c)));
const EXIT = col('exit_current_url');
const LAST = col('distinct_id');

const pathOf = (url: unknown): string | null => (typeof url === 'string' ? (/^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? null) : null);

/** v1's JSONCompactEachRow row of a state: the same values, keyed as v1 keyed them. */
function toPartialRowV1(s: SessionState): unknown[] {
  const entryKey = s.entryEvent.key;
  const v = (i: number): unknown => (i < 0 ? null : (s.keyed[i]?.value ?? null));
  const entryUrl = v(ENTRY_COLUMNS[0] ?? -1);
  const entry = ENTRY_COLUMNS.map((i, n) => (n === 1 ? pathOf(entryUrl) : v(i)));
  const entryValues = s.entryEvent.value;
  entry.push(entryValues[entryValues.length - 2] ?? null, entryValues[entryValues.length - 1] ?? null); // source/referring site
  const exit = s.keyed[EXIT] ?? null;
  const exitKey = exit?.key ?? entryKey;
  const last = s.keyed[LAST];
  return [
    s.teamId,
    s.sessionId,
    formatTimestamp(s.startTs),
    formatTimestamp(s.endTs),
    [formatTimestamp(last?.key.ts ?? s.endTs), last?.key.uuid ?? ''],
    last?.value ?? '',
    [entryKey.page ? 0 : 1, formatTimestamp(entryKey.ts), entryKey.uuid],
    entry,
    [exitKey.page ? 1 : 0, formatTimestamp(exitKey.ts), exitKey.uuid],
    [exit?.value ?? null, pathOf(exit?.value ?? null)],
    [...(s.counts[0] ?? [])],
    [...(s.counts[1] ?? [])],
    [...(s.counts[2] ?? [])],
  ];
}

async function exec(query: string, body?: string): Promise<number> {
  const t = performance.now();
  const r = await client.exec({
    query,
    ...(body === undefined ? {} : { values: Readable.from([body], { objectMode: false }) }),
    clickhouse_settings: INSERT_CALL_SETTINGS,
  });
  r.stream.destroy();
  return performance.now() - t;
}

const STEPS = ['serialise (JS)', 'parse only', 'full insert (parse + view + parts)'] as const;
const steps: Record<string, number[]> = {};
for (const schema of ['v1', 'v2']) for (const step of STEPS) steps[`${schema}: ${step}`] = [];
const push = (k: string, ms: number): void => {
  steps[k]?.push(ms);
};
const rows: number[] = [];
const bodyBytes: Record<'v1' | 'v2', number[]> = { v1: [], v2: [] };
const events: SessionEvent[] = [];
const messages = generate({ seed: 7, format: 'posthog-events', events: PER_FLUSH * FLUSHES, activeSessions: ACTIVE });
for (let f = 0; f < FLUSHES; f += 1) {
  const buffer = new SessionBuffer();
  for (let i = 0; i < PER_FLUSH; i += 1) {
    const m = messages.next();
    if (m.done === true) break;
    const r = normalize('posthog-events', m.value.value);
    if (r.ok) {
      buffer.add(r.event);
      events.push(r.event);
    }
  }
  const states = buffer.drain();
  rows.push(states.length);
  // alternate which schema goes first, so that neither always meets a warmer engine
  const order = f % 2 === 0 ? (['v1', 'v2'] as const) : (['v2', 'v1'] as const);
  for (const schema of order) {
    const db = schema === 'v1' ? V1 : V2;
    let t = performance.now();
    const body = states.map((s) => JSON.stringify(schema === 'v1' ? toPartialRowV1(s) : toPartialRow(s))).join('\n') + '\n';
    push(`${schema}: serialise (JS)`, performance.now() - t);
    bodyBytes[schema].push(Buffer.byteLength(body));
    push(`${schema}: parse only`, await exec(partialInsertSql(`${db}.parse_only`), body));
    t = performance.now();
    await exec(partialInsertSql(names({ database: db }).input), body);
    push(`${schema}: full insert (parse + view + parts)`, performance.now() - t);
  }
}

// v2 is the product: its view must equal the oracle over the same events.
const expected = sessionize(events);
const rs = await client.query({
  query: `SELECT * EXCEPT (max_inserted_at) FROM ${V2}.sessions ORDER BY team_id, toString(session_id)`,
  format: 'JSONEachRow',
});
const actual = await rs.json<Record<string, unknown>>();
const different =
  expected.filter((e, i) => JSON.stringify(e) !== JSON.stringify(actual[i])).length + Math.abs(actual.length - expected.length);
const check = { sessions: expected.length, different };

// Fully merged, so that bytes per session compare like with like.
await exec(`OPTIMIZE TABLE ${V1}.sessions_raw FINAL`);
await exec(`OPTIMIZE TABLE ${V2}.sessions_raw FINAL`);
const parts = await client.query({
  query: `SELECT database, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk FROM system.parts
          WHERE database IN ('${V1}', '${V2}') AND active AND table = 'sessions_raw' GROUP BY database ORDER BY database`,
  format: 'JSONEachRow',
});
const disk = await parts.json<{ database: string; rows: number; bytes_on_disk: number }>();
await client.close();
rmSync(dir, { recursive: true, force: true });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(`${FLUSHES} flushes of ${PER_FLUSH} events from ${ACTIVE} active sessions: ${Math.round(mean(rows))} partial rows each`);
console.log(
  `JSON per flush: v1 ${(mean(bodyBytes.v1) / 1e6).toFixed(1)} MB (24 columns), v2 ${(mean(bodyBytes.v2) / 1e6).toFixed(1)} MB (66 columns)`,
);
console.log('step'.padEnd(44), 'median ms', '  µs/row');
for (const [k, xs] of Object.entries(steps)) {
  console.log(k.padEnd(44), String(Math.round(median(xs))).padStart(9), ((median(xs) * 1000) / mean(rows)).toFixed(1).padStart(8));
}
const full = (schema: string): number => median(steps[`${schema}: full insert (parse + view + parts)`] ?? []);
console.log(`full insert v1 / v2: ${(full('v1') / Math.max(1, full('v2'))).toFixed(2)}×`);
for (const d of disk)
  console.log(`on disk after OPTIMIZE FINAL: ${d.database} ${d.rows} sessions, ${Math.round(d.bytes_on_disk / d.rows)} bytes/session`);
console.log(`v2 sessions view = oracle for ${check.sessions} sessions, ${check.different} different`);
console.log(
  `FLUSH-COST ${JSON.stringify({
    eventsPerFlush: PER_FLUSH,
    activeSessions: ACTIVE,
    flushes: FLUSHES,
    rowsPerFlush: Math.round(mean(rows)),
    jsonBytesPerFlush: { v1: Math.round(mean(bodyBytes.v1)), v2: Math.round(mean(bodyBytes.v2)) },
    medianMs: Object.fromEntries(Object.entries(steps).map(([k, xs]) => [k, Math.round(median(xs))])),
    disk,
    oracleCheck: check,
  })}`,
);
