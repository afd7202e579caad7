/**
 * A database as the released schema 0001 left it: its frozen DDL (ddl-v1.ts), recorded as
 * applied, and its row writer — the 0001 partial row of a group of events (min/max time, the
 * latest (ts, uuid) and distinct_id, the entry and exit events' keys and values, the uuids of
 * $pageview/$autocapture/$screen), as the 0001 sink wrote it (JSONCompactEachRow, named tuples
 * as arrays).
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { attributionSites, formatTimestamp, isPageLike, sessionKey, urlPath, type SessionEvent } from '@sessionizer/core';
import {
  checksum,
  createDatabaseSql,
  createMigrationsTableSql,
  createPartialStateTablesV1Sql,
  names,
  V1_SCHEMA_VERSION,
} from '@sessionizer/clickhouse/testing';

export async function createV1Schema(client: ClickHouseClient, database: string): Promise<void> {
  const ctx = { database };
  await client.command({ query: createDatabaseSql(ctx) });
  await client.command({ query: createMigrationsTableSql(ctx) });
  const statements = createPartialStateTablesV1Sql(ctx);
  for (const query of statements) await client.command({ query });
  await client.insert({
    table: names(ctx).migrations,
    values: [{ version: V1_SCHEMA_VERSION, name: 'partial-state tables', checksum: checksum(statements) }],
    format: 'JSONEachRow',
  });
}

type Key = readonly [number, number, string];
const cmp = (a: Key, b: Key): number => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);

/** One 0001 partial row per session of `events`. */
export function v1Rows(events: readonly SessionEvent[]): unknown[][] {
  const groups = new Map<string, SessionEvent[]>();
  for (const e of events) {
    const k = sessionKey(e.teamId, e.sessionId);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  return [...groups.values()].map((es) => {
    const first = es[0] as SessionEvent;
    let entry = first;
    let exit = first;
    let last = first;
    const entryKey = (e: SessionEvent): Key => [isPageLike(e.event) ? 0 : 1, e.timestamp, e.uuid];
    const exitKey = (e: SessionEvent): Key => [isPageLike(e.event) ? 1 : 0, e.timestamp, e.uuid];
    const lastKey = (e: SessionEvent): Key => [0, e.timestamp, e.uuid];
    for (const e of es) {
      if (cmp(entryKey(e), entryKey(entry)) < 0) entry = e;
      if (cmp(exitKey(e), exitKey(exit)) > 0) exit = e;
      if (cmp(lastKey(e), lastKey(last)) > 0) last = e;
    }
    const uuids = (name: string): string[] => [...new Set(es.filter((e) => e.event === name).map((e) => e.uuid))];
    const sites = attributionSites(entry);
    return [
      first.teamId,
      first.sessionId,
      formatTimestamp(Math.min(...es.map((e) => e.timestamp))),
      formatTimestamp(Math.max(...es.map((e) => e.timestamp))),
      [formatTimestamp(last.timestamp), last.uuid],
      last.distinctId,
      [entryKey(entry)[0], formatTimestamp(entry.timestamp), entry.uuid],
      [
        entry.currentUrl,
        urlPath(entry.currentUrl),
        entry.utmSource,
        entry.utmMedium,
        entry.utmCampaign,
        entry.utmTerm,
        entry.utmContent,
        entry.referringDomain,
        entry.gclid,
        entry.gadSource,
        entry.fbclid,
        sites.sourceSite,
        sites.referringSite,
      ],
      [exitKey(exit)[0], formatTimestamp(exit.timestamp), exit.uuid],
      [exit.currentUrl, urlPath(exit.currentUrl)],
      uuids('$pageview'),
      uuids('$autocapture'),
      uuids('$screen'),
    ];
  });
}

/** The 0001 sink's INSERT (v1 partials into session_partials_in). */
export async function insertV1Rows(client: ClickHouseClient, database: string, rows: readonly unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const result = await client.exec({
    query: `INSERT INTO ${database}.session_partials_in SETTINGS input_format_json_named_tuples_as_objects = 0, async_insert = 0 FORMAT JSONCompactEachRow`,
    values: Readable.from([rows.map((r) => JSON.stringify(r)).join('\n')], { objectMode: false }),
  });
  result.stream.destroy();
}

/** The flushes writeV1 makes of `events`. */
export function v1Flushes(events: readonly SessionEvent[], flushes: number): SessionEvent[][] {
  const size = Math.max(1, Math.ceil(events.length / flushes));
  const out: SessionEvent[][] = [];
  for (let from = 0; from < events.length; from += size) out.push(events.slice(from, from + size));
  return out;
}

/** Write events as a 0001 consumer would: several flushes, every third written twice (a replay). */
export async function writeV1(client: ClickHouseClient, database: string, events: readonly SessionEvent[], flushes: number): Promise<void> {
  for (const [i, flush] of v1Flushes(events, flushes).entries()) {
    const rows = v1Rows(flush);
    await insertV1Rows(client, database, rows);
    if (i % 3 === 0) await insertV1Rows(client, database, rows);
  }
}
