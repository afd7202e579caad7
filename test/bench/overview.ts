/**
 * Page load of the web analytics overview on the embedded engine:
 * `npm run bench:overview -- [--sessions 100000,1000000] [--days 28] [--runs 5] [--data-dir DIR] [--smoke]`.
 *
 * For each size it writes that many sessions — a corpus of generated sessions (normalised, so
 * every property the pipeline extracts is there) cloned with fresh ids and spread over `days`
 * days, through the real sink — then serves the overview (`sessionizer dashboard`'s server) and
 * loads the page as the browser does: the HTML and its two assets, `meta`, then the tiles and
 * the breakdowns (the chart and every table, one statement) at once. It prints the first (cold) load, the median and worst of `runs` more, and each panel's
 * wall and CPU time run alone (CPU: this process, which includes the embedded engine's threads).
 * With --data-dir, datasets are kept in DIR/<sessions> and reused by later runs (--prepare-only
 * writes them and stops: a 1M-session dataset takes longer to write than to measure). Each size runs
 * in a process of its own: the embedded engine binds one data directory per process.
 * Prints a table and one JSON line, OVERVIEW-BENCH {…}. Nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseSessionSink, createClickHouse, migrate } from '@sessionizer/clickhouse';
import { startDashboard } from '../../services/sessionizer/src/commands/dashboard.js';
import { createLogger } from '../../services/sessionizer/src/log.js';
import { Overview, type Meta } from '../../services/sessionizer/src/overview/panels.js';
import { parseParams } from '../../services/sessionizer/src/overview/request.js';
import { loadClonedSessions } from '../support/overview-data.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    sessions: { type: 'string' },
    days: { type: 'string' },
    runs: { type: 'string' },
    'data-dir': { type: 'string' },
    smoke: { type: 'boolean' },
    'prepare-only': { type: 'boolean' },
  },
});
const smoke = values.smoke === true;
const SIZES = (values.sessions ?? (smoke ? '3000' : '100000,1000000')).split(',').map(Number);
const DAYS = Number(values.days ?? (smoke ? 14 : 28));
const RUNS = Number(values.runs ?? (smoke ? 2 : 5));
const LAST_DAY_MS = Date.UTC(2026, 10, 27);
const DATABASE = 'overview_bench';
if (SIZES.some((n) => !Number.isInteger(n) || n < 1) || !(DAYS >= 1) || !(RUNS >= 1)) {
  console.error('usage: --sessions N[,N…] --days D --runs R (positive integers)');
  process.exit(2);
}
const keep = values['data-dir'];
const scratch = keep === undefined ? mkdtempSync(join(tmpdir(), 'bench-overview-')) : keep;
const log = createLogger('warn');

if (SIZES.length > 1) {
  // one child per size, each printing its own OVERVIEW-BENCH line
  const results: unknown[] = [];
  for (const size of SIZES) {
    const args = [...process.execArgv, process.argv[1] ?? '', '--sessions', String(size), '--days', String(DAYS), '--runs', String(RUNS)];
    if (values['prepare-only'] === true) args.push('--prepare-only');
    const child = spawnSync(process.execPath, [...args, '--data-dir', scratch], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    const lines = child.stdout.split('\n');
    process.stdout.write(lines.filter((l) => !l.startsWith('OVERVIEW-BENCH ')).join('\n'));
    const line = lines.find((l) => l.startsWith('OVERVIEW-BENCH '));
    if (child.status !== 0 || line === undefined) {
      console.error(`the ${size}-session run failed (exit ${child.status})`);
      process.exit(1);
    }
    results.push(...(JSON.parse(line.slice('OVERVIEW-BENCH '.length)) as { results: unknown[] }).results);
  }
  console.log(`OVERVIEW-BENCH ${JSON.stringify({ runs: RUNS, results })}`);
  if (keep === undefined) rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}

interface Timed {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function timed(f: () => Promise<unknown>): Promise<Timed> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await f();
  const wallMs = performance.now() - t;
  const u = process.cpuUsage(cpu);
  return { wallMs: Math.round(wallMs), cpuMs: Math.round((u.user + u.system) / 1000) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function get(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return url.includes('/api/') ? res.json() : res.arrayBuffer();
}

/** What the page does: the HTML and assets, meta, then the tiles and the breakdowns (the chart and every table) at once. */
async function pageLoad(base: string): Promise<void> {
  await Promise.all([get(base), get(`${base}assets/overview.js`), get(`${base}assets/overview.css`)]);
  const meta = (await get(`${base}api/overview/meta`)) as Meta;
  if (meta.team === null) throw new Error('no data');
  const qs = new URLSearchParams({ team: meta.team, from: meta.period.from, to: meta.period.to }).toString();
  await Promise.all([get(`${base}api/overview/tiles?${qs}`), get(`${base}api/overview/breakdowns?${qs}`)]);
}

const report: Record<string, unknown>[] = [];
for (const size of SIZES) {
  const dir = join(scratch, String(size));
  const marker = join(dir, 'overview-bench-ready');
  const handle = createClickHouse({ dataDir: dir });
  const client = handle.client;
  try {
    let load: { sessions: number; partials: number; seconds: number } | undefined;
    if (!existsSync(marker)) {
      const schema = { database: DATABASE };
      await migrate(client, schema);
      const started = performance.now();
      const r = await loadClonedSessions(new ClickHouseSessionSink(client, { schema }), {
        sessions: size,
        days: DAYS,
        lastDayMs: LAST_DAY_MS,
        seed: 7,
        baseSessions: Math.min(20_000, size),
        progress: (n) => process.stderr.write(`\r${size}: ${n} sessions written`),
      });
      process.stderr.write('\n');
      load = { ...r, seconds: Math.round((performance.now() - started) / 100) / 10 };
      writeFileSync(marker, JSON.stringify(load));
    }
    if (values['prepare-only'] === true) {
      console.log(`${size} sessions ready in ${dir}`);
      continue;
    }
    const count = await client.query({ query: `SELECT count() AS n FROM ${DATABASE}.sessions_raw`, format: 'JSONEachRow' });
    const partialRows = (await count.json<{ n: number }>())[0]?.n ?? 0;
    const dashboard = await startDashboard({ client, database: DATABASE, host: '127.0.0.1', port: 0, log });
    try {
      const cold = await timed(() => pageLoad(dashboard.url));
      const warm: Timed[] = [];
      for (let i = 0; i < RUNS; i += 1) warm.push(await timed(() => pageLoad(dashboard.url)));

      // each panel alone, through the same code the endpoints run
      const overview = new Overview({ client, database: DATABASE });
      const meta = await overview.meta(parseParams(new URLSearchParams()));
      const scope = await overview.scope(
        parseParams(new URLSearchParams({ team: meta.team ?? '1', from: meta.period.from, to: meta.period.to })),
      );
      const panels: Record<string, Timed> = {};
      panels['meta'] = await timed(() => overview.meta(parseParams(new URLSearchParams())));
      panels['tiles'] = await timed(() => overview.tiles(scope));
      panels['breakdowns'] = await timed(() => overview.breakdowns(scope));
      // the single-panel endpoints (the API; the page no longer loads them one by one)
      panels['series'] = await timed(() => overview.series(scope));
      for (const d of meta.dimensions) panels[d.column] = await timed(() => overview.table(scope, d.column));
      const teamSessions = meta.teams.find((t) => t.team === meta.team)?.sessions ?? 0;

      const row = {
        sessions: size,
        partialRows,
        days: DAYS,
        team: meta.team,
        teamSessions,
        range: `${meta.period.from}..${meta.period.to}`,
        candidates: scope.candidates ?? null,
        load,
        pageLoadColdMs: cold.wallMs,
        pageLoadMedianMs: median(warm.map((w) => w.wallMs)),
        pageLoadMaxMs: Math.max(...warm.map((w) => w.wallMs)),
        pageLoadCpuMs: median(warm.map((w) => w.cpuMs)),
        panels,
      };
      report.push(row);
      console.log(
        `\n${size} sessions (${partialRows} partial rows, ${DAYS} days; team ${meta.team}: ${teamSessions} sessions; range ${row.range})` +
          (load === undefined ? ' — dataset reused' : ` — written in ${load.seconds} s`),
      );
      console.log(
        `  page load (all panels): cold ${cold.wallMs} ms, warm median ${row.pageLoadMedianMs} ms, max ${row.pageLoadMaxMs} ms (CPU ${row.pageLoadCpuMs} ms), ${RUNS} runs`,
      );
      console.log('  panel alone                 wall ms    CPU ms');
      for (const [name, t] of Object.entries(panels))
        console.log(`  ${name.padEnd(26)} ${String(t.wallMs).padStart(8)} ${String(t.cpuMs).padStart(9)}`);
    } finally {
      await dashboard.close();
    }
  } finally {
    await handle.close();
  }
}
console.log(`OVERVIEW-BENCH ${JSON.stringify({ runs: RUNS, results: report })}`);
if (keep === undefined) rmSync(scratch, { recursive: true, force: true });
