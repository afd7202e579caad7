/** Read the `sessions` view the way analysts do, in the oracle's order. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Session } from '@sessionizer/core';

export async function readSessions(client: ClickHouseClient, database: string): Promise<Session[]> {
  const rs = await client.query({
    query: `SELECT * FROM ${database}.sessions ORDER BY team_id, toString(session_id)`,
    format: 'JSONEachRow',
  });
  return rs.json<Session>();
}
