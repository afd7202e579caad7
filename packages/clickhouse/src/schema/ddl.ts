/**
 * The ClickHouse schema, as SQL text. Names (database, cluster) are validated identifiers, so
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
import { CHANNEL_RULE_COLUMNS, DEFAULT_BOUNCE_THRESHOLD_SECONDS, type ChannelRules } from '@sessionizer/core';
import { channelTypeSql } from './channel-sql.js';

export interface SchemaContext {
  readonly database: string;
  /** Cluster name for ON CLUSTER / Replicated / Distributed; undefined = single node. */
  readonly cluster?: string | undefined;
  readonly bounceThresholdSeconds?: number | undefined;
  /** Custom channel rules per team (CHANNEL_RULES_FILE); in the view, so a change re-creates it. */
  readonly channelRules?: ChannelRules | undefined;
}

const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function assertIdentifier(value: string, what: string): string {
  if (!IDENTIFIER_RE.test(value)) {
    throw new Error(`${what} '${value}' is not a valid identifier (letters, digits, underscore; not starting with a digit)`);
  }
  return value;
}

const TS = "DateTime64(6, 'UTC')";
const ENTRY_TUPLE = `Tuple(
    current_url Nullable(String), pathname Nullable(String),
    utm_source Nullable(String), utm_medium Nullable(String), utm_campaign Nullable(String),
    utm_term Nullable(String), utm_content Nullable(String), referring_domain Nullable(String),
    gclid Nullable(String), gad_source Nullable(String), fbclid Nullable(String),
    source_site Nullable(String), referring_site Nullable(String))`;
const EXIT_TUPLE = 'Tuple(current_url Nullable(String), pathname Nullable(String))';
/** argMin/argMax keys: (rank, ts, uuid). uuid as String: ClickHouse orders UUIDs unlike their text. */
const RANK_KEY = `Tuple(rank UInt8, ts ${TS}, uuid String)`;
const LAST_KEY = `Tuple(ts ${TS}, uuid String)`;

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

function engine(ctx: SchemaContext, kind: 'AggregatingMergeTree' | 'ReplacingMergeTree', table: string, args = ''): string {
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

/** Version 0001: the input table, the raw table of partial states, and the view between them. */
export function createPartialStateTablesSql(ctx: SchemaContext): string[] {
  const n = names(ctx);
  const out: string[] = [];
  out.push(`CREATE TABLE IF NOT EXISTS ${n.inputLocal}${n.onCluster} (
  team_id Int64,
  session_id UUID,
  min_ts ${TS},
  max_ts ${TS},
  last_key ${LAST_KEY},
  distinct_id String,
  entry_key ${RANK_KEY},
  entry ${ENTRY_TUPLE},
  exit_key ${RANK_KEY},
  exit ${EXIT_TUPLE},
  pageview_uuids Array(UUID),
  autocapture_uuids Array(UUID),
  screen_uuids Array(UUID)
) ENGINE = Null`);
  out.push(`CREATE TABLE IF NOT EXISTS ${n.rawLocal}${n.onCluster} (
  team_id Int64,
  session_start DateTime64(3, 'UTC'),
  session_id UUID,
  min_ts SimpleAggregateFunction(min, ${TS}),
  max_ts SimpleAggregateFunction(max, ${TS}),
  distinct_id AggregateFunction(argMax, String, ${LAST_KEY}),
  entry AggregateFunction(argMin, ${ENTRY_TUPLE}, ${RANK_KEY}),
  exit AggregateFunction(argMax, ${EXIT_TUPLE}, ${RANK_KEY}),
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

/**
 * The analysts' view: one row per session, merged from all partials. Re-created whenever its
 * text changes (a repeatable migration), e.g. when the channel data, a team's custom channel rules
 * or the bounce threshold do.
 */
export function sessionsViewSql(ctx: SchemaContext): string {
  const n = names(ctx);
  const threshold = ctx.bounceThresholdSeconds ?? DEFAULT_BOUNCE_THRESHOLD_SECONDS;
  if (!Number.isFinite(threshold) || threshold < 0) throw new Error(`bounce threshold must be a non-negative number, got ${threshold}`);
  const channel = channelTypeSql(
    {
      utmSource: 'entry.utm_source',
      utmMedium: 'entry.utm_medium',
      utmCampaign: 'entry.utm_campaign',
      referringDomain: 'entry.referring_domain',
      // hasClickId (@sessionizer/core): '' and 'null' are absent
      hasGclid: "isNotNull(nullIf(nullIf(entry.gclid, ''), 'null'))",
      hasFbclid: "isNotNull(nullIf(nullIf(entry.fbclid, ''), 'null'))",
      gadSource: 'entry.gad_source',
      sourceSite: 'entry.source_site',
      referringSite: 'entry.referring_site',
    },
    ctx.channelRules === undefined ? undefined : { rules: ctx.channelRules, teamId: 'team_id', columns: CHANNEL_RULE_COLUMNS },
  );
  return `CREATE OR REPLACE VIEW ${n.view}${n.onCluster} AS
SELECT
  team_id,
  session_id,
  distinct_id,
  start_timestamp,
  end_timestamp,
  dateDiff('second', start_timestamp, end_timestamp) AS session_duration,
  entry.current_url AS entry_current_url,
  entry.pathname AS entry_pathname,
  exit.current_url AS exit_current_url,
  exit.pathname AS exit_pathname,
  entry.utm_source AS entry_utm_source,
  entry.utm_medium AS entry_utm_medium,
  entry.utm_campaign AS entry_utm_campaign,
  entry.utm_term AS entry_utm_term,
  entry.utm_content AS entry_utm_content,
  entry.referring_domain AS entry_referring_domain,
  entry.gclid AS entry_gclid,
  entry.gad_source AS entry_gad_source,
  entry.fbclid AS entry_fbclid,
  pageview_count,
  autocapture_count,
  screen_count,
  ${channel} AS channel_type,
  CAST(if(pageview_count + autocapture_count + screen_count = 0, NULL,
          (pageview_count + autocapture_count + screen_count = 1) AND (session_duration < ${threshold})),
       'Nullable(Bool)') AS is_bounce
FROM
(
  SELECT
    team_id,
    session_id,
    argMaxMerge(distinct_id) AS distinct_id,
    min(min_ts) AS start_timestamp,
    max(max_ts) AS end_timestamp,
    argMinMerge(entry) AS entry,
    argMaxMerge(exit) AS exit,
    uniqExactArrayMerge(pageview_uuids) AS pageview_count,
    uniqExactArrayMerge(autocapture_uuids) AS autocapture_count,
    uniqExactArrayMerge(screen_uuids) AS screen_count
  FROM ${n.raw}
  GROUP BY team_id, session_start, session_id
)`;
}
