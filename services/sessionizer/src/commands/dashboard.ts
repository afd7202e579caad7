/**
 * `sessionizer dashboard [--port P] [--host H]`: the web analytics overview for a data directory
 * or a ClickHouse server, with no service running (a running service serves the same page at
 * `/` on its own HTTP port). Serves until SIGINT/SIGTERM.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { EmbeddedClickHouseLockedError, type ClickHouseHandle } from '@sessionizer/clickhouse';
import { overviewRoutes } from '../overview/handler.js';
import { Overview } from '../overview/panels.js';
import { readEndpointFile } from '../service/endpoint-file.js';
import type { Signals } from './run.js';
import { componentLog, createLogger, type Logger } from '../log.js';
import { openClickHouse } from '../wiring.js';
import { CLICKHOUSE, UsageError, type Command } from './command.js';

export interface DashboardOptions {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
}

export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

/** Fails when the database has no `sessions` view: nothing to show, and probably a wrong target. */
async function assertSessionsView(client: ClickHouseClient, database: string, target: string): Promise<void> {
  const columns = await new Overview({ client, database }).columns();
  if (columns.size === 0) {
    throw new Error(
      `there is no sessions view in database ${database} on ${target}: run \`sessionizer migrate\`, \`replay\` or \`run\` first, or pass --database / --data-dir / --clickhouse`,
    );
  }
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const routes = overviewRoutes({ client: o.client, database: o.database, log: o.log });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    routes(req, res, url)
      .then((handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      })
      .catch((err: unknown) => {
        o.log.warn('dashboard request failed', { error: err, path: url.pathname });
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
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Resolves at the first SIGINT or SIGTERM. */
export function untilSignal(signals: Signals): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    const on = (name: 'SIGINT' | 'SIGTERM') => (): void => {
      signals.removeListener('SIGINT', onInt);
      signals.removeListener('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    signals.on('SIGINT', onInt);
    signals.on('SIGTERM', onTerm);
  });
}

export interface ServeDashboardOptions {
  /** Opens the configured ClickHouse (throws EmbeddedClickHouseLockedError on a held directory). */
  readonly open: () => ClickHouseHandle;
  readonly dataDir: string;
  readonly database: string;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly signals: Signals;
}

/** The command: open, check there is something to show, serve until a signal. Exit code. */
async function serveDashboard(o: ServeDashboardOptions): Promise<number> {
  let ch: ClickHouseHandle;
  try {
    ch = o.open();
  } catch (err) {
    // A running `sessionizer run` holds the directory: it serves this very page.
    const endpoint = err instanceof EmbeddedClickHouseLockedError ? readEndpointFile(o.dataDir) : undefined;
    if (endpoint !== undefined) {
      throw new Error(
        `the data directory ${o.dataDir} is held by a running \`sessionizer run\` (pid ${endpoint.pid}), which serves the overview itself: open ${endpoint.url}/`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    await assertSessionsView(ch.client, o.database, ch.target);
    const dashboard = await startDashboard({ client: ch.client, database: o.database, host: o.host, port: o.port, log: o.log });
    o.stdout.write(`web analytics overview of ${o.database} on ${ch.target}: ${dashboard.url}\n`);
    o.stderr.write('serving until Ctrl-C\n');
    await untilSignal(o.signals);
    await dashboard.close();
    return 0;
  } finally {
    await ch.close();
  }
}

export const dashboardCommand: Command = {
  summary: 'serve the web analytics overview for a data directory or a ClickHouse server (no service running)',
  usage: 'sessionizer dashboard [--port P] [--host H] [options]',
  settings: CLICKHOUSE,
  options: { port: { type: 'string' }, host: { type: 'string' } },
  optionsHelp: [
    '  --port P                 port to serve on (default 8787; 0 picks a free one)',
    '  --host H                 address to bind (default 127.0.0.1)',
    '',
    'While `sessionizer run` holds an embedded data directory, it serves this page itself at / on its HTTP port.',
  ].join('\n'),
  async run({ config, values, io }) {
    const port = Number(values['port'] ?? 8787);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new UsageError(`--port must be a port number, got '${String(values['port'])}'`);
    return serveDashboard({
      open: () => openClickHouse(config),
      dataDir: config.clickhouse.dataDir,
      database: config.clickhouse.database,
      host: (values['host'] as string | undefined) ?? '127.0.0.1',
      port,
      log: componentLog(
        createLogger(config.log.level, (l) => io.stderr.write(l)),
        'dashboard',
      ),
      stdout: io.stdout,
      stderr: io.stderr,
      signals: io.signals,
    });
  },
};
