/**
 * Version 0004: table settings that bound the memory of `sessions_raw`'s background merges on the
 * embedded engine, where every merge runs inside the service's process and its memory is the
 * service's RSS (BENCHMARKS.md, *Memory*; `npm run bench:merge-memory` measures one merge per
 * setting). A ClickHouse server keeps its defaults: its merges are not the service's memory, and
 * it has the memory for wide parts and unbounded merges.
 *
 * An AggregatingMergeTree merges horizontally (the vertical algorithm, which would read one column
 * at a time, does not apply to it), so a merge holds read and write buffers for every column
 * stream of every part at once: our ~70 columns of tuples are ~300 streams per wide part.
 */
import { names, type SchemaContext } from './ddl.js';

/** The settings, in the order they are written (the migration's checksum depends on it). */
export const EMBEDDED_RAW_TABLE_SETTINGS: readonly (readonly [string, number])[] = [
  // Compact parts: one data file per part instead of a file per column stream, so reading a part
  // during a merge takes one buffer, not ~300.
  ['min_bytes_for_wide_part', 1_000_000_000_000],
  // Write buffers that start at 16 KiB and grow, instead of 1 MiB per column stream.
  ['min_columns_to_activate_adaptive_write_buffer', 1],
  // What a merge holds grows with the number of parts it reads at once (their buffers), up to
  // ~50–75 MiB per part once parts are a few MB: at most 4 parts per merge bounds it, at the cost
  // of more, smaller merges (rows are rewritten a few more times as parts grow). Below the merge
  // selector's base (5) it also defers merges: 4 equal parts merge once a partition holds ~23;
  // 3 or 2 would wait for ~37 or ~50 and did not lower the peak (BENCHMARKS.md, *Merge memory*).
  ['max_parts_to_merge_at_once', 4],
];

export function embeddedMergeSettingsSql(ctx: SchemaContext): string[] {
  if (ctx.embedded !== true || ctx.cluster !== undefined) return [];
  const n = names(ctx);
  return [`ALTER TABLE ${n.rawLocal} MODIFY SETTING ${EMBEDDED_RAW_TABLE_SETTINGS.map(([k, v]) => `${k} = ${v}`).join(', ')}`];
}
