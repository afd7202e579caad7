/**
 * Write volume, same events, same embedded ClickHouse engine, same process:
 *   PostHog's way: every event inserted into an `events` table, and a materialized view that
 *   extracts the session fields from the properties JSON into a partial-state sessions table
 *   (one state row per session per insert block);
 *   ours: normalise and aggregate in Node, flush every K events, insert one partial row per
 *   session per flush into our schema.
 * Reports rows inserted, bytes on disk (compressed and not) and ClickHouse insert time.
 * Prints one JSON line: WRITE-VOLUME {…}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@sessionizer/generator';
import { normalize, SessionBuffer } from '@sessionizer/core';
import { ClickHouseSessionSink, createClickHouse, migrate } from '@sessionizer/clickhouse';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: { events: { type: 'string' }, 'flush-events': { type: 'string' }, 'batch-events': { type: 'string' } },
});
const N = Number(values.events ?? 200_000);
const flushEvents = Number(values['flush-events'] ?? 20_000);
const batchEvents = Number(values['batch-events'] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'bench-volume-'));
const ch = createClickHouse({ dataDir: dir });
const client = ch.client;

const messages = [...generate({ seed: 99, format: 'posthog-events', events: N, activeSessions: 2_000 })].map((m) => m.value);

const TS = "DateTime64(6, 'UTC')";
await client.command({ query: 'CREATE DATABASE posthog_way' });
await client.command({
  query: `CREATE TABLE posthog_way.events (
    uuid UUID, event String, properties String, timestamp ${TS}, team_id Int64, distinct_id String,
    elements_chain String, created_at ${TS}, person_id String, person_properties String, project_id Int64
  ) ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp)
  ORDER BY (team_id, toDate(timestamp), event, cityHash64(distinct_id), cityHash64(uuid))`,
});
const arg = (t: string) => `AggregateFunction(argMin, ${t}, ${TS})`;
await client.command({
  query: `CREATE TABLE posthog_way.raw_sessions (
    team_id Int64, session_id String, session_timestamp DateTime64(3, 'UTC'),
    min_timestamp SimpleAggregateFunction(min, ${TS}), max_timestamp SimpleAggregateFunction(max, ${TS}),
    distinct_id AggregateFunction(argMax, String, ${TS}),
    entry_url ${arg('String')}, end_url AggregateFunction(argMax, String, ${TS}),
    initial_utm_source ${arg('String')}, initial_utm_medium ${arg('String')}, initial_utm_campaign ${arg('String')},
    initial_utm_term ${arg('String')}, initial_utm_content ${arg('String')}, initial_referring_domain ${arg('String')},
    initial_gclid ${arg('String')}, initial_gad_source ${arg('String')}, initial_fbclid ${arg('String')},
    pageview_uniq AggregateFunction(uniqExact, Nullable(UUID)), autocapture_uniq AggregateFunction(uniqExact, Nullable(UUID)),
    screen_uniq AggregateFunction(uniqExact, Nullable(UUID))
  ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(session_timestamp) ORDER BY (team_id, session_timestamp, session_id)`,
});
const prop = (k: string) => `JSONExtractString(properties, '${k}')`;
await client.command({
  query: `CREATE MATERIALIZED VIEW posthog_way.raw_sessions_mv TO posthog_way.raw_sessions AS
  SELECT team_id, ${prop('$session_id')} AS session_id,
    UUIDv7ToDateTime(toUUIDOrZero(session_id), 'UTC') AS session_timestamp,
    min(timestamp) AS min_timestamp, max(timestamp) AS max_timestamp,
    argMaxState(distinct_id, timestamp) AS distinct_id,
    argMinState(${prop('$current_url')}, timestamp) AS entry_url, argMaxState(${prop('$current_url')}, timestamp) AS end_url,
    argMinState(${prop('utm_source')}, timestamp) AS initial_utm_source, argMinState(${prop('utm_medium')}, timestamp) AS initial_utm_medium,
    argMinState(${prop('utm_campaign')}, timestamp) AS initial_utm_campaign, argMinState(${prop('utm_term')}, timestamp) AS initial_utm_term,
    argMinState(${prop('utm_content')}, timestamp) AS initial_utm_content, argMinState(${prop('$referring_domain')}, timestamp) AS initial_referring_domain,
    argMinState(${prop('gclid')}, timestamp) AS initial_gclid, argMinState(${prop('gad_source')}, timestamp) AS initial_gad_source,
    argMinState(${prop('fbclid')}, timestamp) AS initial_fbclid,
    uniqExactState(if(event = '$pageview', uuid, NULL)) AS pageview_uniq,
    uniqExactState(if(event = '$autocapture', uuid, NULL)) AS autocapture_uniq,
    uniqExactState(if(event = '$screen', uuid, NULL)) AS screen_uniq
  FROM posthog_way.events WHERE session_id != ''
  GROUP BY team_id, session_id`,
});

// PostHog's way: the raw messages as they are, in ingestion-sized batches
let posthogSeconds = 0;
let posthogRows = 0;
for (let i = 0; i < messages.length; i += batchEvents) {
  const batch = messages.slice(i, i + batchEvents).map((m) => JSON.parse(m) as Record<string, unknown>);
  const t = performance.now();
  await client.insert({
    table: 'posthog_way.events',
    values: batch,
    format: 'JSONEachRow',
    clickhouse_settings: { input_format_skip_unknown_fields: 1, date_time_input_format: 'best_effort' },
  });
  posthogSeconds += (performance.now() - t) / 1000;
  posthogRows += batch.length;
}

// ours
const db = 'ours';
await migrate(client, { database: db });
const sink = new ClickHouseSessionSink(client, { schema: { database: db } });
let oursSeconds = 0;
let oursRows = 0;
let flushes = 0;
let buffer = new SessionBuffer();
let inBuffer = 0;
const flush = async (): Promise<void> => {
  const states = buffer.drain();
  buffer = new SessionBuffer();
  inBuffer = 0;
  if (states.length === 0) return;
  const stats = await sink.write(states);
  oursSeconds += stats.durationMs / 1000;
  oursRows += stats.rows;
  flushes += 1;
};
for (const m of messages) {
  const r = normalize('posthog-events', m);
  if (r.ok) buffer.add(r.event);
  inBuffer += 1;
  if (inBuffer >= flushEvents) await flush();
}
await flush();

interface Part {
  table: string;
  rows: number;
  bytes_on_disk: number;
  uncompressed: number;
}
const rs = await client.query({
  query: `SELECT concat(database, '.', table) AS table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk,
          sum(data_uncompressed_bytes) AS uncompressed
          FROM system.parts WHERE active AND database IN ('posthog_way', 'ours') GROUP BY table ORDER BY table`,
  format: 'JSONEachRow',
});
const parts = await rs.json<Part>();
const part = (t: string): Part => parts.find((p) => p.table === t) ?? { table: t, rows: 0, bytes_on_disk: 0, uncompressed: 0 };
const events = part('posthog_way.events');
const raw = part('posthog_way.raw_sessions');
const ours = part('ours.sessions_raw');
const report = {
  events: N,
  flushEvents,
  batchEvents,
  posthog: {
    rowsInserted: posthogRows,
    stateRowsWritten: raw.rows,
    eventsTableBytesOnDisk: events.bytes_on_disk,
    sessionsTableBytesOnDisk: raw.bytes_on_disk,
    bytesOnDisk: events.bytes_on_disk + raw.bytes_on_disk,
    uncompressedBytes: events.uncompressed + raw.uncompressed,
    insertSeconds: Number(posthogSeconds.toFixed(3)),
  },
  ours: {
    rowsInserted: oursRows,
    stateRowsWritten: ours.rows,
    flushes,
    bytesOnDisk: ours.bytes_on_disk,
    uncompressedBytes: ours.uncompressed,
    insertSeconds: Number(oursSeconds.toFixed(3)),
  },
};
console.log(`WRITE-VOLUME ${JSON.stringify(report)}`);
await ch.close();
rmSync(dir, { recursive: true, force: true });
