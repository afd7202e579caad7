/**
 * The service's HTTP endpoint on loopback, port 0: /metrics, /healthz, /readyz, 404, and the
 * /query endpoint's HTTP side against a fake ClickHouse client that answers the read-only
 * protocol's steps (parse, EXPLAIN AST, run) with canned text: 405, 413, 400 for refusals, 422
 * for engine errors, NDJSON rows, in-band errors. What the engine itself refuses is tested
 * against the real engine in test/integration/read-only.test.ts.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fields, Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { startHttp, type HttpEndpoint, type HttpOptions } from './http.js';
import { Metrics } from './metrics.js';

interface FakeClientOptions {
  /** The parser's error (formatQuerySingleLine), e.g. a syntax error. */
  readonly parseError?: Error;
  /** Lines of the EXPLAIN AST answer. */
  readonly ast?: readonly string[];
  readonly explainError?: Error;
  readonly rows?: readonly unknown[];
  readonly runError?: Error;
  /** Thrown by the row stream after the rows. */
  readonly streamError?: Error;
}

const SELECT_AST = [
  'SelectWithUnionQuery (children 1)',
  ' ExpressionList (children 1)',
  '  SelectQuery (children 1)',
  '   ExpressionList (children 1)',
  '    Literal UInt64_1',
];

function answer(lines: readonly unknown[], error?: Error) {
  const body = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
  const stream = Readable.from(
    (async function* () {
      await Promise.resolve();
      yield Buffer.from(body);
      if (error !== undefined) throw error;
    })(),
  );
  return Promise.resolve({ stream, query_id: 'q', response_headers: {} });
}

/** Just enough of ClickHouseClient.exec for queryReadOnly: one answer per step. */
function fakeClient(o: FakeClientOptions = {}): { client: ClickHouseClient; calls: string[] } {
  const calls: string[] = [];
  const fake = {
    exec: (params: { query: string; query_params?: Record<string, unknown> }) => {
      calls.push(params.query);
      if (params.query.startsWith('SELECT formatQuerySingleLine(')) {
        if (o.parseError !== undefined) return Promise.reject(o.parseError);
        const sql = String(Object.values(params.query_params ?? {})[0]);
        return answer([
          {
            q: sql
              .replace(/^\s*--[^\n]*\n/, '')
              .replace(/;\s*$/, '')
              .trim(),
          },
        ]);
      }
      if (params.query.startsWith('SELECT name FROM system.table_functions')) return answer([{ name: 'file' }, { name: 'numbers' }]);
      if (params.query.startsWith('SELECT explain FROM (EXPLAIN AST')) {
        if (o.explainError !== undefined) return Promise.reject(o.explainError);
        return answer((o.ast ?? SELECT_AST).map((explain) => ({ explain })));
      }
      if (params.query.startsWith("SELECT 'drain'")) return answer([]);
      if (o.runError !== undefined) return Promise.reject(o.runError);
      return answer(o.rows ?? [], o.streamError);
    },
  };
  return { client: fake as unknown as ClickHouseClient, calls };
}

const open: HttpEndpoint[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function start(overrides: Partial<HttpOptions> = {}): Promise<HttpEndpoint> {
  const endpoint = await startHttp({
    host: '127.0.0.1',
    port: 0,
    metrics: new Metrics(false),
    health: () => ({ healthy: true, ready: true, detail: {} }),
    log: silentLogger,
    ...overrides,
  });
  open.push(endpoint);
  return endpoint;
}

async function post(endpoint: HttpEndpoint, body: string | Buffer): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${endpoint.url}/query`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('startHttp', () => {
  it('listens on a free port on the given host and reports its URL', async () => {
    const e = await start();
    expect(e.port).toBeGreaterThan(0);
    expect(e.url).toBe(`http://127.0.0.1:${e.port}`);
  });

  it('close() stops answering', async () => {
    const e = await startHttp({
      host: '127.0.0.1',
      port: 0,
      metrics: new Metrics(false),
      health: () => ({ healthy: true, ready: true, detail: {} }),
      log: silentLogger,
    });
    expect((await fetch(`${e.url}/healthz`)).status).toBe(200);
    await e.close();
    await expect(fetch(`${e.url}/healthz`)).rejects.toThrow();
  });

  it('fails to start on a port in use', async () => {
    const e = await start();
    await expect(
      startHttp({
        host: '127.0.0.1',
        port: e.port,
        metrics: new Metrics(false),
        health: () => ({ healthy: true, ready: true, detail: {} }),
        log: silentLogger,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  describe('/metrics', () => {
    it('serves the registry in the Prometheus text format', async () => {
      const metrics = new Metrics(false);
      metrics.received.inc({ topic: 'events' }, 3);
      const e = await start({ metrics });
      const res = await fetch(`${e.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain('# TYPE sessionizer_received_events_total counter');
      expect(text).toContain('sessionizer_received_events_total{topic="events"} 3');
      expect(text).toContain('sessionizer_ready');
      // Metrics(false): no default process metrics
      expect(text).not.toContain('sessionizer_process_cpu');
    });
  });

  describe('/healthz and /readyz', () => {
    it('reflect the health callback at each request, with its detail as JSON', async () => {
      let h = { healthy: true, ready: false, detail: { state: 'starting', paused: false } as Record<string, unknown> };
      const e = await start({ health: () => h });

      let res = await fetch(`${e.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ status: 'ok', state: 'starting', paused: false });

      res = await fetch(`${e.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', state: 'starting', paused: false });

      h = { healthy: true, ready: true, detail: { state: 'running' } };
      res = await fetch(`${e.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', state: 'running' });

      h = { healthy: false, ready: false, detail: { state: 'failed' } };
      res = await fetch(`${e.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', state: 'failed' });
    });

    it('ignore the query string', async () => {
      const e = await start();
      expect((await fetch(`${e.url}/healthz?verbose=1`)).status).toBe(200);
    });

    it('a health callback that throws gives 500 and a warning, and the server keeps serving', async () => {
      const warnings: string[] = [];
      const log: Logger = {
        ...silentLogger,
        warn: (msg: string, _fields?: Fields) => {
          warnings.push(msg);
        },
      };
      const e = await start({
        log,
        health: () => {
          throw new Error('boom');
        },
      });
      expect((await fetch(`${e.url}/healthz`)).status).toBe(500);
      expect(warnings).toEqual(['http handler failed']);
      expect((await fetch(`${e.url}/metrics`)).status).toBe(200);
    });
  });

  describe('other paths', () => {
    it.each([
      ['GET', '/'],
      ['GET', '/nope'],
      ['POST', '/metrics'],
      ['POST', '/healthz'],
      ['GET', '/metrics/extra'],
    ])('%s %s → 404', async (method, path) => {
      const e = await start();
      const res = await fetch(`${e.url}${path}`, { method });
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('not found\n');
    });

    it('/query is 404 when no query client is configured', async () => {
      const e = await start();
      expect((await post(e, 'SELECT 1')).status).toBe(404);
    });
  });

  describe('/query', () => {
    it('GET → 405 with Allow: POST', async () => {
      const { client, calls } = fakeClient();
      const e = await start({ query: { client, database: 'db' } });
      const res = await fetch(`${e.url}/query`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(calls).toEqual([]);
    });

    it('a body over 256 KiB → 413 and nothing runs; 256 KiB exactly is read', async () => {
      const { client, calls } = fakeClient({ rows: [{ x: 1 }] });
      const e = await start({ query: { client, database: 'db' } });
      const tooLarge = await post(e, `SELECT 1 -- ${'x'.repeat(256 * 1024)}`);
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.text).toBe('SQL too large\n');
      expect(calls).toEqual([]);
      const sql = 'SELECT 1 -- ';
      const atLimit = await post(e, `${sql}${'x'.repeat(256 * 1024 - sql.length)}`);
      expect(atLimit.status).toBe(200);
    });

    it('a statement the parser refuses → 400 with the reason, nothing else runs', async () => {
      const { client, calls } = fakeClient({
        parseError: new Error('Syntax error (Multi-statements are not allowed): failed at position 9'),
      });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, 'SELECT 1; DROP TABLE sessions');
      expect(res.status).toBe(400);
      expect(res.text).toBe('one statement at a time\n');
      expect(calls).toHaveLength(1);
    });

    it('a statement whose syntax tree is not a plain SELECT → 400, the statement never runs', async () => {
      const { client, calls } = fakeClient({
        ast: [
          'SelectWithUnionQuery (children 1)',
          ' ExpressionList (children 1)',
          '  Function file (children 1)',
          "   Literal '/etc/passwd'",
        ],
      });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, "SELECT file('/etc/passwd')");
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/^file\(\) is not allowed here/);
      expect(calls.some((q) => q.startsWith("SELECT file('/etc/passwd')"))).toBe(false);
    });

    it('the engine failing the query → 422 with its message', async () => {
      const { client } = fakeClient({ runError: new Error('Unknown table expression identifier') });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, 'SELECT * FROM nope');
      expect(res.status).toBe(422);
      expect(res.text).toBe('Unknown table expression identifier\n');
    });

    it('a SELECT → 200 NDJSON rows; what runs is the parsed statement with readonly=1', async () => {
      const rows = [
        { session_id: 'a', pageviews: 2 },
        { session_id: 'b', pageviews: 0 },
      ];
      const { client, calls } = fakeClient({ rows });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, '-- top sessions\nSELECT session_id, pageviews FROM sessions;\n');
      expect(res.status).toBe(200);
      expect(res.type).toBe('application/x-ndjson');
      expect(res.text).toBe(`${JSON.stringify(rows[0])}\n${JSON.stringify(rows[1])}\n`);
      expect(calls.at(-1)).toMatch(/^SELECT session_id, pageviews FROM sessions\nFORMAT JSONEachRow\nSETTINGS readonly = 1, /);
    });

    it('an empty result → 200 with an empty body', async () => {
      const { client } = fakeClient({ rows: [] });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, 'SELECT 1 WHERE 0');
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
    });

    it('a query failing after the headers → the error in-band as a last {"exception"} line', async () => {
      const { client } = fakeClient({ rows: [{ n: 1 }], streamError: new Error('Code: 241. Memory limit exceeded') });
      const e = await start({ query: { client, database: 'db' } });
      const res = await post(e, 'SELECT n FROM numbers(1e12)');
      expect(res.status).toBe(200);
      // rows before the error may or may not have reached the response; the error is the last line
      const last = JSON.parse(res.text.trimEnd().split('\n').at(-1) ?? '') as unknown;
      expect(last).toEqual({ exception: 'Code: 241. Memory limit exceeded' });
    });
  });
});
