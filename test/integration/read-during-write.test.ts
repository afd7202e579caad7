/**
 * Reads through the service (/query) answer while a write is in flight on the service's writing
 * connection: the write is held open (an INSERT … SELECT from a URL that answers only when the
 * test says so), and the read completes before it is let go.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { uniqueName } from '../support/names.js';

describe('the /query endpoint', () => {
  let db: TestDatabase;
  let service: Service | undefined;
  let rowsServer: Server | undefined;

  beforeAll(async () => {
    db = await testDatabase('read_during_write');
  });
  afterAll(async () => {
    await service?.close();
    await new Promise<void>((r) => {
      if (rowsServer === undefined) r();
      else
        rowsServer.close(() => {
          r();
        });
    });
    await db.drop();
  });

  it('answers while an insert is in flight on the service connection', async () => {
    const config = inProcessConfig(db.database, {
      topics: `${uniqueName('unused')}:posthog-events`,
      'group-id': uniqueName('group'),
      'data-dir': '/nonexistent-unused',
      'log-level': 'warn',
    });
    service = await startInProcess(config, { log: createLogger('warn'), clickhouse: db.handle });
    const query = async (sql: string): Promise<string> => {
      const res = await fetch(`${service?.http.url ?? ''}/query`, { method: 'POST', body: sql });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return text;
    };

    // a URL whose rows (GET) wait until released; ClickHouse asks for the size (HEAD) first
    const ROWS = '{"n":7}\n';
    let released = false;
    let held: ServerResponse | undefined;
    let requested!: () => void;
    const asked = new Promise<void>((r) => (requested = r));
    const answer = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(ROWS);
    rowsServer = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': String(ROWS.length) }).end();
      } else if (released) {
        answer(res);
      } else {
        held = res;
        requested();
      }
    });
    await new Promise<void>((r) => rowsServer?.listen(0, '127.0.0.1', r));
    const port = (rowsServer.address() as AddressInfo).port;

    const table = `${db.database}.held_insert`;
    await db.handle.client.command({ query: `CREATE TABLE ${table} (n UInt64) ENGINE = MergeTree ORDER BY n` });
    let insertDone = false;
    const insert = service.clickhouse.client
      .command({ query: `INSERT INTO ${table} SELECT n FROM url('http://127.0.0.1:${port}/rows', 'JSONEachRow', 'n UInt64')` })
      .finally(() => (insertDone = true));
    await asked; // the insert is running on the engine, waiting for its rows

    expect(await query('SELECT 41 + 1 AS answer')).toBe('{"answer":42}\n');
    expect(await query('SELECT count() AS n FROM held_insert')).toBe('{"n":0}\n');
    expect(insertDone).toBe(false);

    released = true;
    if (held !== undefined) answer(held);
    await insert;
    expect(await query('SELECT count() AS n FROM held_insert')).toBe('{"n":1}\n');
  });
});
