/**
 * Schema v1, frozen: the DDL of migration 0001 (argMin/argMax states of whole entry/exit tuples,
 * 24 view columns) exactly as it was applied, so that a data migration can create and read it.
 * Never edit: a database that recorded 0001 holds tables with exactly these columns. The current
 * schema is ddl.ts (version 0002).
 *
 * Reading v1 states: `argMaxMerge(distinct_id)`, `argMinMerge(entry)` (a tuple of current_url,
 * pathname, utm_source, utm_medium, utm_campaign, utm_term, utm_content, referring_domain, gclid,
 * gad_source, fbclid, source_site, referring_site), `argMaxMerge(exit)` (current_url, pathname),
 * `uniqExactArrayMerge(pageview_uuids | autocapture_uuids | screen_uuids)`, `min(min_ts)`, `max(max_ts)`.
 */
import { engine, names, type Names, type SchemaContext } from './ddl.js';

export const V1_TS = "DateTime64(6, 'UTC')";
export const V1_ENTRY_TUPLE = `Tuple(
    current_url Nullable(String), pathname Nullable(String),
    utm_source Nullable(String), utm_medium Nullable(String), utm_campaign Nullable(String),
    utm_term Nullable(String), utm_content Nullable(String), referring_domain Nullable(String),
    gclid Nullable(String), gad_source Nullable(String), fbclid Nullable(String),
    source_site Nullable(String), referring_site Nullable(String))`;
export const V1_EXIT_TUPLE = 'Tuple(current_url Nullable(String), pathname Nullable(String))';
/** argMin/argMax keys: (rank, ts, uuid). uuid as String: ClickHouse orders UUIDs unlike their text. */
export const V1_RANK_KEY = `Tuple(rank UInt8, ts ${V1_TS}, uuid String)`;
export const V1_LAST_KEY = `Tuple(ts ${V1_TS}, uuid String)`;

/**
 * Version 0001: the input table, the raw table of partial states, and the materialized view
 * between them, exactly as applied by the released schema v1 (`n` lets a migration create them
 * under other names).
 */
export function createPartialStateTablesV1Sql(ctx: SchemaContext, n: Names = names(ctx)): string[] {
  const out: string[] = [];
  out.push(`CREATE TABLE IF NOT EXISTS ${n.inputLocal}${n.onCluster} (
  team_id Int64,
  session_id UUID,
  min_ts ${V1_TS},
  max_ts ${V1_TS},
  last_key ${V1_LAST_KEY},
  distinct_id String,
  entry_key ${V1_RANK_KEY},
  entry ${V1_ENTRY_TUPLE},
  exit_key ${V1_RANK_KEY},
  exit ${V1_EXIT_TUPLE},
  pageview_uuids Array(UUID),
  autocapture_uuids Array(UUID),
  screen_uuids Array(UUID)
) ENGINE = Null`);
  out.push(`CREATE TABLE IF NOT EXISTS ${n.rawLocal}${n.onCluster} (
  team_id Int64,
  session_start DateTime64(3, 'UTC'),
  session_id UUID,
  min_ts SimpleAggregateFunction(min, ${V1_TS}),
  max_ts SimpleAggregateFunction(max, ${V1_TS}),
  distinct_id AggregateFunction(argMax, String, ${V1_LAST_KEY}),
  entry AggregateFunction(argMin, ${V1_ENTRY_TUPLE}, ${V1_RANK_KEY}),
  exit AggregateFunction(argMax, ${V1_EXIT_TUPLE}, ${V1_RANK_KEY}),
  pageview_uuids AggregateFunction(uniqExactArray, Array(UUID)),
  autocapture_uuids AggregateFunction(uniqExactArray, Array(UUID)),
  screen_uuids AggregateFunction(uniqExactArray, Array(UUID))
) ENGINE = ${engine(ctx, 'AggregatingMergeTree', 'sessions_raw')}
PARTITION BY toYYYYMM(session_start)
ORDER BY (team_id, session_start, session_id)`);
  out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.mv}${n.onCluster} TO ${n.rawLocal} AS
SELECT
  team_id,
  UUIDv7ToDateTime(session_id, 'UTC') AS session_start,
  session_id,
  min(min_ts) AS min_ts,
  max(max_ts) AS max_ts,
  argMaxState(distinct_id, last_key) AS distinct_id,
  argMinState(entry, entry_key) AS entry,
  argMaxState(exit, exit_key) AS exit,
  uniqExactArrayState(pageview_uuids) AS pageview_uuids,
  uniqExactArrayState(autocapture_uuids) AS autocapture_uuids,
  uniqExactArrayState(screen_uuids) AS screen_uuids
FROM ${n.inputLocal}
GROUP BY team_id, session_id`);
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
