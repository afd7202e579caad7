/** Read the `sessions` view the way analysts do, in the oracle's order: through a client, or a data directory through the CLI. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Session } from '@sessionizer/core';
import { jsonLines, runCli } from './cli.js';

/**
 * The `sessions` view with every column the oracle knows, in the oracle's order, for the CLI's
 * `query` (unqualified: the CLI's database): all but max_inserted_at (ClickHouse's clock at insert
 * time).
 */
export const SESSIONS_AS_ORACLE_SQL = 'SELECT * EXCEPT (max_inserted_at) FROM sessions ORDER BY team_id, toString(session_id)';

/**
 * Every column the oracle knows: all but max_inserted_at (ClickHouse's clock at insert time,
 * catalog.ts); `readInsertedAt` reads that one.
 */
export async function readSessions(client: ClickHouseClient, database: string): Promise<Session[]> {
  const rs = await client.query({
    query: `SELECT * EXCEPT (max_inserted_at) FROM ${database}.sessions ORDER BY team_id, toString(session_id)`,
    format: 'JSONEachRow',
  });
  return rs.json<Session>();
}

/** max_inserted_at of every session, as milliseconds since the epoch. */
export async function readInsertedAt(client: ClickHouseClient, database: string): Promise<number[]> {
  const rs = await client.query({
    query: `SELECT toUnixTimestamp64Milli(max_inserted_at) AS ms FROM ${database}.sessions ORDER BY team_id, toString(session_id)`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ ms: number | string }>()).map((r) => Number(r.ms));
}

/** The sessions of an embedded data directory, through `sessionizer query`: every column the oracle knows, as readSessions. */
export async function sessionsInDir(dataDir: string): Promise<Session[]> {
  const r = await runCli(['query', SESSIONS_AS_ORACLE_SQL, '--data-dir', dataDir]);
  if (r.code !== 0) throw new Error(`sessionizer query failed (${r.code}): ${r.stderr}`);
  return jsonLines<Session>(r.stdout);
}
