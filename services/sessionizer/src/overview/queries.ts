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
  /** The view has `session_timestamp` (the sort key's session time): prune by it. */
  readonly sessionTimestamp?: boolean;
}

/**
 * How far a session's first event may lie from its id's time and still be found. The date
 * range is on start_timestamp, which the view computes after merging, so a filter on it alone
 * reads every session of the team; a range on session_timestamp (the UUIDv7 time, the table's
 * sort key) lets ClickHouse skip the rest. Events are accepted only within 24 h after the id's
 * time (plus the small clock tolerance), so 3 days holds with a wide margin; PostHog prunes its
 * sessions table the same way (SESSION_BUFFER_DAYS = 3).
 */
export const SESSION_TIMESTAMP_BUFFER_DAYS = 3;

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
  if (scope.sessionTimestamp === true) {
    const buffer = `INTERVAL ${SESSION_TIMESTAMP_BUFFER_DAYS} DAY`;
    terms.push(`session_timestamp >= {${start}:${TS}} - ${buffer}`, `session_timestamp < {end:${TS}} + ${buffer}`);
  }
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

/** The view's columns (name, type): which panels and filters exist. */
export function columnsStatement(database: string): Statement {
  return {
    sql: `SELECT name, type FROM system.columns WHERE database = {database:String} AND table = 'sessions' ORDER BY position`,
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
