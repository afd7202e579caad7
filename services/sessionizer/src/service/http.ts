/**
 * The service's HTTP endpoint: /metrics (Prometheus), /healthz (the process and its loop are
 * alive), /readyz (in the group and ClickHouse writes succeed), and POST /query, a read-only SQL
 * endpoint answered only on loopback: with the embedded engine, the running service is the only
 * process that can read its data directory, so `sessionizer query` reads through it. What it
 * runs is read-only by ClickHouse (`queryReadOnly`, @sessionizer/clickhouse).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { ClickHouseClient, ResultSet } from '@clickhouse/client';
import { queryReadOnly, ReadOnlyRefusal } from '@sessionizer/clickhouse';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import type { Routes } from '../overview/handler.js';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: Metrics;
  readonly health: () => { healthy: boolean; ready: boolean; detail: Record<string, unknown> };
  /** Enables POST /query on loopback. */
  readonly query?: { client: ClickHouseClient; database: string } | undefined;
  /** The web analytics overview (`/`, `/assets/*`, `/api/overview/*`), read-only SQL only. */
  readonly overview?: Routes | undefined;
  readonly log: Logger;
}

export interface HttpEndpoint {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const MAX_SQL_BYTES = 256 * 1024;

function isLoopback(req: IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1';
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHttp(o: HttpOptions): Promise<HttpEndpoint> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
      res.end(await o.metrics.registry.metrics());
      return;
    }
    if (req.method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/readyz')) {
      const h = o.health();
      const ok = url.pathname === '/healthz' ? h.healthy : h.ready;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...h.detail }));
      return;
    }
    if (url.pathname === '/query' && o.query !== undefined) {
      if (!isLoopback(req)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('the query endpoint answers on loopback only\n');
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST the SQL as the request body\n');
        return;
      }
      const body = await readBody(req, MAX_SQL_BYTES);
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('SQL too large\n');
        return;
      }
      let rows: ResultSet<'JSONEachRow'>;
      try {
        rows = await queryReadOnly(o.query.client, body);
      } catch (err) {
        // 400: the statement is not allowed; 422: ClickHouse could not run it
        const status = err instanceof ReadOnlyRefusal ? 400 : 422;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      try {
        for await (const batch of rows.stream()) {
          for (const row of batch) if (!res.write(`${row.text}\n`)) await once(res, 'drain');
        }
      } catch (err) {
        // Headers are gone: report in-band, as ClickHouse's HTTP interface does.
        res.write(`${JSON.stringify({ exception: err instanceof Error ? err.message : String(err) })}\n`);
      }
      res.end();
      return;
    }
    if (o.overview !== undefined && (await o.overview(req, res, url))) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.warn('http handler failed', { error: err, path: req.url });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
