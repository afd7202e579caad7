/**
 * A stand-in for the new state layout until the catalog's schema lands: the candidate that
 * `npm run bench:flush` measured (argMin/argMax states become SimpleAggregateFunction(min|max,
 * Tuple(key, value)); the count states stay as they are), with the 0001 columns and the 0001
 * partial row. It gives the upgrade (packages/clickhouse/src/schema/upgrade-v1.ts) a real target
 * to be tested against; the release that adopts the new layout supplies its own UpgradeTarget.
 */
import { names, sessionsViewSql, V1_COUNT_STATES, V1_TYPES, type SchemaContext, type UpgradeTarget } from '@sessionizer/clickhouse';

const TS = "DateTime64(6, 'UTC')";

export const PROVISIONAL_V2: UpgradeTarget = {
  rawColumns: [
    'team_id Int64',
    "session_start DateTime64(3, 'UTC')",
    'session_id UUID',
    `min_ts SimpleAggregateFunction(min, ${TS})`,
    `max_ts SimpleAggregateFunction(max, ${TS})`,
    `last SimpleAggregateFunction(max, Tuple(${V1_TYPES.lastKey}, String))`,
    `entry SimpleAggregateFunction(min, Tuple(${V1_TYPES.rankKey}, ${V1_TYPES.entry}))`,
    `exit SimpleAggregateFunction(max, Tuple(${V1_TYPES.rankKey}, ${V1_TYPES.exit}))`,
    ...V1_COUNT_STATES.map((c) => `${c} AggregateFunction(uniqExactArray, Array(UUID))`),
  ].join(',\n  '),
  fromV1Session: [
    'team_id',
    'session_start',
    'session_id',
    'min_ts',
    'max_ts',
    '(last_key, distinct_id) AS last',
    '(entry_key, entry) AS entry',
    '(exit_key, exit) AS exit',
    ...V1_COUNT_STATES,
  ].join(',\n  '),
  fromV1Partial: [
    'team_id',
    "UUIDv7ToDateTime(session_id, 'UTC') AS session_start",
    'session_id',
    'min_ts',
    'max_ts',
    '(last_key, distinct_id) AS last',
    '(entry_key, entry) AS entry',
    '(exit_key, exit) AS exit',
    ...V1_COUNT_STATES.map((c) => `initializeAggregation('uniqExactArrayState', ${c}) AS ${c}`),
  ].join(',\n  '),
  // aggregates under other names first: `tupleElement(min(entry), 2) AS entry` would make the
  // next `entry` the alias (an aggregate inside an aggregate)
  comparableSql: (source) => `SELECT team_id, session_id, min_ts, max_ts,
  tupleElement(l, 1) AS last_key, tupleElement(l, 2) AS distinct_id, tupleElement(e, 1) AS entry_key, tupleElement(e, 2) AS entry,
  tupleElement(x, 1) AS exit_key, tupleElement(x, 2) AS exit, pageviews, autocaptures, screens
FROM
(
  SELECT team_id, session_id, min(min_ts) AS min_ts, max(max_ts) AS max_ts, max(last) AS l, min(entry) AS e, max(exit) AS x,
    uniqExactArrayMerge(pageview_uuids) AS pageviews, uniqExactArrayMerge(autocapture_uuids) AS autocaptures,
    uniqExactArrayMerge(screen_uuids) AS screens
  FROM ${source}
  GROUP BY team_id, session_start, session_id
)`,
};

/** What the new release's migrations would create after the cut-over: input, view into the new raw table, `sessions`. */
export function provisionalV2Sql(ctx: SchemaContext): string[] {
  const n = names(ctx);
  const view = sessionsViewSql(ctx);
  const replaced = view
    .replace('argMaxMerge(distinct_id) AS distinct_id', 'tupleElement(max(last), 2) AS distinct_id')
    .replace('argMinMerge(entry) AS entry', 'tupleElement(min(entry), 2) AS entry')
    .replace('argMaxMerge(exit) AS exit', 'tupleElement(max(exit), 2) AS exit');
  if ((replaced.match(/tupleElement\(m(ax|in)\(/g) ?? []).length !== 3)
    throw new Error('the sessions view changed: update provisionalV2Sql');
  return [
    `CREATE TABLE IF NOT EXISTS ${n.inputLocal} AS ${n.db}.session_partials_in_v1 ENGINE = Null`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.mv} TO ${n.rawLocal} AS SELECT ${PROVISIONAL_V2.fromV1Partial} FROM ${n.inputLocal}`,
    replaced,
  ];
}
