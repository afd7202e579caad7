/**
 * The overview over HTTP: the page at `/` (and its assets), and one JSON endpoint per panel:
 *
 *   GET /api/overview/meta     teams, the resolved team and range, the tables the view can serve
 *   GET /api/overview/tiles    headline numbers and their previous period
 *   GET /api/overview/series   sessions and visitors per hour or day
 *   GET /api/overview/table?dimension=<column>
 *   GET /api/overview/breakdowns   the chart and every table in one response (one statement):
 *                                  what the page loads, so the sessions are merged once
 *
 * All take the page's own query string (team, from, to, filters: request.ts). Bad input is a 400
 * with a message, never SQL. Mounted by the service's HTTP endpoint and by `sessionizer dashboard`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import { pageAssets, type Asset } from './assets.js';
import { Overview } from './panels.js';
import { OverviewInputError, parseParams } from './request.js';

export interface OverviewRoutesOptions {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Handles the request if it is the overview's; false otherwise. */
export type Routes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

function sendAsset(res: ServerResponse, asset: Asset): void {
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(asset.body);
}

export function overviewRoutes(o: OverviewRoutesOptions): Routes {
  const overview = new Overview({ client: o.client, database: o.database, ...(o.now === undefined ? {} : { now: o.now }) });
  const api = async (panel: string, search: URLSearchParams): Promise<unknown> => {
    switch (panel) {
      case 'meta':
        return overview.meta(parseParams(search));
      case 'tiles':
        return overview.tiles(await overview.scope(parseParams(search)));
      case 'series':
        return overview.series(await overview.scope(parseParams(search)));
      case 'breakdowns':
        return overview.breakdowns(await overview.scope(parseParams(search)));
      case 'table': {
        const p = parseParams(search, ['dimension']);
        const dimension = p.extra.get('dimension');
        if (dimension === undefined) throw new OverviewInputError('table needs dimension=<column>');
        return overview.table(await overview.scope(p), dimension);
      }
      default:
        return undefined;
    }
  };

  return async (req, res, url) => {
    const path = url.pathname;
    const isPage = path === '/' || path === '/index.html' || path === '/assets/overview.js' || path === '/assets/overview.css';
    const isApi = path.startsWith('/api/overview/');
    if (!isPage && !isApi) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return true;
    }
    if (isPage) {
      const assets = await pageAssets();
      sendAsset(res, path === '/assets/overview.js' ? assets.js : path === '/assets/overview.css' ? assets.css : assets.html);
      return true;
    }
    const panel = path.slice('/api/overview/'.length);
    try {
      const body = await api(panel, url.searchParams);
      if (body === undefined) sendJson(res, 404, { error: `no panel ${JSON.stringify(panel.slice(0, 60))}` });
      else sendJson(res, 200, body);
    } catch (err) {
      if (err instanceof OverviewInputError) {
        sendJson(res, 400, { error: err.message });
      } else {
        o.log.warn('overview query failed', { panel, error: err });
        sendJson(res, 500, { error: `the query failed: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    return true;
  };
}
