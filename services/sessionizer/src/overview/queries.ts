/**
 * The overview's SQL: one statement per panel, all over the `sessions` view, so every number is
 * what the view gives for the same filters. Identifiers come from our own catalog (the database
 * name is a validated identifier, columns come from DIMENSIONS); every caller's value — team,
 * dates, filter values — is a `{name:Type}` parameter bound by ClickHouse, never SQL text.
 */
import type { Dimension } from './dimensions.js';
import type { Filter, Period } from './request.js';

export interface Statement {
  readonly sql: string;
  readonly params: Readonly<Record<string, string | number>>;
}

export interface Scope {
  /** A validated identifier (config). */
  readonly database: string;
  readonly team: string;
  readonly period: Period;
  readonly filters: readonly Filter[];
  /**
   * The table of partial rows to find the range's sessions in (see `where`): the raw table
   * (single node) or, in cluster mode, each shard's local one; undefined when it lacks the
   * plain `team_id`, `session_id` and `min_ts` columns (then no pruning).
   */
  readonly candidates?: CandidateTable | undefined;
}

export const CANDIDATE_TABLES = ['sessions_raw', 'sessions_raw_local'] as const;
export type CandidateTable = (typeof CANDIDATE_TABLES)[number];

/**
 * Why the range is pruned through the raw table's `min_ts` rather than by the session id's
 * time. The range is on `start_timestamp`, which the view computes after merging a session's
 * partials, so a filter on it alone merges every session of the team. A session starts in
 * [s, e) only if one of its partial rows has `min_ts` in [s, e) (its start is the least
 * `min_ts`), so `session_id IN (those sessions)` keeps every session of the range and the
 * view's own filter then drops the few extra ones: exact, whatever the clocks did. A range on
 * the UUIDv7 time (± a buffer, as PostHog's SESSION_BUFFER_DAYS) is not: a capture message's
 * window is judged on the client's clock, so a client whose clock runs days slow has a session
 * whose first event (server time) lies days after its id's time.
 *
 * Reading `session_id` and `min_ts` costs a few bytes per partial row. ClickHouse pushes the IN
 * through the view's GROUP BY (session_id is a key) into the raw table's PREWHERE, so only the
 * candidates' states are read and merged (`GLOBAL IN` is not moved to PREWHERE: measured 1.9×
 * the CPU for the breakdowns at 1M sessions). In cluster mode the subquery reads each shard's
 * local table: the Distributed table shards by session_id, so every partial of a shard's
 * sessions is on that shard (and an IN over the Distributed table inside a distributed query
 * is refused by the default distributed_product_mode).
 */
function candidates(scope: Scope, table: CandidateTable, start: string): string {
  return `session_id IN (SELECT session_id FROM ${identifier(scope.database)}.${table} WHERE team_id = {team:Int64} AND min_ts >= {${start}:${TS}} AND min_ts < {end:${TS}})`;
}

const TS = "DateTime64(6, 'UTC')";
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function identifier(name: string): string {
  // Defence in depth: callers pass catalog names, which always match.
  if (!IDENTIFIER_RE.test(name)) throw new Error(`not an identifier: ${name}`);
  return name;
}

function view(database: string): string {
  return `${identifier(database)}.sessions`;
}

/** WHERE clause and parameters: team, [start, end), filters. */
function where(scope: Scope, start: 'start' | 'previous_start'): Statement {
  const params: Record<string, string | number> = {
    team: scope.team,
    start: scope.period.start,
    end: scope.period.end,
  };
  if (start === 'previous_start') params['previous_start'] = scope.period.previousStart;
  const terms = [`team_id = {team:Int64}`, `start_timestamp >= {${start}:${TS}}`, `start_timestamp < {end:${TS}}`];
  if (scope.candidates !== undefined) terms.push(candidates(scope, scope.candidates, start));
  scope.filters.forEach((f, i) => {
    const column = identifier(f.column);
    if (f.value === null) terms.push(`isNull(${column})`);
    else {
      terms.push(`${column} = {f${i}:String}`);
      params[`f${i}`] = f.value;
    }
  });
  return { sql: terms.join('\n  AND '), params };
}

/** The columns (table, name, type) of the view and of the raw tables behind it. */
export function columnsStatement(database: string): Statement {
  return {
    sql: `SELECT table, name, type FROM system.columns WHERE database = {database:String} AND table IN ('sessions', 'sessions_raw', 'sessions_raw_local') ORDER BY table, position`,
    params: { database: identifier(database) },
  };
}

/** Teams with their sessions and first/last day with data (the team selector, default range). */
export function teamsStatement(database: string): Statement {
  return {
    sql: `SELECT toString(team_id) AS team, count() AS sessions,
  toString(toDate(min(start_timestamp))) AS first_day, toString(toDate(max(start_timestamp))) AS last_day
FROM ${view(database)}
GROUP BY team_id
ORDER BY sessions DESC, team_id
LIMIT 1000`,
    params: {},
  };
}

/**
 * The headline tiles for the range and the previous period of equal length, in one pass over
 * both. Median: the textbook one (the mean of the two middle values for an even count).
 * Bounce rate: bounces over sessions whose is_bounce is not NULL (as PostHog's avg(is_bounce)).
 */
export function tilesStatement(scope: Scope): Statement {
  const w = where(scope, 'previous_start');
  const side = (cond: string, prefix: string): string =>
    [
      `countIf(${cond}) AS ${prefix}sessions`,
      `uniqExactIf(distinct_id, ${cond}) AS ${prefix}visitors`,
      `sumIf(pageview_count, ${cond}) AS ${prefix}pageviews`,
      `quantileExactInclusiveIf(0.5)(session_duration, ${cond}) AS ${prefix}median_duration`,
      `avgIf(session_duration, ${cond}) AS ${prefix}avg_duration`,
      `countIf(${cond} AND ifNull(is_bounce, false)) AS ${prefix}bounces`,
      `countIf(${cond} AND isNotNull(is_bounce)) AS ${prefix}bounce_base`,
    ].join(',\n  ');
  return {
    sql: `SELECT
  ${side('current', '')},
  ${side('NOT current', 'previous_')}
FROM (
  SELECT start_timestamp >= {start:${TS}} AS current, distinct_id, pageview_count, session_duration, is_bounce
  FROM ${view(scope.database)}
  WHERE ${w.sql}
)`,
    params: w.params,
  };
}

/** Sessions and visitors per hour or day of the range (empty buckets are filled by the caller). */
export function seriesStatement(scope: Scope): Statement {
  const w = where(scope, 'start');
  const bucket = scope.period.bucket === 'hour' ? 'toStartOfHour' : 'toStartOfDay';
  return {
    sql: `SELECT toString(${bucket}(toDateTime(start_timestamp, 'UTC'))) AS bucket, count() AS sessions, uniqExact(distinct_id) AS visitors
FROM ${view(scope.database)}
WHERE ${w.sql}
GROUP BY bucket
ORDER BY bucket`,
    params: w.params,
  };
}

/** Rows shown per table. */
export const TABLE_ROWS = 10;

/** The series' rows in `breakdownsStatement` (not a column name: those are identifiers, without '.'). */
export const SERIES_PANEL = '.series';

/**
 * A breakdown table: the top values of one column by sessions (ties by value, NULL last), with
 * visitors, the number of distinct values and the total sessions (window functions over the
 * groups, computed before LIMIT). No bounce rate here: it needs the three uuid-set merges of
 * is_bounce, the most expensive part of reading the view (BENCHMARKS.md).
 */
export function tableStatement(scope: Scope, dimension: Dimension): Statement {
  const w = where(scope, 'start');
  const column = identifier(dimension.column);
  return {
    sql: `SELECT ${column} AS value, count() AS sessions, uniqExact(distinct_id) AS visitors,
  count() OVER () AS distinct_values, sum(count()) OVER () AS total_sessions
FROM ${view(scope.database)}
WHERE ${w.sql}
GROUP BY value
ORDER BY sessions DESC, value ASC NULLS LAST
LIMIT {rows:UInt32}`,
    params: { ...w.params, rows: TABLE_ROWS },
  };
}

/**
 * The chart and every breakdown table in one statement, so the range's sessions are read and
 * merged once per page load instead of once per panel (BENCHMARKS.md: merging the sessions'
 * states is most of a panel's cost). GROUPING SETS group the same rows by the time bucket and
 * by each dimension; per set (`panel`), the same numbers and the same order as `tableStatement`
 * and `seriesStatement`: sessions and visitors per value, the number of values and the total
 * sessions (window functions over the set's groups), the top `rows` by sessions, ties by value,
 * NULL last. Every series bucket is returned.
 */
export function breakdownsStatement(scope: Scope, dimensions: readonly Dimension[]): Statement {
  const w = where(scope, 'start');
  const bucket = scope.period.bucket === 'hour' ? 'toStartOfHour' : 'toStartOfDay';
  const columns = dimensions.map((d) => identifier(d.column));
  // `bucket` cannot collide with a dimension: dimensions are columns of the view, none is `bucket`
  const sets = ['bucket', ...columns];
  const which = (then: (c: string) => string, otherwise: string): string =>
    `multiIf(${sets.map((c) => `grouping(${c}) = 0, ${then(c)}`).join(', ')}, ${otherwise})`;
  return {
    sql: `SELECT panel, value, sessions, visitors, distinct_values, total_sessions
FROM (
  SELECT
    ${which((c) => (c === 'bucket' ? `'${SERIES_PANEL}'` : `'${c}'`), "''")} AS panel,
    ${which((c) => c, 'NULL')} AS value,
    count() AS sessions,
    uniqExact(distinct_id) AS visitors,
    count() OVER (PARTITION BY panel) AS distinct_values,
    sum(count()) OVER (PARTITION BY panel) AS total_sessions,
    row_number() OVER (PARTITION BY panel ORDER BY count() DESC, value ASC NULLS LAST) AS rank
  FROM (
    SELECT toString(${bucket}(toDateTime(start_timestamp, 'UTC'))) AS bucket, ${[...columns, 'distinct_id'].join(', ')}
    FROM ${view(scope.database)}
    WHERE ${w.sql}
  )
  GROUP BY GROUPING SETS (${sets.map((c) => `(${c})`).join(', ')})
)
WHERE panel = '${SERIES_PANEL}' OR rank <= {rows:UInt32}
ORDER BY panel, rank`,
    params: { ...w.params, rows: TABLE_ROWS },
  };
}
