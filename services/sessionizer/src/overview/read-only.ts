/**
 * Every overview statement runs through `queryReadOnly` (@sessionizer/clickhouse), the one path
 * for SQL run on someone's behalf: the engine parses it as exactly one SELECT, its syntax tree is
 * checked for SETTINGS and table functions that reach files or the network, and it runs with
 * `readonly = 1` in the statement itself, one read-only query at a time per client. Our own SQL
 * passes those checks by construction; a refusal here is a bug, not bad input. Values are always
 * `{name:Type}` query parameters (queries.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryReadOnly } from '@sessionizer/clickhouse';
import type { Statement } from './queries.js';

export async function readRows<T>(client: ClickHouseClient, statement: Statement, signal?: AbortSignal): Promise<T[]> {
  const rs = await queryReadOnly(client, statement.sql, {
    params: statement.params,
    ...(signal === undefined ? {} : { abortSignal: signal }),
  });
  return rs.json<T>();
}
