/**
 * A session state as the plain row the sink inserts into `session_partials_in`; the
 * materialized view turns it into aggregate states. The columns follow the catalog
 * (schema/ddl.ts, PARTIAL_COLUMN_TYPES, says how each kind travels).
 *
 * Which format, by transport (the sink picks by SchemaContext.embedded; SinkOptions.format
 * overrides it):
 *
 *   embedded engine (chDB)   RowBinaryWithNamesAndTypes (row-binary.ts): encoded straight from the
 *                            SessionState into one reused Buffer; the statement the sink sends is
 *                            `INSERT … FORMAT RowBinaryWithNamesAndTypes`, which the embedded
 *                            transport runs as `INSERT … SELECT * FROM format(…, '<the bytes>')`
 *                            through chDB's native raw insert (client.ts says why not the INSERT
 *                            with the data after it: chDB ends such data at the first "\n\n").
 *                            About 5 µs less JavaScript and 3–4 µs less engine CPU per row than
 *                            the JSON rows (BENCHMARKS.md, *Binary partials on the embedded engine*).
 *   ClickHouse server (HTTP) JSONCompactEachRow (toPartialRow below, JSON.stringify): a server takes
 *                            RowBinary in the request body as it is, but no server runs in our
 *                            tests, so the server keeps the format they prove.
 *
 * Both carry the same values: test/integration/partial-insert.test.ts compares the states and
 * sessions they give (the sink's rows against the statement before them, and a property test of
 * generated states with awkward strings, NULLs, empty arrays and huge counts and sets). One
 * difference: a lone UTF-16 surrogate (which the service's decoding already replaces, core
 * limits.ts wellFormed) is stored as U+FFFD in binary, and fails the whole JSON INSERT (code 25).
 *
 * JSONCompactEachRow: values in column order, named tuples as arrays (with
 * input_format_json_named_tuples_as_objects = 0 on the INSERT): fewer bytes and faster parsing
 * than JSONEachRow with keys (BENCHMARKS.md, the partials' format). Each candidate names its event
 * by an index into the row's `events` array, so a key (page, time, uuid) is written once per
 * event, not once per column.
 *
 * Measured and not taken (2026-12-01, `test/bench/row-formats.ts`; BENCHMARKS.md, *The partials'
 * write cost*): leaving out the columns at their default — JSONEachRow without those fields, or an
 * explicit column list of the columns not at their default in a flush (at the bench's flush size
 * only browser_version is empty in every row) — and TabSeparated: each within a few % of this
 * format's parse and insert CPU, and dearer to serialise. What cut the write cost was the
 * statement's `optimize_on_insert = 0` (partialInsertSql).
 */
import { ANY, COUNTS, formatTimestamp, KEYED, SETS, finalSet, type EventKey, type SessionState, type Value } from '@sessionizer/core';
import { PARTIAL_COLUMN_TYPES } from './schema/ddl.js';

/** Columns of session_partials_in, in order (schema/ddl.ts; a test holds them equal). */
export const PARTIAL_COLUMNS: readonly string[] = PARTIAL_COLUMN_TYPES.map(([c]) => c);

type Json = Value | readonly Json[];
export type PartialRow = Json[];

export function toPartialRow(s: SessionState): PartialRow {
  const events: [number, string, string][] = [];
  const index = new Map<string, number>();
  const ref = (key: EventKey): number => {
    let i = index.get(key.uuid);
    if (i === undefined) {
      i = events.length;
      index.set(key.uuid, i);
      events.push([key.page ? 1 : 0, formatTimestamp(key.ts), key.uuid]);
    }
    return i;
  };
  const row: PartialRow = [s.teamId, s.sessionId, formatTimestamp(s.startTs), formatTimestamp(s.endTs), events];
  for (let i = 0; i < KEYED.length; i += 1) {
    const c = s.keyed[i] ?? null;
    // an absent candidate: any event with a NULL value, which every state's min/max skips
    row.push(c === null ? [0, null] : [ref(c.key), c.value]);
  }
  row.push([ref(s.entryEvent.key), s.entryEvent.value]);
  for (let i = 0; i < ANY.length; i += 1) row.push(s.any[i] ?? null);
  for (let i = 0; i < COUNTS.length; i += 1) row.push([...(s.counts[i] ?? [])]);
  for (let i = 0; i < SETS.length; i += 1) row.push(finalSet(s.sets[i] ?? [], SETS[i]?.cap ?? null));
  return row;
}

/**
 * The INSERT statement the rows go with. It carries every setting the insert needs in its own
 * SETTINGS clause (async_insert = 0: see COMMON_SETTINGS in client.ts), so that the sink can send
 * it without per-call settings (sink.ts says why). In cluster mode `table` is a Distributed table,
 * and `distributed_foreground_insert = 1` makes the INSERT return only once every shard has its
 * rows: the service commits Kafka offsets when the INSERT returns, and with background forwarding
 * the rows would still be queued on the receiving node's disk at that point (commit-after-write).
 *
 * `optimize_on_insert = 0`: ClickHouse otherwise runs the AggregatingMergeTree's merge over every
 * inserted block before writing the part. A flush holds one partial per session, so that merge
 * finds no two rows to fold; it only re-aggregates each row (it re-hashes the sets'
 * groupUniqArrayArray arrays, which is all it changes: their order in the stored state). The
 * `sessions` view sorts every set, and background merges fold the partials of a session as before,
 * so the results are the same; the insert costs ~30 % less CPU (BENCHMARKS.md, the partials' write
 * cost, 2026-12-01).
 *
 * `enable_analyzer = 0`, on the embedded engine only (`embedded`): every INSERT runs the
 * materialized view's SELECT (~70 expressions) under the INSERT's settings, and ClickHouse's
 * default (new) analyzer spends ~13 ms analysing it per INSERT, ~17 % of the INSERT's CPU at the
 * sink's ~4 400-row INSERTs; the old analyzer gives the same states (BENCHMARKS.md, *The engine's
 * cost of an INSERT*; test/integration/partial-insert.test.ts). Not sent to a server, whose
 * version we do not pin (the setting's name is from ClickHouse 24.3 on).
 */
export function partialInsertSql(
  table: string,
  options: { readonly distributed?: boolean; readonly embedded?: boolean; readonly format?: PartialFormat } = {},
): string {
  const foreground = options.distributed === true ? ', distributed_foreground_insert = 1' : '';
  const analyzer = options.embedded === true ? ', enable_analyzer = 0' : '';
  const format = options.format ?? 'JSONCompactEachRow';
  const json = format === 'JSONCompactEachRow' ? 'input_format_json_named_tuples_as_objects = 0, ' : '';
  return `INSERT INTO ${table} SETTINGS ${json}async_insert = 0, optimize_on_insert = 0${analyzer}${foreground} FORMAT ${format}`;
}

/** The two formats the partial rows travel in (see the top of this file). */
export type PartialFormat = 'JSONCompactEachRow' | 'RowBinaryWithNamesAndTypes';
