/**
 * Reading schema 0001's `sessions_raw` back as plain (key, value) pairs, in SQL, for the
 * migration to states of the form `SimpleAggregateFunction(min|max, Tuple(key, value))`.
 *
 * `argMinMerge` returns only the value; the key is inside the state. ClickHouse serialises an
 * argMin/argMax state as the value's single-value state followed by the key's:
 *
 *   argMinState(v, k)  =  minState(v) ‖ minState(k)        (as bytes: CAST(state AS String))
 *
 * where a single-value state is a has-value byte and the value's binary (String: Int32 size
 * including a trailing NUL, or -1 when empty, then the bytes). So the value is
 * `finalizeAggregation(state)`; its own single-value state, `initializeAggregation('minState', v)`,
 * is exactly the state's prefix, and the rest, cast back to `AggregateFunction(min, K)`, is the
 * key. No byte is parsed by hand, and every row is checked: `argMinState(value, key)` built
 * again from what was read must equal the stored state byte for byte (`exact`). A state whose
 * bytes do not split this way fails that check (or the cast), never silently.
 *
 * Works wherever plain SQL does (embedded engine, server, each shard of a cluster): the
 * migration is an INSERT … SELECT, no data passes through Node.
 *
 * The 0001 types are frozen here, not imported: this module reads data written by that
 * version, whatever ddl.ts says later (`v1-states.test.ts` holds them equal to migration 0001).
 */

const TS = "DateTime64(6, 'UTC')";

/** The 0001 types, verbatim. */
export const V1_TYPES = {
  entry: `Tuple(
    current_url Nullable(String), pathname Nullable(String),
    utm_source Nullable(String), utm_medium Nullable(String), utm_campaign Nullable(String),
    utm_term Nullable(String), utm_content Nullable(String), referring_domain Nullable(String),
    gclid Nullable(String), gad_source Nullable(String), fbclid Nullable(String),
    source_site Nullable(String), referring_site Nullable(String))`,
  exit: 'Tuple(current_url Nullable(String), pathname Nullable(String))',
  rankKey: `Tuple(rank UInt8, ts ${TS}, uuid String)`,
  lastKey: `Tuple(ts ${TS}, uuid String)`,
} as const;

/** One argMin/argMax state column: which function, and its value and key types. */
export interface ArgStateColumn {
  readonly fn: 'argMin' | 'argMax';
  readonly valueType: string;
  readonly keyType: string;
}

/** The three argMin/argMax columns of 0001's sessions_raw. */
export const V1_ARG_STATES = {
  distinct_id: { fn: 'argMax', valueType: 'String', keyType: V1_TYPES.lastKey },
  entry: { fn: 'argMin', valueType: V1_TYPES.entry, keyType: V1_TYPES.rankKey },
  exit: { fn: 'argMax', valueType: V1_TYPES.exit, keyType: V1_TYPES.rankKey },
} as const satisfies Record<string, ArgStateColumn>;

/** The uniqExactArray(Array(UUID)) count states of 0001; they cannot be read back as uuids. */
export const V1_COUNT_STATES = ['pageview_uuids', 'autocapture_uuids', 'screen_uuids'] as const;

/** SQL expressions over one state expression `state` (a column name or any expression of the state's type). */
export interface ArgStateParts {
  /** The state's value (the column's default when `empty`). */
  readonly value: string;
  /** The state's key, of the column's key type (its default when `empty`). */
  readonly key: string;
  /** 1 when the state holds no value at all (never written by sessions_raw_mv; see below). */
  readonly empty: string;
  /** 1 when `key`/`value` rebuild the stored state byte for byte (always 1 for an empty state). */
  readonly exact: string;
}

function emptyArgStateBytes(c: ArgStateColumn): string {
  return `CAST(arrayReduce('${c.fn}State', CAST([] AS Array(${c.valueType})), CAST([] AS Array(${c.keyType}))) AS String)`;
}

/**
 * Expressions reading one argMin/argMax state. They repeat sub-expressions rather than use
 * aliases, so that several columns can be read in one SELECT without name clashes; ClickHouse
 * computes a repeated expression once (common subexpression elimination in the query plan).
 */
export function argStateParts(state: string, c: ArgStateColumn): ArgStateParts {
  const bytes = `CAST(${state} AS String)`;
  const value = `finalizeAggregation(${state})`;
  const valueBytes = `CAST(initializeAggregation('minState', ${value}) AS String)`;
  const empty = `(${bytes} = ${emptyArgStateBytes(c)})`;
  const emptyKeyBytes = `CAST(arrayReduce('minState', CAST([] AS Array(${c.keyType}))) AS String)`;
  const keyBytes = `if(${empty}, ${emptyKeyBytes}, substring(${bytes}, length(${valueBytes}) + 1))`;
  const key = `finalizeAggregation(CAST(${keyBytes} AS AggregateFunction(min, ${c.keyType})))`;
  const exact = `(${empty} OR CAST(initializeAggregation('${c.fn}State', ${value}, ${key}) AS String) = ${bytes})`;
  return { value, key, empty, exact };
}

export interface V1ReadOptions {
  /** The 0001 raw table to read (sessions_raw, or sessions_raw_local on a shard). */
  readonly source: string;
  /** An optional WHERE condition, e.g. one partition: `_partition_id = '202611'`. */
  readonly where?: string | undefined;
}

/**
 * One row per session of a 0001 raw table: its partials' states merged (as the `sessions` view
 * merges them), then read as plain columns:
 *
 *   team_id, session_start, session_id, min_ts, max_ts,
 *   last_key, distinct_id, entry_key, entry, exit_key, exit      (keys and values)
 *   pageview_uuids, autocapture_uuids, screen_uuids               (the merged count states, as stored)
 *   empty_states (UInt8: how many of the three arg states are empty), exact (UInt8: all rebuild exactly)
 *
 * Merging first keeps the result exact: the merged argMin state's (key, value) is the minimum
 * of the partials' (key, value) pairs, because keys end with the event uuid and so only tie
 * on the same event.
 */
export function v1SessionsSql(options: V1ReadOptions): string {
  const d = argStateParts('distinct_id_state', V1_ARG_STATES.distinct_id);
  const en = argStateParts('entry_state', V1_ARG_STATES.entry);
  const ex = argStateParts('exit_state', V1_ARG_STATES.exit);
  const where = options.where === undefined ? '' : `\n  WHERE ${options.where}`;
  return `SELECT
  team_id,
  session_start,
  session_id,
  min_ts,
  max_ts,
  ${d.key} AS last_key,
  ${d.value} AS distinct_id,
  ${en.key} AS entry_key,
  ${en.value} AS entry,
  ${ex.key} AS exit_key,
  ${ex.value} AS exit,
  ${V1_COUNT_STATES.join(',\n  ')},
  toUInt8(${d.empty} + ${en.empty} + ${ex.empty}) AS empty_states,
  toUInt8(${d.exact} AND ${en.exact} AND ${ex.exact}) AS exact
FROM
(
  SELECT
    team_id,
    session_start,
    session_id,
    min(min_ts) AS min_ts,
    max(max_ts) AS max_ts,
    argMaxMergeState(distinct_id) AS distinct_id_state,
    argMinMergeState(entry) AS entry_state,
    argMaxMergeState(exit) AS exit_state,
    ${V1_COUNT_STATES.map((c) => `uniqExactArrayMergeState(${c}) AS ${c}`).join(',\n    ')}
  FROM ${options.source}${where}
  GROUP BY team_id, session_start, session_id
)`;
}
