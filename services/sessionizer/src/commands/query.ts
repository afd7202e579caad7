/**
 * `sessionizer query "SQL"`: run SQL against the configured ClickHouse, rows out as JSONEachRow.
 * Statements without a result (DDL, INSERT …) run as commands and print nothing.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import { cleanSql } from './sql.js';
import { EmbeddedClickHouseLockedError, type ClickHouseHandle } from '@sessionizer/clickhouse';
import { readEndpointFile } from '../service/endpoint-file.js';
import { openClickHouse } from '../wiring.js';
import { CLICKHOUSE, UsageError, type Command } from './command.js';

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

export const queryCommand: Command = {
  summary: 'run SQL against the configured ClickHouse and print JSONEachRow',
  usage: 'sessionizer query "SQL" [options]',
  settings: CLICKHOUSE,
  options: {},
  optionsHelp: '',
  async run({ config, positionals, io }) {
    const sql = positionals.join(' ').trim();
    if (sql === '') throw new UsageError('query needs SQL, e.g. sessionizer query "SELECT channel_type, count() FROM sessions GROUP BY 1"');
    let ch: ClickHouseHandle;
    try {
      ch = openClickHouse(config);
    } catch (err) {
      // The embedded engine is held by a running `sessionizer run`: read through its endpoint.
      if (err instanceof EmbeddedClickHouseLockedError) {
        const endpoint = readEndpointFile(config.clickhouse.dataDir);
        if (endpoint !== undefined && (await forwardQuery(endpoint.url, sql, io.stdout))) return 0;
      }
      throw err;
    }
    try {
      const rs = await ch.client.query({
        query: 'SELECT count() AS n FROM system.databases WHERE name = {db:String}',
        query_params: { db: config.clickhouse.database },
        format: 'JSONEachRow',
      });
      const exists = ((await rs.json<{ n: number }>())[0]?.n ?? 0) > 0;
      if (exists) {
        if (ch.transport === 'embedded') await ch.client.command({ query: `USE ${config.clickhouse.database}` });
        else {
          await ch.close();
          ch = openClickHouse(config, config.clickhouse.database);
        }
      }
      try {
        await runQuery(ch.client, sql, io.stdout);
      } catch (err) {
        if (!exists && (err as { code?: unknown }).code === '60') {
          throw new UsageError(
            `database ${config.clickhouse.database} does not exist yet in ${ch.target}: run \`sessionizer migrate\`, \`replay\` or \`run\` first`,
          );
        }
        throw err;
      }
      return 0;
    } finally {
      await ch.close();
    }
  },
};

/** POST the SQL to a running service's loopback endpoint; false when nothing answers there. */
async function forwardQuery(url: string, sql: string, out: Writable): Promise<boolean> {
  let res: Response;
  try {
    res = await fetch(`${url}/query`, { method: 'POST', body: sql, headers: { 'content-type': 'text/plain' } });
  } catch {
    return false;
  }
  const text = await res.text();
  if (res.status === 400) throw new UsageError(`the running service refused the query: ${text.trim()}`);
  if (!res.ok) throw new Error(`query failed: ${text.trim()}`);
  const exception = /^\{"exception":(.*)\}$/m.exec(text);
  if (exception?.[1] !== undefined) throw new Error(`query failed: ${String(JSON.parse(exception[1]))}`);
  out.write(text);
  return true;
}
