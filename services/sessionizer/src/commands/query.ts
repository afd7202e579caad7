/**
 * `sessionizer query "SQL"`: run SQL against the configured ClickHouse, rows out as JSONEachRow.
 * Statements without a result (DDL, INSERT …) run as commands and print nothing.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import { cleanSql } from './sql.js';

export { cleanSql } from './sql.js';

const RESULT_STATEMENT = /^(?:\(|select\b|with\b|show\b|describe\b|desc\b|explain\b|exists\b|values\b)/i;

export function returnsRows(sql: string): boolean {
  return RESULT_STATEMENT.test(cleanSql(sql));
}

export async function runQuery(client: ClickHouseClient, sql: string, out: Writable): Promise<number> {
  const query = cleanSql(sql);
  if (!returnsRows(query)) {
    await client.command({ query });
    return 0;
  }
  const rs = await client.query({ query, format: 'JSONEachRow' });
  let rows = 0;
  for await (const batch of rs.stream()) {
    for (const row of batch) {
      rows += 1;
      if (!out.write(`${row.text}\n`)) await once(out, 'drain');
    }
  }
  return rows;
}
