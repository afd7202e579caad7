/**
 * Where the overview is served, as users run it:
 *   - `sessionizer run` at / on its HTTP port, reading through the service's own connection
 *     (the embedded engine allows no other reader), and its writes go on after the page's
 *     read-only queries ran on that same connection;
 *   - `sessionizer dashboard` for a data directory with no service running; a second process
 *     on a held directory is told where to read;
 *   - `sessionizer demo` prints the URL and exits when not on a terminal, and on a terminal
 *     keeps serving until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '@sessionizer/generator';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import type { Meta, Tiles } from '../../services/sessionizer/src/overview/panels.js';
import { resolvePeriod } from '../../services/sessionizer/src/overview/request.js';
import { writeEndpointFile } from '../../services/sessionizer/src/service/endpoint-file.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { cliEnv, REPO_ROOT, runCli, SESSIONIZER_BIN, startCli } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { committedOffsets, createTopic, endOffsets, produce, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { expectedTiles, lastDay, sessionRows } from '../support/overview-expected.js';

const FIXTURE = join(REPO_ROOT, 'packages/core/fixtures/posthog-events.ndjson');

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

/** Resolves with the first match of `re` in what the stream prints. */
function watch(stream: NodeJS.ReadableStream | null, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = re.exec(text);
      if (m !== null) resolve(m);
    });
    stream?.on('end', () => {
      reject(new Error(`ended without ${String(re)}; printed:\n${text.slice(-3000)}`));
    });
  });
}

describe('sessionizer run serves the overview', () => {
  const kafka = testKafka();
  let db: TestDatabase;
  let service: Service | undefined;

  beforeAll(async () => {
    db = await testDatabase('overview_run');
  });
  afterAll(async () => {
    await service?.consumer.stop(10_000);
    await service?.close();
    await db.drop();
  });

  it('at / through its own connection, and keeps writing after the page read', async () => {
    const topic = uniqueName('overview');
    const group = uniqueName('group');
    const config = inProcessConfig(db.database, {
      topics: `${topic}:posthog-events`,
      'group-id': group,
      'data-dir': '/nonexistent-unused',
      'flush-interval-ms': '300',
      'log-level': 'warn',
    });
    const batch = (seed: number, startMs: number) =>
      [...generate({ seed, format: 'posthog-events', events: 1_500, startMs })].map((m) => ({ key: m.key, value: m.value }));
    const consumed = async (): Promise<void> => {
      const ends = await endOffsets(kafka, topic);
      await waitFor('the topic consumed and committed', async () => {
        const committed = await committedOffsets(kafka, group, topic);
        return [...ends].every(([p, end]) => committed.get(p) === end) ? true : undefined;
      });
    };
    await createTopic(kafka, topic, 2);
    await produce(kafka, topic, batch(31, Date.UTC(2026, 10, 18, 9)));
    service = await startInProcess(config, { log: createLogger('warn'), clickhouse: db.handle });
    await service.consumer.start();
    await consumed();

    const base = `${service.http.url}/`;
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('assets/overview.js');
    const script = await fetch(`${base}assets/overview.js`);
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(20_000); // the page and uPlot, bundled
    expect((await fetch(`${base}assets/overview.css`)).status).toBe(200);

    const check = async (): Promise<number> => {
      const meta = await json<Meta>(`${base}api/overview/meta`);
      const team = meta.team ?? '';
      const rows = await sessionRows(db.handle.client, db.database, team);
      const period = resolvePeriod({ from: undefined, to: undefined }, lastDay(rows));
      expect(meta.period).toEqual(period);
      const qs = new URLSearchParams({ team, from: period.from, to: period.to });
      const tiles = await json<Tiles>(`${base}api/overview/tiles?${qs.toString()}`);
      expect(tiles.tiles).toEqual(expectedTiles(rows, period, []));
      return tiles.tiles[0]?.value ?? 0;
    };
    const first = await check();
    expect(first).toBeGreaterThan(0);

    // the service's inserts still work on the connection the page read through
    await produce(kafka, topic, batch(32, Date.UTC(2026, 10, 18, 15)));
    await consumed();
    const second = await check();
    expect(second).toBeGreaterThan(first);
    expect((await fetch(`${service.http.url}/readyz`)).status).toBe(200);
  });
});

describe('sessionizer dashboard', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionizer-dashboard-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a data directory; another process on it is told why it cannot, and where to read', async () => {
    const dataDir = join(dir, 'data');
    const replay = await runCli(['replay', FIXTURE, '--format', 'posthog-events', '--data-dir', dataDir]);
    expect(replay.code, replay.stderr).toBe(0);
    const server = startCli(['dashboard', '--data-dir', dataDir, '--port', '0']);
    try {
      const [, url = ''] = await watch(server.stdout, /overview of sessionizer on embedded chDB at .*: (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      const meta = await json<Meta>(`${url}api/overview/meta`);
      expect(meta.teams.length).toBeGreaterThan(0);
      expect((await fetch(url)).status).toBe(200);

      const second = await runCli(['dashboard', '--data-dir', dataDir, '--port', '0']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/in use by another process/);
      // as when a `sessionizer run` holds it: it recorded its endpoint
      const remove = writeEndpointFile(dataDir, { pid: server.pid ?? 0, url: 'http://127.0.0.1:9464' });
      const third = await runCli(['dashboard', '--data-dir', dataDir, '--port', '0']);
      remove();
      expect(third.code).toBe(1);
      expect(third.stderr).toContain('which serves the overview itself: open http://127.0.0.1:9464/');
    } finally {
      server.kill('SIGINT');
    }
    const done = await server.result;
    expect(done.code, done.stderr).toBe(0);
  });

  it('refuses a target without a sessions view', async () => {
    const r = await runCli(['dashboard', '--data-dir', join(dir, 'empty'), '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/there is no sessions view in database sessionizer/);
  });
});

describe('sessionizer demo', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionizer-demo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const args = (name: string): string[] => ['demo', '--events', '400', '--seed', '5', '--data-dir', join(dir, name), '--metrics-port', '0'];

  it('prints the overview URL and ends by itself when not on a terminal (scripts, CI)', async () => {
    const r = await runCli(args('plain'), { KAFKA_BROKERS: kafkaBrokers().join(',') });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/web analytics overview: http:\/\/127\.0\.0\.1:\d+\/\n/);
    expect(r.stderr).not.toContain('until Ctrl-C');
  });

  it('on a terminal, keeps serving the overview until Ctrl-C', async () => {
    // util-linux `script` gives the demo a pseudo-terminal; a ^C typed into it is a real SIGINT.
    // It runs the command with $SHELL -c: bash returns the demo's own exit code after a SIGINT
    // the demo handled, where dash would report 130 whatever the demo did.
    const command = [process.execPath, SESSIONIZER_BIN, ...args('tty')].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: cliEnv({ KAFKA_BROKERS: kafkaBrokers().join(','), TERM: 'dumb', SHELL: '/bin/bash' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const [, url = ''] = await watch(child.stdout, /serving the overview at (http:\/\/127\.0\.0\.1:\d+\/) until Ctrl-C/);
      const meta = await json<Meta>(`${url}api/overview/meta`);
      expect(meta.teams.length).toBeGreaterThan(0);
    } finally {
      child.stdin.write('\x03');
    }
    expect(await exited).toBe(0);
  });
});
