/**
 * The overview's HTTP surface without ClickHouse: the page and its bundled assets (esbuild, with
 * uPlot, no CDN), security headers, methods, and input refused before any query is sent. The
 * numbers themselves are checked against the real engine in test/integration/overview.test.ts.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../service/metrics.js';
import { startHttp, type HttpEndpoint } from '../service/http.js';
import { overviewRoutes } from './handler.js';

/** A client that records and refuses: no request below may reach ClickHouse. */
function refusingClient(): { client: ClickHouseClient; calls: string[] } {
  const calls: string[] = [];
  const refuse = (params: { query: string }): Promise<never> => {
    calls.push(params.query);
    return Promise.reject(new Error('no ClickHouse in this test'));
  };
  return { client: { query: refuse, command: refuse, exec: refuse } as unknown as ClickHouseClient, calls };
}

const open: HttpEndpoint[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function serve(client: ClickHouseClient): Promise<string> {
  const endpoint = await startHttp({
    host: '127.0.0.1',
    port: 0,
    metrics: new Metrics(),
    log: silentLogger,
    health: () => ({ healthy: true, ready: true, detail: {} }),
    overview: overviewRoutes({ client, database: 'analytics', log: silentLogger }),
  });
  open.push(endpoint);
  return endpoint.url;
}

describe('overview routes on the service endpoint', () => {
  it('serve the page and its bundled assets with a strict content security policy', async () => {
    const { client, calls } = refusingClient();
    const url = await serve(client);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('src="assets/overview.js"');
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere

    const js = await fetch(`${url}/assets/overview.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await js.text();
    expect(code).toContain('u-over'); // uPlot's own class names: bundled, not fetched
    expect(code).not.toMatch(/\bimport\s*\(|from\s*["']https?:/);
    const css = await (await fetch(`${url}/assets/overview.css`)).text();
    expect(css).toContain('.u-legend'); // uPlot's stylesheet, bundled
    expect(css).toContain('.tile');
    expect(calls).toEqual([]);
  }, 30_000);

  it('keep the service routes, answer only GET, and 404 what is neither', async () => {
    const { client } = refusingClient();
    const url = await serve(client);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${url}/api/overview/tiles`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/assets/other.js`)).status).toBe(404);
  });

  it('refuse bad input with a 400 before any query is sent', async () => {
    const { client, calls } = refusingClient();
    const url = await serve(client);
    for (const qs of ['team=x', 'from=2026-02-30', 'sessions_raw=1', 'null=team_id', "channel_type=a&channel_type=b'"]) {
      for (const panel of ['meta', 'tiles', 'series', 'table', 'breakdowns']) {
        const res = await fetch(`${url}/api/overview/${panel}?${qs}`);
        expect(res.status, `${panel}?${qs}`).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(((await res.json()) as { error: string }).error).not.toBe('');
      }
    }
    expect(calls).toEqual([]);
  });

  it('report a failing ClickHouse as a 500 with its message', async () => {
    const { client } = refusingClient();
    const url = await serve(client);
    const res = await fetch(`${url}/api/overview/meta`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'the query failed: no ClickHouse in this test' });
  });
});
