/**
 * The ClickHouse schema (version 0002), as SQL text, generated from the session-property
 * catalog (@sessionizer/core catalog.ts). Names (database, cluster) are validated identifiers, so
 * they are interpolated; values never are.
 *
 *   session_partials_in   Null engine: what the sink inserts (one plain row per session partial)
 *        │  sessions_raw_mv (materialized view): rows → partial aggregate states
 *        ▼
 *   sessions_raw          AggregatingMergeTree of states, ORDER BY (team_id, session_start, session_id),
 *                         PARTITION BY toYYYYMM(session_start); session_start = the UUIDv7's time
 *        │  sessions (view): merge states, derive duration, bounce, channel type
 *        ▼
 *   sessions              what analysts query
 *
 * Cluster mode: the same with ON CLUSTER, Replicated* engines and _local tables behind
 * Distributed tables sharded by cityHash64(session_id), so all partials of a session meet on
 * one shard.
 */
import {
  ANY,
  CATALOG,
  CHANNEL_RULE_COLUMNS,
  COUNTS,
  DEFAULT_BOUNCE_THRESHOLD_SECONDS,
  ENTRY_EVENT,
  KEYED,
  SETS,
  type ChannelRules,
  type DerivedColumn,
  type ScalarProperty,
} from '@sessionizer/core';
import { channelTypeSql } from './channel-sql.js';

export interface SchemaContext {
  readonly database: string;
  /** Cluster name for ON CLUSTER / Replicated / Distributed; undefined = single node. */
  readonly cluster?: string | undefined;
  readonly bounceThresholdSeconds?: number | undefined;
  /** Per-team bounce thresholds (BOUNCE_THRESHOLD_SECONDS_BY_TEAM); in the view. */
  readonly bounceThresholdSecondsByTeam?: ReadonlyMap<number, number> | undefined;
  /** Custom channel rules per team (CHANNEL_RULES_FILE); in the view, so a change re-creates it. */
  readonly channelRules?: ChannelRules | undefined;
  /** The embedded engine (no CLICKHOUSE_URL): its merges run in the service's process (migration 0004); the sink's INSERT says `enable_analyzer = 0` (rows.ts). */
  readonly embedded?: boolean | undefined;
}

const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function assertIdentifier(value: string, what: string): string {
  if (!IDENTIFIER_RE.test(value)) {
    throw new Error(`${what} '${value}' is not a valid identifier (letters, digits, underscore; not starting with a digit)`);
  }
  return value;
}

const TS = "DateTime64(6, 'UTC')";
const KEY_TS = TS;

/**
 * How each stored property travels and is kept (PostHog-style SimpleAggregateFunction states,
 * which `npm run bench:flush` measured cheaper to write than argMin/argMax states):
 *
 *   partial row (JSONCompactEachRow)           state column of sessions_raw
 *   events   Array((page, ts, uuid))           —  the events the row's candidates came from
 *   keyed    (i, value): events[i]'s value     SimpleAggregateFunction(min|max, Tuple(null flag, [rank,] ts, uuid, value))
 *   entry_event (i, (values…))                 SimpleAggregateFunction(min, Tuple(rank, ts, uuid, Tuple(values…)))
 *   any      value                             SimpleAggregateFunction(min, Nullable(T))
 *   count    Array(UUID)                       AggregateFunction(uniqExactArray, Array(UUID))
 *   set      Array(String) (the row's values)  SimpleAggregateFunction(groupUniqArrayArray, Array(String))
 *
 * A keyed state's tuple starts with a null flag (entry/first: isNull, exit/last: isNotNull), so
 * that min/max skip NULL values as PostHog's argMin/argMax do; then the key, which ends in the
 * event uuid (as String: ClickHouse orders UUIDs unlike their text), so ties break as in
 * TypeScript (session.ts compareKeys).
 */
const EVENTS_TYPE = `Array(Tuple(page UInt8, ts ${TS}, uuid String))`;

const nullable = (p: ScalarProperty): string => `Nullable(${p.type})`;
const isMin = (p: ScalarProperty): boolean => p.aggregation === 'entry' || p.aggregation === 'first';
const hasRank = (p: ScalarProperty): boolean => p.aggregation === 'entry' || p.aggregation === 'exit';
const ENTRY_EVENT_VALUES = `Tuple(${ENTRY_EVENT.map((p) => `${p.column} ${nullable(p)}`).join(', ')})`;

function keyedStateType(p: ScalarProperty): string {
  const rank = hasRank(p) ? 'UInt8, ' : '';
  return `SimpleAggregateFunction(${isMin(p) ? 'min' : 'max'}, Tuple(UInt8, ${rank}${KEY_TS}, String, ${nullable(p)}))`;
}

/** The MV expression of a keyed state from its (i, value) column. */
function keyedStateSql(p: ScalarProperty): string {
  const ev = (k: number): string => `tupleElement(events[tupleElement(${p.column}, 1) + 1], ${k})`;
  const value = `tupleElement(${p.column}, 2)`;
  const [nullFlag, valueFlag] = isMin(p) ? ['toUInt8(1)', 'toUInt8(0)'] : ['toUInt8(0)', 'toUInt8(1)'];
  const rank = p.aggregation === 'entry' ? `toUInt8(1 - ${ev(1)}), ` : p.aggregation === 'exit' ? `${ev(1)}, ` : '';
  // A NULL value never wins, so its key is a constant: sparse columns (utm_term, ad ids …) then
  // store one repeated tuple that compresses to nothing instead of a time and a uuid per row.
  const zero = `${rank === '' ? '' : 'toUInt8(0), '}toDateTime64(0, 6, 'UTC'), ''`;
  return `if(isNull(${value}), (${nullFlag}, ${zero}, ${value}), (${valueFlag}, ${rank}${ev(2)}, ${ev(3)}, ${value}))`;
}

/** The view's value of a keyed state: the last element of min/max of the tuples. */
function keyedViewSql(p: ScalarProperty): string {
  return `tupleElement(${isMin(p) ? 'min' : 'max'}(${p.column}), ${hasRank(p) ? 5 : 4})`;
}

/** Columns of session_partials_in and their types, in order (rows.ts writes them in this order). */
export const PARTIAL_COLUMN_TYPES: readonly (readonly [string, string])[] = [
  ['team_id', 'Int64'],
  ['session_id', 'UUID'],
  ['min_ts', TS],
  ['max_ts', TS],
  ['events', EVENTS_TYPE],
  ...KEYED.map((p) => [p.column, `Tuple(UInt8, ${nullable(p)})`] as const),
  ['entry_event', `Tuple(UInt8, ${ENTRY_EVENT_VALUES})`],
  ...ANY.map((p) => [p.column, nullable(p)] as const),
  ...COUNTS.map((p) => [p.column, 'Array(UUID)'] as const),
  ...SETS.map((p) => [p.column, 'Array(String)'] as const),
];

/** Version 0002: the input table, the raw table of partial states, and the view between them. */
export function createPartialStateTablesSql(ctx: SchemaContext): string[] {
  const n = names(ctx);
  const out: string[] = [];
  out.push(`CREATE TABLE IF NOT EXISTS ${n.inputLocal}${n.onCluster} (
${PARTIAL_COLUMN_TYPES.map(([c, t]) => `  ${c} ${t}`).join(',\n')}
) ENGINE = Null`);
  const states: string[] = [
    `  min_ts SimpleAggregateFunction(min, ${TS})`,
    `  max_ts SimpleAggregateFunction(max, ${TS})`,
    `  max_inserted_at SimpleAggregateFunction(max, ${TS})`,
    ...KEYED.map((p) => `  ${p.column} ${keyedStateType(p)}`),
    `  entry_event SimpleAggregateFunction(min, Tuple(UInt8, ${KEY_TS}, String, ${ENTRY_EVENT_VALUES}))`,
    ...ANY.map((p) => `  ${p.column} SimpleAggregateFunction(min, ${nullable(p)})`),
    ...COUNTS.map((p) => `  ${p.column} AggregateFunction(uniqExactArray, Array(UUID))`),
    ...SETS.map((p) => `  ${p.column} SimpleAggregateFunction(groupUniqArrayArray, Array(String))`),
  ];
  out.push(`CREATE TABLE IF NOT EXISTS ${n.rawLocal}${n.onCluster} (
  team_id Int64,
  session_start DateTime64(3, 'UTC'),
  session_id UUID,
${states.join(',\n')}
) ENGINE = ${engine(ctx, 'AggregatingMergeTree', 'sessions_raw')}
PARTITION BY toYYYYMM(session_start)
ORDER BY (team_id, session_start, session_id)`);
  const ev = (k: number): string => `tupleElement(events[tupleElement(entry_event, 1) + 1], ${k})`;
  const selects: string[] = [
    'team_id',
    "UUIDv7ToDateTime(session_id, 'UTC') AS session_start",
    'session_id',
    'min_ts',
    'max_ts',
    `now64(6, 'UTC') AS max_inserted_at`,
    ...KEYED.map((p) => `${keyedStateSql(p)} AS ${p.column}`),
    `(toUInt8(1 - ${ev(1)}), ${ev(2)}, ${ev(3)}, tupleElement(entry_event, 2)) AS entry_event`,
    ...ANY.map((p) => p.column),
    ...COUNTS.map((p) => `initializeAggregation('uniqExactArrayState', ${p.column}) AS ${p.column}`),
    ...SETS.map((p) => p.column),
  ];
  // No GROUP BY: a partial row is one session's state already; the table merges rows.
  out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.mv}${n.onCluster} TO ${n.rawLocal} AS
SELECT
${selects.map((s) => `  ${s}`).join(',\n')}
FROM ${n.inputLocal}`);
  if (ctx.cluster !== undefined) {
    const cluster = ctx.cluster;
    out.push(
      `CREATE TABLE IF NOT EXISTS ${n.input}${n.onCluster} AS ${n.inputLocal}
ENGINE = Distributed(${cluster}, ${n.db}, session_partials_in_local, cityHash64(session_id))`,
    );
    out.push(
      `CREATE TABLE IF NOT EXISTS ${n.raw}${n.onCluster} AS ${n.rawLocal}
ENGINE = Distributed(${cluster}, ${n.db}, sessions_raw_local, cityHash64(session_id))`,
    );
  }
  return out;
}

function thresholdSql(ctx: SchemaContext): string {
  const check = (t: number, what: string): number => {
    if (!Number.isFinite(t) || t < 0) throw new Error(`bounce threshold${what} must be a non-negative number, got ${t}`);
    return t;
  };
  const global = check(ctx.bounceThresholdSeconds ?? DEFAULT_BOUNCE_THRESHOLD_SECONDS, '');
  const teams = [...(ctx.bounceThresholdSecondsByTeam ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
  if (teams.length === 0) return String(global);
  for (const [team, t] of teams) {
    if (!Number.isSafeInteger(team)) throw new Error(`bounce threshold team must be an integer, got ${team}`);
    check(t, ` of team ${team}`);
  }
  return `transform(team_id, [${teams.map(([team]) => team).join(', ')}], [${teams.map(([, t]) => `toFloat64(${t})`).join(', ')}], toFloat64(${global}))`;
}

/**
 * The derived columns, in SQL: the same definitions as DERIVATIONS (@sessionizer/core derive.ts);
 * a Record over DerivedColumn, so the compiler holds both to the catalog.
 */
export const DERIVED_SQL: Record<DerivedColumn, (ctx: SchemaContext) => string> = {
  session_timestamp: () => "toDateTime64(session_start, 6, 'UTC')",
  session_duration: () => "dateDiff('second', start_timestamp, end_timestamp)",
  entry_pathname: () => 'path(entry_current_url)',
  entry_hostname: () => 'domain(entry_current_url)',
  exit_pathname: () => 'path(exit_current_url)',
  exit_hostname: () => 'domain(exit_current_url)',
  num_uniq_urls: () => 'length(urls)',
  channel_type: (ctx) =>
    channelTypeSql(
      {
        utmSource: 'channel_utm_source',
        utmMedium: 'channel_utm_medium',
        utmCampaign: 'channel_utm_campaign',
        referringDomain: 'channel_referring_domain',
        hasGclid: 'entry_has_gclid',
        hasFbclid: 'entry_has_fbclid',
        gadSource: 'channel_gad_source',
        sourceSite: 'channel_source_site',
        referringSite: 'channel_referring_site',
      },
      ctx.channelRules === undefined ? undefined : { rules: ctx.channelRules, teamId: 'team_id', columns: CHANNEL_RULE_COLUMNS },
    ),
  is_bounce: (ctx) =>
    `CAST(if(pageview_count + screen_count = 0, NULL,
          NOT (pageview_count + screen_count >= 2 OR autocapture_count > 0 OR session_duration >= ${thresholdSql(ctx)})),
       'Nullable(Bool)')`,
};

/**
 * The analysts' view: one row per session, merged from all partials, columns in catalog order.
 * Re-created whenever its text changes (a repeatable migration), e.g. when the channel data, a
 * team's custom channel rules or the bounce thresholds do.
 */
export function sessionsViewSql(ctx: SchemaContext): string {
  const n = names(ctx);
  const merged: string[] = [
    'team_id',
    'session_start',
    'session_id',
    'min(min_ts) AS start_timestamp',
    'max(max_ts) AS end_timestamp',
    'max(max_inserted_at) AS max_inserted_at',
    ...KEYED.map((p) => `${keyedViewSql(p)} AS ${p.column}`),
    'tupleElement(min(entry_event), 4) AS entry_event',
    ...ANY.map((p) => `min(${p.column}) AS ${p.column}`),
    ...COUNTS.map((p) => `uniqExactArrayMerge(${p.column}) AS ${p.column}`),
    ...SETS.map((p) => {
      const sorted = `arraySort(groupUniqArrayArray(${p.column}))`;
      return `${p.cap === null ? sorted : `arraySlice(${sorted}, 1, ${p.cap})`} AS ${p.column}`;
    }),
  ];
  const unpacked = ENTRY_EVENT.map((p) => `tupleElement(entry_event, '${p.column}') AS ${p.column}`);
  // Every column is CAST to the catalog's viewType: the view's types are the documented ones
  // (not SimpleAggregateFunction(…) or a Nullable that can never be NULL).
  const columns = CATALOG.filter((p) => !(p.kind === 'scalar' && p.hidden === true)).map(
    (p) => `CAST(${p.kind === 'derived' ? DERIVED_SQL[p.column](ctx) : p.column}, '${p.viewType.replaceAll("'", "\\'")}') AS ${p.column}`,
  );
  return `CREATE OR REPLACE VIEW ${n.view}${n.onCluster} AS
SELECT
${columns.map((c) => `  ${c}`).join(',\n')}
FROM
(
  SELECT
    *,
${unpacked.map((c) => `    ${c}`).join(',\n')}
  FROM
  (
    SELECT
${merged.map((c) => `      ${c}`).join(',\n')}
    FROM ${n.raw}
    GROUP BY team_id, session_start, session_id
  )
)`;
}
export interface Names {
  readonly db: string;
  readonly onCluster: string;
  /** Tables that hold data on each node (the _local ones in cluster mode). */
  readonly inputLocal: string;
  readonly rawLocal: string;
  /** What the sink inserts into and what the view reads (Distributed in cluster mode). */
  readonly input: string;
  readonly raw: string;
  readonly mv: string;
  readonly view: string;
  readonly migrations: string;
}

export function names(ctx: SchemaContext): Names {
  const db = assertIdentifier(ctx.database, 'database');
  const cluster = ctx.cluster === undefined ? undefined : assertIdentifier(ctx.cluster, 'cluster');
  const local = cluster === undefined ? '' : '_local';
  return {
    db,
    onCluster: cluster === undefined ? '' : ` ON CLUSTER ${cluster}`,
    inputLocal: `${db}.session_partials_in${local}`,
    rawLocal: `${db}.sessions_raw${local}`,
    input: `${db}.session_partials_in`,
    raw: `${db}.sessions_raw`,
    mv: `${db}.sessions_raw_mv`,
    view: `${db}.sessions`,
    migrations: `${db}.schema_migrations`,
  };
}

export function engine(ctx: SchemaContext, kind: 'AggregatingMergeTree' | 'ReplacingMergeTree', table: string, args = ''): string {
  if (ctx.cluster === undefined) return `${kind}(${args})`;
  const path = `'/clickhouse/tables/{shard}/${ctx.database}/${table}'`;
  return `Replicated${kind}(${path}, '{replica}'${args === '' ? '' : `, ${args}`})`;
}

export function createDatabaseSql(ctx: SchemaContext): string {
  const n = names(ctx);
  return `CREATE DATABASE IF NOT EXISTS ${n.db}${n.onCluster}`;
}

export function createMigrationsTableSql(ctx: SchemaContext): string {
  const n = names(ctx);
  return `CREATE TABLE IF NOT EXISTS ${n.migrations}${n.onCluster} (
  version String,
  name String,
  checksum String,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ${engine(ctx, 'ReplacingMergeTree', 'schema_migrations', 'applied_at')}
ORDER BY version`;
}

/**
 * Version 0003 (after the catalog's 0002): the state of server-side sessions (`@sessionizer/core` server-sessions), one row
 * per (source partition, team_id, distinct_id) and flush that changed it, `version` = the flush's
 * offset snapshot of that partition. A key is read back as its row with the greatest version ≤
 * the offset where consumption resumes (ARCHITECTURE.md, *Server-side sessions*): rows of later
 * versions may exist (written by a flush whose commit failed, or by an old owner) and must be
 * skipped, so older versions are kept, not replaced; ReplacingMergeTree only folds rows written
 * twice for one version (equal by construction). Rows go after 30 days without being rewritten.
 */
export function createServerSessionStateSql(ctx: SchemaContext): string[] {
  const n = names(ctx);
  const local = ctx.cluster === undefined ? '' : '_local';
  const out = [
    `CREATE TABLE IF NOT EXISTS ${n.db}.server_session_state${local}${n.onCluster} (
  topic String,
  partition UInt32,
  team_id Int64,
  distinct_id String,
  version UInt64,
  session_id UUID,
  start_ts ${TS},
  last_ts ${TS},
  written_at DateTime('UTC') DEFAULT now()
) ENGINE = ${engine(ctx, 'ReplacingMergeTree', 'server_session_state')}
ORDER BY (topic, partition, team_id, distinct_id, version)
TTL written_at + INTERVAL 30 DAY`,
  ];
  if (ctx.cluster !== undefined) {
    out.push(`CREATE TABLE IF NOT EXISTS ${n.db}.server_session_state${n.onCluster} AS ${n.db}.server_session_state_local
ENGINE = Distributed(${ctx.cluster}, ${n.db}, server_session_state_local, cityHash64(topic, partition))`);
  }
  return out;
}
