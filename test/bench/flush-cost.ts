/**
 * The write cost of a flush, schema v1 against schema v2, in one run on the embedded engine (one
 * process, nothing else running in it): `npm run bench:flush -- [--events-per-flush N]
 * [--active-sessions A] [--flushes K] [--events E] [--seed S]`. `npm run bench` runs it on its
 * short topic's events (--events and --seed of that topic, --events-per-flush from the service's
 * flushes there): the same data the sessionizer wrote in that run.
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
 * Per schema, summed over the flushes (`perSchema`): wall time and CPU of the process (utime +
 * stime of every thread: JavaScript and the embedded engine) of serialise + full insert, the JSON
 * bytes, the parts and bytes on disk the inserts left, then the merge of those parts (OPTIMIZE
 * FINAL: wall, CPU, bytes on disk after). Background merges are stopped on both state tables
 * while inserting, so that neither schema's inserts pay for the other's merges; the merge is
 * measured on its own instead. After the flushes: a check that v2's `sessions` view equals the
 * oracle over the same events (every column but max_inserted_at).
 * Prints a table and one JSON line, FLUSH-COST {…}. Nothing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { generate } from '@sessionizer/generator';
import { formatTimestamp, KEYED, normalize, SessionBuffer, type SessionEvent, type SessionState } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { migrate } from '@sessionizer/clickhouse';
import {
  COMMON_SETTINGS,
  createPartialStateTablesV1Sql,
  INSERT_CALL_SETTINGS,
  names,
  partialInsertSql,
  toPartialRow,
} from '@sessionizer/clickhouse/testing';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    'events-per-flush': { type: 'string' },
    'active-sessions': { type: 'string' },
    flushes: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string' },
  },
});
const PER_FLUSH = Number(values['events-per-flush'] ?? 60_000);
const ACTIVE = Number(values['active-sessions'] ?? 200_000);
/** --events: the total (the generator's stream depends on it); the flushes follow from it. */
const TOTAL = values.events === undefined ? PER_FLUSH * Number(values.flushes ?? 3) : Number(values.events);
const FLUSHES = Math.ceil(TOTAL / PER_FLUSH);
const SEED = Number(values.seed ?? 7);

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
for (const db of [V1, V2]) {
  await client.command({ query: `CREATE TABLE ${db}.parse_only AS ${db}.session_partials_in ENGINE = Null` });
  await client.command({ query: `SYSTEM STOP MERGES ${db}.sessions_raw` });
}

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
/** CPU seconds of this process since `from` (every thread: JavaScript and the embedded engine). */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};
interface SchemaTotals {
  writeWallSeconds: number;
  writeCpuSeconds: number;
  jsonBytes: number;
  partsBeforeMerge: number;
  bytesOnDiskBeforeMerge: number;
  mergeWallSeconds: number;
  mergeCpuSeconds: number;
  bytesOnDiskAfterMerge: number;
  sessions: number;
}
const zeroTotals = (): SchemaTotals => ({
  writeWallSeconds: 0,
  writeCpuSeconds: 0,
  jsonBytes: 0,
  partsBeforeMerge: 0,
  bytesOnDiskBeforeMerge: 0,
  mergeWallSeconds: 0,
  mergeCpuSeconds: 0,
  bytesOnDiskAfterMerge: 0,
  sessions: 0,
});
const totals: Record<'v1' | 'v2', SchemaTotals> = { v1: zeroTotals(), v2: zeroTotals() };
const rows: number[] = [];
const bodyBytes: Record<'v1' | 'v2', number[]> = { v1: [], v2: [] };
const events: SessionEvent[] = [];
const messages = generate({ seed: SEED, format: 'posthog-events', events: TOTAL, activeSessions: ACTIVE });
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
    let cpu = process.cpuUsage();
    const body = states.map((s) => JSON.stringify(schema === 'v1' ? toPartialRowV1(s) : toPartialRow(s))).join('\n') + '\n';
    const serialise = performance.now() - t;
    let writeCpu = cpuSince(cpu);
    push(`${schema}: serialise (JS)`, serialise);
    bodyBytes[schema].push(Buffer.byteLength(body));
    push(`${schema}: parse only`, await exec(partialInsertSql(`${db}.parse_only`), body));
    t = performance.now();
    cpu = process.cpuUsage();
    await exec(partialInsertSql(names({ database: db }).input), body);
    const insert = performance.now() - t;
    writeCpu += cpuSince(cpu);
    push(`${schema}: full insert (parse + view + parts)`, insert);
    totals[schema].writeWallSeconds += (serialise + insert) / 1000;
    totals[schema].writeCpuSeconds += writeCpu;
    totals[schema].jsonBytes += Buffer.byteLength(body);
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

async function activeParts(): Promise<{ database: string; parts: number; rows: number; bytes_on_disk: number }[]> {
  const parts = await client.query({
    query: `SELECT database, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk FROM system.parts
            WHERE database IN ('${V1}', '${V2}') AND active AND table = 'sessions_raw' GROUP BY database ORDER BY database`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return parts.json();
}
for (const d of await activeParts()) {
  const t = totals[d.database === V1 ? 'v1' : 'v2'];
  t.partsBeforeMerge = d.parts;
  t.bytesOnDiskBeforeMerge = d.bytes_on_disk;
}
// The merge, one schema at a time; fully merged, bytes per session compare like with like.
for (const [schema, db] of [
  ['v1', V1],
  ['v2', V2],
] as const) {
  await client.command({ query: `SYSTEM START MERGES ${db}.sessions_raw` });
  const t = performance.now();
  const cpu = process.cpuUsage();
  await exec(`OPTIMIZE TABLE ${db}.sessions_raw FINAL`);
  totals[schema].mergeCpuSeconds = cpuSince(cpu);
  totals[schema].mergeWallSeconds = (performance.now() - t) / 1000;
}
const disk = (await activeParts()).map(({ database, rows: r, bytes_on_disk }) => ({ database, rows: r, bytes_on_disk }));
for (const d of disk) {
  const t = totals[d.database === V1 ? 'v1' : 'v2'];
  t.bytesOnDiskAfterMerge = d.bytes_on_disk;
  t.sessions = d.rows;
}
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
const r3 = (x: number): number => Number(x.toFixed(3));
const perSchema = Object.fromEntries(
  (['v1', 'v2'] as const).map((schema) => {
    const t = totals[schema];
    return [
      schema,
      {
        ...t,
        writeWallSeconds: r3(t.writeWallSeconds),
        writeCpuSeconds: r3(t.writeCpuSeconds),
        mergeWallSeconds: r3(t.mergeWallSeconds),
        mergeCpuSeconds: r3(t.mergeCpuSeconds),
        writeCpuMicrosPerRow: Number(
          (
            (t.writeCpuSeconds * 1e6) /
            Math.max(
              1,
              rows.reduce((a, b) => a + b, 0),
            )
          ).toFixed(1),
        ),
      },
    ];
  }),
);
console.log('per schema, all flushes'.padEnd(44), '       v1', '       v2');
for (const k of [
  'writeWallSeconds',
  'writeCpuSeconds',
  'writeCpuMicrosPerRow',
  'jsonBytes',
  'partsBeforeMerge',
  'bytesOnDiskBeforeMerge',
  'mergeWallSeconds',
  'mergeCpuSeconds',
  'bytesOnDiskAfterMerge',
] as const) {
  console.log(k.padEnd(44), String(perSchema['v1']?.[k]).padStart(9), String(perSchema['v2']?.[k]).padStart(9));
}
console.log(`v2 sessions view = oracle for ${check.sessions} sessions, ${check.different} different`);
console.log(
  `FLUSH-COST ${JSON.stringify({
    eventsPerFlush: PER_FLUSH,
    activeSessions: ACTIVE,
    flushes: FLUSHES,
    events: TOTAL,
    seed: SEED,
    rowsPerFlush: Math.round(mean(rows)),
    jsonBytesPerFlush: { v1: Math.round(mean(bodyBytes.v1)), v2: Math.round(mean(bodyBytes.v2)) },
    medianMs: Object.fromEntries(Object.entries(steps).map(([k, xs]) => [k, Math.round(median(xs))])),
    disk,
    perSchema,
    oracleCheck: check,
    processCpuSeconds: r3(cpuSince({ user: 0, system: 0 })),
  })}`,
);
