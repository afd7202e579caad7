/**
 * Every overview statement runs read-only *by ClickHouse*: `readonly = 1` in the statement's own
 * SETTINGS clause. Not as a client setting: on the embedded engine, chdb/connection turns client
 * settings into `SET …;` statements of its one session, so `readonly = 1` would stay on for the
 * service's own inserts (seen: "Cannot execute query in readonly mode" on the next INSERT). A
 * SETTINGS clause binds to its statement only, on both transports.
 *
 * Swap point: when a shared read-only SQL helper exists, `readRows` is the one place to use it.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Statement } from './queries.js';

export const READ_ONLY_CLAUSE = 'SETTINGS readonly = 1';

export function readOnlySql(sql: string): string {
  return `${sql}\n${READ_ONLY_CLAUSE}`;
}

export async function readRows<T>(client: ClickHouseClient, statement: Statement, signal?: AbortSignal): Promise<T[]> {
  const rs = await client.query({
    query: readOnlySql(statement.sql),
    query_params: statement.params,
    format: 'JSONEachRow',
    ...(signal === undefined ? {} : { abort_signal: signal }),
  });
  return rs.json<T>();
}
