/**
 * Schema 0001 → 0002: what each 0002 state of sessions_raw gets from what 0001 kept. Generated
 * from the catalog, like ddl.ts; a property the table below does not name gets no value (its
 * state is NULL, or an empty set), so a new catalog entry needs no change here.
 *
 * 0001 kept, per session: the latest (ts, uuid) and its distinct_id; the entry event's key
 * (rank, ts, uuid) and 13 of its values; the exit event's key and URL; the uuids of $pageview,
 * $autocapture and $screen (as uniqExact states). So, for sessions written before the upgrade
 * (docs/operations.md lists the consequences):
 *   - keyed entry_* and exit_*: the entry (exit) event's value as the candidate, with its key; a
 *     NULL there is no candidate (the null flag), so a later non-null value wins;
 *   - entry_event (channel inputs, entry_has_*): the entry event as a whole; lower-tier ad ids NULL;
 *   - distinct_id: exact; distinct_ids: the latest one only;
 *   - counts: the states as they are; event_names: $pageview/$autocapture/$screen when counted;
 *   - session_id_source: 'client' (0001 had no server-side sessions); max_inserted_at: the upgrade's time;
 *   - every other property: none.
 */
import { ANY, COUNTS, ENTRY_EVENT, KEYED, SETS, type ScalarProperty } from '@sessionizer/core';
import { createPartialStateTablesSql, names, type SchemaContext } from './ddl.js';
import type { UpgradeTarget } from './upgrade-v1.js';

/** v1 sources, as SQL over the names a v1 session read (v1SessionsSql) and a v1 partial row share. */
const KEYED_FROM_V1: Readonly<Record<string, { key: 'last' | 'entry' | 'exit'; value: string }>> = {
  distinct_id: { key: 'last', value: 'v1_distinct_id' },
  entry_current_url: { key: 'entry', value: 'entry.current_url' },
  exit_current_url: { key: 'exit', value: 'exit.current_url' },
  entry_utm_source: { key: 'entry', value: 'entry.utm_source' },
  entry_utm_medium: { key: 'entry', value: 'entry.utm_medium' },
  entry_utm_campaign: { key: 'entry', value: 'entry.utm_campaign' },
  entry_utm_term: { key: 'entry', value: 'entry.utm_term' },
  entry_utm_content: { key: 'entry', value: 'entry.utm_content' },
  entry_referring_domain: { key: 'entry', value: 'entry.referring_domain' },
  entry_gclid: { key: 'entry', value: 'entry.gclid' },
  entry_gad_source: { key: 'entry', value: 'entry.gad_source' },
  entry_fbclid: { key: 'entry', value: 'entry.fbclid' },
};

/** hasClickId (@sessionizer/core): '' and 'null' are absent. */
const hasClickId = (v: string): string => `isNotNull(nullIf(nullIf(${v}, ''), 'null'))`;

const ENTRY_EVENT_FROM_V1: Readonly<Record<string, string>> = {
  entry_has_gclid: hasClickId('entry.gclid'),
  entry_has_fbclid: hasClickId('entry.fbclid'),
  channel_utm_source: 'entry.utm_source',
  channel_utm_medium: 'entry.utm_medium',
  channel_utm_campaign: 'entry.utm_campaign',
  channel_referring_domain: 'entry.referring_domain',
  channel_gad_source: 'entry.gad_source',
  channel_source_site: 'entry.source_site',
  channel_referring_site: 'entry.referring_site',
};

const ANY_FROM_V1: Readonly<Record<string, string>> = { session_id_source: "'client'" };

/** Count columns of 0002 and the 0001 uuid column they continue. */
const COUNT_FROM_V1: Readonly<Record<string, string>> = {
  pageview_count: 'pageview_uuids',
  autocapture_count: 'autocapture_uuids',
  screen_count: 'screen_uuids',
};

const isMin = (p: ScalarProperty): boolean => p.aggregation === 'entry' || p.aggregation === 'first';
const hasRank = (p: ScalarProperty): boolean => p.aggregation === 'entry' || p.aggregation === 'exit';

function keyed(p: ScalarProperty): string {
  const from = KEYED_FROM_V1[p.column];
  const value = `CAST(${from?.value ?? 'NULL'}, 'Nullable(${p.type})')`;
  const [nullFlag, valueFlag] = isMin(p) ? ['toUInt8(1)', 'toUInt8(0)'] : ['toUInt8(0)', 'toUInt8(1)'];
  // As ddl.ts: a NULL value never wins, so its key is a constant (sparse columns compress to nothing).
  const zero = `(${nullFlag}, ${hasRank(p) ? 'toUInt8(0), ' : ''}toDateTime64(0, 6, 'UTC'), '', ${value})`;
  if (from === undefined) return `${zero} AS ${p.column}`;
  const key = `${from.key}_key`;
  const rank = hasRank(p) ? (from.key === 'last' ? 'toUInt8(0), ' : `tupleElement(${key}, 1), `) : '';
  const [ts, uuid] = from.key === 'last' ? [1, 2] : [2, 3];
  return `if(isNull(${value}), ${zero}, (${valueFlag}, ${rank}tupleElement(${key}, ${ts}), tupleElement(${key}, ${uuid}), ${value})) AS ${p.column}`;
}

function entryEvent(): string {
  const values = ENTRY_EVENT.map((p) => `CAST(${ENTRY_EVENT_FROM_V1[p.column] ?? 'NULL'}, 'Nullable(${p.type})')`);
  return `(tupleElement(entry_key, 1), tupleElement(entry_key, 2), tupleElement(entry_key, 3), tuple(${values.join(', ')})) AS entry_event`;
}

/** The v1 counts as numbers: `counted(c)` is SQL for "column c counted at least one uuid". */
function sets(counted: (uuids: string) => string): string[] {
  return SETS.map((p) => {
    if (p.column === 'distinct_ids') return `[v1_distinct_id] AS ${p.column}`;
    if (p.column === 'event_names') {
      const names = [
        ['$pageview', 'pageview_uuids'],
        ['$autocapture', 'autocapture_uuids'],
        ['$screen', 'screen_uuids'],
      ].map(([name, c]) => `if(${counted(c ?? '')}, '${name ?? ''}', '')`);
      return `arrayFilter(x -> x != '', [${names.join(', ')}]) AS ${p.column}`;
    }
    return `CAST([], 'Array(String)') AS ${p.column}`;
  });
}

function selectList(session: boolean): string {
  const countOf = (c: string): string => (session ? c : `initializeAggregation('uniqExactArrayState', ${c})`);
  const counted = (c: string): string => (session ? `finalizeAggregation(${c}) > 0` : `notEmpty(${c})`);
  for (const p of COUNTS) {
    if (COUNT_FROM_V1[p.column] === undefined) throw new Error(`count ${p.column}: no 0001 source and no empty state defined`);
  }
  return [
    'team_id',
    session ? 'session_start' : "UUIDv7ToDateTime(session_id, 'UTC') AS session_start",
    'session_id',
    'min_ts',
    'max_ts',
    `now64(6, 'UTC') AS max_inserted_at`,
    ...KEYED.map(keyed),
    entryEvent(),
    ...ANY.map((p) => `CAST(${ANY_FROM_V1[p.column] ?? 'NULL'}, 'Nullable(${p.type})') AS ${p.column}`),
    ...COUNTS.map((p) => `${countOf(COUNT_FROM_V1[p.column] ?? '')} AS ${p.column}`),
    ...sets(counted),
  ].join(',\n  ');
}

/**
 * The per-session values both layouts keep exactly, from a 0002 raw table: the shape of
 * UpgradeTarget.comparableSql. The entry key and values come from entry_event (the entry event
 * as a whole, like 0001's entry); 0002's keyed entry_* and exit_* columns are not compared: across
 * 0001 partials that passed the bridge they follow the new rule (first non-null), not 0001's.
 */
function comparableSql(source: string): string {
  return `SELECT team_id, session_id, min_ts, max_ts,
  (tupleElement(l, 2), tupleElement(l, 3)) AS last_key, assumeNotNull(tupleElement(l, 4)) AS distinct_id,
  (tupleElement(e, 1), tupleElement(e, 2), tupleElement(e, 3)) AS entry_key, tupleElement(e, 4) AS entry,
  pageviews, autocaptures, screens
FROM
(
  SELECT team_id, session_id, min(min_ts) AS min_ts, max(max_ts) AS max_ts, max(distinct_id) AS l, min(entry_event) AS e,
    uniqExactArrayMerge(pageview_count) AS pageviews, uniqExactArrayMerge(autocapture_count) AS autocaptures,
    uniqExactArrayMerge(screen_count) AS screens
  FROM ${source}
  GROUP BY team_id, session_start, session_id
)`;
}

/** 0002's sessions_raw, created as `table` (and, in cluster mode, replicated under `zkName`). */
function createRawSql(ctx: SchemaContext, table: string, zkName: string): string {
  const n = names(ctx);
  const sql = createPartialStateTablesSql(ctx)[1] ?? '';
  const head = `CREATE TABLE IF NOT EXISTS ${n.rawLocal}${n.onCluster} (`;
  const path = `/${ctx.database}/sessions_raw'`;
  if (!sql.startsWith(head) || (ctx.cluster !== undefined && !sql.includes(path))) {
    throw new Error('ddl.ts: the second statement of createPartialStateTablesSql is no longer the raw table');
  }
  return `CREATE TABLE IF NOT EXISTS ${table}${n.onCluster} (${sql.slice(head.length)}`.replace(path, `/${ctx.database}/${zkName}'`);
}

/** The same values from a 0001 raw table. */
function v1ComparableSql(v1Sessions: string): string {
  const values = ENTRY_EVENT.map((p) => `CAST(${ENTRY_EVENT_FROM_V1[p.column] ?? 'NULL'}, 'Nullable(${p.type})')`);
  return `SELECT team_id, session_id, min_ts, max_ts, last_key, distinct_id, entry_key, tuple(${values.join(', ')}) AS entry,
  finalizeAggregation(pageview_uuids) AS pageviews, finalizeAggregation(autocapture_uuids) AS autocaptures,
  finalizeAggregation(screen_uuids) AS screens
FROM (${v1Sessions})`;
}

export const UPGRADE_TO_0002: UpgradeTarget = {
  createRawSql,
  fromV1Session: selectList(true),
  fromV1Partial: selectList(false),
  comparableSql,
  v1ComparableSql,
};
