/**
 * The partial rows' wire format, A/B in one process on the embedded engine (issue 17, write cost):
 * `node --import tsx test/bench/row-formats.ts [--events 200000] [--events-per-flush 18182]
 * [--active-sessions 2000] [--seed 7] [--variants compact,columns,omit,tsv,noopt]`. The defaults
 * are `npm run bench`'s write-cost phase (11 flushes of ~4 350 partial rows).
 *
 * The same states of every flush go, each variant to a database of its own (schema of
 * `migrate()`, background merges stopped), in a rotating order per flush:
 *   compact   the sink's rows as of 2026-12-01: JSONCompactEachRow, every column (rows.ts), the
 *             statement without optimize_on_insert (so the engine's default, 1)
 *   columns   JSONCompactEachRow with an explicit column list: the columns that are at their
 *             default in every row of the flush left out (the engine fills in the default)
 *   omit      JSONEachRow with every field at its column's default left out of its row
 *   tsv       TabSeparated (arrays and tuples in their quoted text form)
 *   noopt     compact with `optimize_on_insert = 0` (no merge of the inserted block)
 * The variants above write into the schema as a ClickHouse server gets it (`migrate()` without
 * `embedded`: wide parts). The service on the embedded engine also has migration 0004's table
 * settings (compact parts); the variants below use that schema and the sink's statement
 * (`partialInsertSql`), plus one change each (issue 17, the engine's insert cost):
 *   sink         the sink's statement on the embedded engine (`partialInsertSql(t, { embedded: true })`)
 *                into the embedded schema: what `sessionizer run` writes
 *   analyzer     sink without `enable_analyzer = 0` (the statement before 2026-12-02, and a server's)
 *   wide         sink into the server's schema (wide parts: 0004 not applied)
 *   serialparse  sink + `input_format_parallel_parsing = 0`
 *   onethread    sink + `max_threads = 1, max_insert_threads = 1`
 *   nosparse     sink, table setting `ratio_of_defaults_for_sparse_serialization = 1`
 *   nocodec      sink, table setting `default_compression_codec = 'NONE'`
 *   rowbinary    the sink's statement and rows on the embedded engine from 2026-12-02: the same
 *                settings, RowBinaryWithNamesAndTypes (row-binary.ts, the sink's encoder, into
 *                its reused buffer and copied out), which the embedded transport runs as
 *                `INSERT … SELECT * FROM format(…, '<the bytes>')` (client.ts); serialise = the
 *                encoding, insert = the transport's escaping and the engine
 * `--variants sink,analyzer,wide,…` picks them (the first is the reference of the comparison).
 * Per variant, summed over the flushes: CPU of the process (every thread) of the serialisation
 * (JavaScript), of a parse-only insert (a Null table without the view) and of the full insert
 * (input table → view → `sessions_raw` parts) and the wall time of the full insert; the bytes. Afterwards every variant's
 * `sessions_raw` (all columns but max_inserted_at, each row as text, sorted) and `sessions` view
 * are compared with the first variant's, and as values (each set's state sorted: a set is its elements),
 * and the bytes on disk of the parts are reported. Prints a table and one JSON line, ROW-FORMATS {…}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { generate } from '@sessionizer/generator';
import { normalize, SessionBuffer, SETS, type SessionState } from '@sessionizer/core';
import { createClickHouse, migrate } from '@sessionizer/clickhouse';
import {
  INSERT_CALL_SETTINGS,
  names,
  PARTIAL_COLUMNS,
  PartialRowBinaryEncoder,
  partialInsertSql,
  toPartialRow,
} from '@sessionizer/clickhouse/testing';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    'events-per-flush': { type: 'string' },
    'active-sessions': { type: 'string' },
    seed: { type: 'string' },
    variants: { type: 'string' },
  },
});
const TOTAL = Number(values.events ?? 200_000);
const PER_FLUSH = Number(values['events-per-flush'] ?? 18_182);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const SEED = Number(values.seed ?? 7);
const VARIANTS = (values.variants ?? 'compact,columns,omit,tsv,noopt').split(',');

type Row = unknown[];
const isDefault = (v: unknown): boolean =>
  v === null || (Array.isArray(v) && (v.length === 0 || (v.length === 2 && v[0] === 0 && v[1] === null)));

// ---- TabSeparated -----------------------------------------------------------------------------
const QUOTE_RE = /['\\\t\n\r\0]/;
const quoted = (s: string): string =>
  `'${QUOTE_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0') : s}'`;
/** A nested value in ClickHouse's quoted text form; `tuple` says whether an array is a Tuple. */
const nested = (v: unknown, tuple: (depth: number) => boolean, depth = 0): string => {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoted(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const items = (v as unknown[]).map((x) => nested(x, tuple, depth + 1)).join(',');
  return tuple(depth) ? `(${items})` : `[${items}]`;
};
const ESC_RE = /[\\\t\n\r\0]/;
const escaped = (s: string): string =>
  ESC_RE.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0') : s;
// which depths are tuples, per column: events Array(Tuple), keyed/entry Tuple(…, Tuple), arrays
const TUPLE_AT: ((d: number) => boolean)[] = PARTIAL_COLUMNS.map((c, i) => {
  if (c === 'events') return (d) => d === 1;
  if (i >= 5 && i <= PARTIAL_COLUMNS.indexOf('entry_event')) return () => true;
  return () => false;
});
const tsvLine = (row: Row): string =>
  row
    .map((v, i) => {
      if (v === null) return '\\N';
      if (typeof v === 'string') return escaped(v);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return escaped(nested(v, TUPLE_AT[i] as (d: number) => boolean));
    })
    .join('\t');

// ---- the variants -----------------------------------------------------------------------------
interface Body {
  readonly sql: (table: string) => string;
  readonly body: string | Buffer;
}
const SETTINGS = 'input_format_json_named_tuples_as_objects = 0, async_insert = 0';
const serialise: Record<string, (states: readonly SessionState[]) => Body> = {
  compact: (states) => ({
    sql: (t) => `INSERT INTO ${t} SETTINGS ${SETTINGS} FORMAT JSONCompactEachRow`,
    body: states.map((s) => JSON.stringify(toPartialRow(s))).join('\n') + '\n',
  }),
  noopt: (states) => ({
    sql: (t) => `INSERT INTO ${t} SETTINGS ${SETTINGS}, optimize_on_insert = 0 FORMAT JSONCompactEachRow`,
    body: states.map((s) => JSON.stringify(toPartialRow(s))).join('\n') + '\n',
  }),
  columns: (states) => {
    const rows = states.map(toPartialRow);
    const keep = PARTIAL_COLUMNS.map((_, i) => rows.some((r) => !isDefault(r[i])));
    const cols = PARTIAL_COLUMNS.filter((_, i) => keep[i]);
    const all = cols.length === PARTIAL_COLUMNS.length;
    return {
      sql: (t) => `INSERT INTO ${t} (${cols.join(', ')}) SETTINGS ${SETTINGS} FORMAT JSONCompactEachRow`,
      body: rows.map((r) => JSON.stringify(all ? r : r.filter((_, i) => keep[i]))).join('\n') + '\n',
    };
  },
  omit: (states) => ({
    sql: (t) => `INSERT INTO ${t} SETTINGS ${SETTINGS}, input_format_defaults_for_omitted_fields = 1 FORMAT JSONEachRow`,
    body:
      states
        .map((s) => {
          const r = toPartialRow(s);
          const o: Record<string, unknown> = {};
          for (let i = 0; i < r.length; i += 1) if (!isDefault(r[i])) o[PARTIAL_COLUMNS[i] as string] = r[i];
          return JSON.stringify(o);
        })
        .join('\n') + '\n',
  }),
  tsv: (states) => ({
    sql: (t) => `INSERT INTO ${t} SETTINGS async_insert = 0 FORMAT TabSeparated`,
    body: states.map((s) => tsvLine(toPartialRow(s))).join('\n') + '\n',
  }),
};
/** The sink's statement (on the embedded engine, or as sent to a server) with more settings in its SETTINGS clause. */
const sinkWith =
  (extra: string, embedded = true) =>
  (states: readonly SessionState[]): Body => ({
    sql: (t) => partialInsertSql(t, { embedded }).replace(' FORMAT ', `${extra === '' ? '' : `, ${extra}`} FORMAT `),
    body: states.map((s) => JSON.stringify(toPartialRow(s))).join('\n') + '\n',
  });
const encoder = new PartialRowBinaryEncoder();
Object.assign(serialise, {
  rowbinary: (states: readonly SessionState[]): Body => {
    const w = encoder.writer;
    w.off = 0;
    encoder.header();
    for (const s of states) encoder.encode(s);
    return { sql: (t) => partialInsertSql(t, { embedded: true, format: 'RowBinaryWithNamesAndTypes' }), body: w.copy(0, w.off) };
  },
  sink: sinkWith(''),
  analyzer: sinkWith('', false),
  wide: sinkWith(''),
  serialparse: sinkWith('input_format_parallel_parsing = 0'),
  onethread: sinkWith('max_threads = 1, max_insert_threads = 1'),
  nosparse: sinkWith(''),
  nocodec: sinkWith(''),
});
/** The schema a variant writes into: the embedded one (0004's settings), plus table settings. */
const SCHEMA: Record<string, { embedded: boolean; tableSettings?: string }> = {
  sink: { embedded: true },
  rowbinary: { embedded: true },
  analyzer: { embedded: true },
  serialparse: { embedded: true },
  onethread: { embedded: true },
  nosparse: { embedded: true, tableSettings: 'ratio_of_defaults_for_sparse_serialization = 1' },
  nocodec: { embedded: true, tableSettings: "default_compression_codec = 'NONE'" },
};
for (const v of VARIANTS) if (serialise[v] === undefined) throw new Error(`unknown variant ${v}`);

// ---- run --------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'bench-row-formats-'));
// the service's client: chdb/connection, with binary INSERTs through chDB's raw insert (client.ts)
const handle = createClickHouse({ dataDir: dir });
const client: ClickHouseClient = handle.client;
const db = (v: string): string => `rf_${v}`;
for (const v of VARIANTS) {
  const schema = SCHEMA[v] ?? { embedded: false };
  await migrate(client, { database: db(v), embedded: schema.embedded });
  if (schema.tableSettings !== undefined) {
    await client.command({ query: `ALTER TABLE ${db(v)}.sessions_raw MODIFY SETTING ${schema.tableSettings}` });
  }
  await client.command({ query: `CREATE TABLE ${db(v)}.parse_only AS ${db(v)}.session_partials_in ENGINE = Null` });
  await client.command({ query: `SYSTEM STOP MERGES ${db(v)}.sessions_raw` });
}
let lastWallMs = 0;
async function exec(query: string, body: string | Buffer): Promise<number> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const r = await client.exec({ query, values: Readable.from([body], { objectMode: true }), clickhouse_settings: INSERT_CALL_SETTINGS });
  r.stream.destroy();
  const d = process.cpuUsage(cpu);
  lastWallMs = performance.now() - start;
  return (d.user + d.system) / 1000;
}
interface Totals {
  serialiseCpuMs: number;
  parseCpuMs: number;
  insertCpuMs: number;
  insertWallMs: number;
  bytes: number;
}
const totals: Record<string, Totals> = Object.fromEntries(
  VARIANTS.map((v) => [v, { serialiseCpuMs: 0, parseCpuMs: 0, insertCpuMs: 0, insertWallMs: 0, bytes: 0 }]),
);
let rows = 0;
let flushes = 0;
const messages = generate({ seed: SEED, format: 'posthog-events', events: TOTAL, activeSessions: ACTIVE });
for (let done = false; !done; flushes += 1) {
  const buffer = new SessionBuffer();
  for (let i = 0; i < PER_FLUSH; i += 1) {
    const m = messages.next();
    if (m.done === true) {
      done = true;
      break;
    }
    const r = normalize('posthog-events', m.value.value);
    if (r.ok) buffer.add(r.event);
  }
  const states = buffer.drain();
  if (states.length === 0) break;
  rows += states.length;
  const order = VARIANTS.map((_, i) => VARIANTS[(i + flushes) % VARIANTS.length] as string);
  for (const v of order) {
    const t = totals[v] as Totals;
    const cpu = process.cpuUsage();
    const b = (serialise[v] as (s: readonly SessionState[]) => Body)(states);
    const d = process.cpuUsage(cpu);
    t.serialiseCpuMs += (d.user + d.system) / 1000;
    t.bytes += Buffer.byteLength(b.body);
    t.parseCpuMs += await exec(b.sql(`${db(v)}.parse_only`), b.body);
    t.insertCpuMs += await exec(b.sql(names({ database: db(v) }).input), b.body);
    t.insertWallMs += lastWallMs;
  }
}

async function text(query: string): Promise<string[]> {
  const rs = await client.query({ query, format: 'TabSeparated' });
  return (await rs.text()).split('\n').sort();
}
const reference = VARIANTS[0] as string;
const refRaw = await text(`SELECT * EXCEPT (max_inserted_at) FROM ${db(reference)}.sessions_raw`);
const refView = await text(`SELECT * EXCEPT (max_inserted_at) FROM ${db(reference)}.sessions`);
// the states as values: a set's state is its elements, in whatever order the engine keeps them
const setsSorted = SETS.map((p) => `arraySort(${p.column})`).join(', ');
const asValues = (v: string): string =>
  `SELECT * EXCEPT (max_inserted_at, ${SETS.map((p) => p.column).join(', ')}), ${setsSorted} FROM ${db(v)}.sessions_raw`;
const refValues = await text(asValues(reference));
const same: Record<string, { rawRows: number; rawDifferent: number; rawValuesDifferent: number; viewDifferent: number }> = {};
const disk: Record<string, { parts: number; bytes: number; compact: number }> = {};
for (const v of VARIANTS) {
  const raw = await text(`SELECT * EXCEPT (max_inserted_at) FROM ${db(v)}.sessions_raw`);
  const values = await text(asValues(v));
  const view = await text(`SELECT * EXCEPT (max_inserted_at) FROM ${db(v)}.sessions`);
  const diff = (a: string[], b: string[]): number => a.filter((x, i) => x !== b[i]).length + Math.abs(a.length - b.length);
  same[v] = {
    rawRows: raw.length - 1,
    rawDifferent: diff(raw, refRaw),
    rawValuesDifferent: diff(values, refValues),
    viewDifferent: diff(view, refView),
  };
  const rs = await client.query({
    query: `SELECT count() AS parts, sum(bytes_on_disk) AS bytes, countIf(part_type = 'Compact') AS compact FROM system.parts WHERE database = '${db(v)}' AND table = 'sessions_raw' AND active`,
    format: 'JSONEachRow',
  });
  disk[v] = (await rs.json<{ parts: number; bytes: number; compact: number }>())[0] ?? { parts: 0, bytes: 0, compact: 0 };
}
await handle.close();
rmSync(dir, { recursive: true, force: true });

const us = (ms: number): string => ((ms * 1000) / rows).toFixed(1).padStart(9);
console.log(`${flushes} flushes of ${PER_FLUSH} events from ${ACTIVE} active sessions, ${Math.round(rows / flushes)} partial rows each`);
console.log(
  'variant'.padEnd(10),
  'B/row'.padStart(7),
  'CPU µs/row: serialise',
  'parse only',
  'full insert',
  'ser+ins',
  'insert wall µs/row',
  ' raw≠',
  'values≠',
  'view≠',
  'disk B/row',
  'parts (compact)',
);
for (const v of VARIANTS) {
  const t = totals[v] as Totals;
  const s = same[v];
  console.log(
    v.padEnd(10),
    String(Math.round(t.bytes / rows)).padStart(7),
    us(t.serialiseCpuMs).padStart(21),
    us(t.parseCpuMs).padStart(10),
    us(t.insertCpuMs).padStart(11),
    us(t.serialiseCpuMs + t.insertCpuMs).padStart(7),
    us(t.insertWallMs).padStart(18),
    String(s?.rawDifferent).padStart(5),
    String(s?.rawValuesDifferent).padStart(7),
    String(s?.viewDifferent).padStart(5),
    String(Math.round((disk[v]?.bytes ?? 0) / rows)).padStart(10),
    `${disk[v]?.parts} (${disk[v]?.compact})`.padStart(15),
  );
}
console.log(
  `ROW-FORMATS ${JSON.stringify({ events: TOTAL, eventsPerFlush: PER_FLUSH, activeSessions: ACTIVE, seed: SEED, flushes, rows, totals, same, disk })}`,
);
