/**
 * CPU per event of `sessionizer run`, A/B: `npm run bench:cpu -- --events 500000 --runs 3
 * [--topic bench_cpu_x] [--root /path/to/other/checkout ...] [--node-arg=--cpu-prof ...]
 * [--active-sessions 2000] [--settle-seconds 20]`.
 *
 * Preloads one topic of loadgen events (the bench's workload: posthog-events, 2 000 active
 * sessions, 3 partitions; skipped when --topic names one that already holds them), then runs
 * `sessionizer run` from offset 0 of it, --runs times per checkout given with --root (default:
 * this one; `--root <dir>::--flag,--flag` adds node flags to that one; each runs with its own
 * Dockerfile's NODE_OPTIONS, as the image does), alternating the checkouts
 * run by run so that both see the same machine. Each run is
 * measured like the pipeline bench's sessionizer (measure.ts: first record read → every offset
 * committed) and prints CPU-s per million events, the steady-state figure, what the rest of the
 * machine used, the peak RSS, and the CPU by thread name (the JavaScript main thread is `node`; chDB's threads,
 * V8's GC helpers and libuv's pool have their own names). Then the median per checkout.
 * Nothing is asserted.
 *
 * `--modes client,server` runs each checkout on the same events with their client `$session_id`
 * (`client`, the default) and without it with SERVER_SESSIONS=all (`server`: a second topic of the
 * same messages, stripped like the bench's server-sessions phase), alternating too; each run also
 * prints what it wrote (partial rows, state rows, inserts, flushes) through the service's /query.
 *
 * `--memory-limit 1536M` runs the service inside a memory cgroup with that limit, as the
 * Deployment's `resources.limits.memory` does (cgroup.ts: needs root; cgroup v1 or v2 memory
 * controller); node then sizes V8's heap from it. `--memory-limit none,1536M` runs every checkout
 * both ways, alternating. Each run also prints V8's heap limit as the service got it, its
 * mark-compacts in the window (`nodejs_gc_duration_seconds_count{kind="major"}`), and in a cgroup
 * how often the limit was hit (memory.failcnt; page cache counts) and the OOM kills.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@sessionizer/generator';
import { createKafkaClient, ensureTopic, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { freePort } from '@sessionizer/kafka/testing';
import { Meter, settle, type Measured } from './measure.js';
import { heapSizeLimitMiB, ROOT, serviceNodeOptions } from './service.js';
import { createMemoryCgroup, parseMemoryLimit, type CgroupCounters } from './cgroup.js';
import { metricSum, scrape } from '../support/prometheus.js';
import { benchArgs } from './args.js';
import { withoutSessionId } from './no-session-id.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    runs: { type: 'string' },
    topic: { type: 'string' },
    root: { type: 'string', multiple: true },
    'node-arg': { type: 'string', multiple: true },
    'active-sessions': { type: 'string' },
    'settle-seconds': { type: 'string' },
    modes: { type: 'string' },
    'memory-limit': { type: 'string' },
  },
});
const LIMITS = (values['memory-limit'] ?? 'none').split(',').map((l) => (l === 'none' ? undefined : parseMemoryLimit(l)));
// fail now, not after the preload, where no memory cgroup can be made
for (const l of LIMITS) if (l !== undefined) createMemoryCgroup(`bench-cpu-${process.pid}-probe`, l).remove();
const EVENTS = Number(values.events ?? 500_000);
const RUNS = Number(values.runs ?? 3);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const SETTLE_SECONDS = Number(values['settle-seconds'] ?? 20);
const ROOTS = values.root ?? [ROOT];
const NODE_ARGS = values['node-arg'] ?? [];
const MODES = (values.modes ?? 'client').split(',').map((m): 'client' | 'server' => {
  if (m !== 'client' && m !== 'server') throw new Error(`--modes: client or server, not '${m}'`);
  return m;
});
const say = (m: string): void => {
  process.stderr.write(`bench:cpu: ${m}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const provisioned = await provisionKafka({ brokers: process.env['KAFKA_BROKERS'], log: say });
const brokers = provisioned.brokers.join(',');
const kafka = createKafkaClient({ brokers, clientId: 'bench-cpu' });
const topic = values.topic ?? `bench_cpu_${ACTIVE}_${EVENTS}`;
/** The same messages without `$session_id`, for `--modes server`. */
const serverTopic = `${topic}_nosid`;
async function preload(name: string, edit?: (value: string) => string): Promise<void> {
  const { end } = await groupProgress(kafka, `probe_${Date.now()}`, name).catch(() => ({ end: new Map<number, bigint>() }));
  const present = [...end.values()].reduce((a, b) => a + Number(b), 0);
  if (present >= EVENTS) say(`topic ${name} holds ${present} events: not preloaded again`);
  else {
    await ensureTopic(kafka, name, 3);
    const t = performance.now();
    const generated = generate({ seed: 1, format: 'posthog-events', events: EVENTS, activeSessions: ACTIVE });
    const messages = edit === undefined ? generated : [...generated].map((m) => ({ ...m, value: edit(m.value) }));
    const sent = await produceAll(kafka, name, messages, { batchSize: 2_000 });
    say(`preloaded ${sent} events into ${name} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}
if (MODES.includes('client')) await preload(topic);
if (MODES.includes('server')) await preload(serverTopic, withoutSessionId);

async function metric(port: number, name: string, labels?: Record<string, string>): Promise<number> {
  try {
    return metricSum(await scrape(`http://127.0.0.1:${port}`), name, labels);
  } catch {
    return 0;
  }
}

/** CPU seconds of the main thread alone (tid = pid): the JavaScript thread, and chDB's work done on it. */
const mainThreadCpu = (pid: number): number => taskCpu(pid, pid);
function taskCpu(pid: number, tid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

interface Run extends Measured {
  /** CPU seconds of the main thread in the window (other threads named `node`: V8's and libuv's helpers, chDB's unnamed threads). */
  readonly mainThreadCpuSeconds: number;
  /** What the run wrote, from the service's metrics and its /query endpoint. */
  readonly written: Record<string, number | string>;
  /** V8's heap limit the service started with (MiB), its mark-compacts in the window. */
  readonly heapSizeLimitMiB: number;
  readonly markCompacts: number;
  readonly cgroup: CgroupCounters | null;
}

/** One number from the service's read-only /query endpoint (the embedded engine is locked by it). */
async function queryNumber(port: number, sql: string): Promise<number | string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/query`, { method: 'POST', body: sql });
    const text = (await res.text()).trim();
    if (!res.ok) return `error: ${text.slice(0, 120)}`;
    const row = JSON.parse(text.split('\n')[0] ?? '{}') as Record<string, unknown>;
    return Number(Object.values(row)[0]);
  } catch (err) {
    return `error: ${String(err).slice(0, 120)}`;
  }
}

async function written(port: number, mode: string): Promise<Record<string, number | string>> {
  const text = await scrape(`http://127.0.0.1:${port}`).catch(() => '');
  return {
    partialRows: metricSum(text, 'sessionizer_written_rows_total'),
    flushes: metricSum(text, 'sessionizer_flushes_total'),
    sessions: await queryNumber(port, 'SELECT count() FROM sessions'),
    stateRows: mode === 'server' ? await queryNumber(port, 'SELECT count() FROM server_session_state') : 0,
    serverSessionEvents: metricSum(text, 'sessionizer_server_session_events_total'),
  };
}

async function once(root: string, n: number, mode: 'client' | 'server', limit: number | undefined): Promise<Run> {
  const busy = await settle(0.3, SETTLE_SECONDS * 1000);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cpu-'));
  const group = `cpu_${Date.now().toString(36)}_${n}`;
  const [dir = root, flags = ''] = root.split('::');
  const nodeArgs = [...NODE_ARGS, ...flags.split(',').filter(Boolean)];
  const cgroup = limit === undefined ? undefined : createMemoryCgroup(`bench-cpu-${process.pid}-${n}`, limit);
  const heapLimit = heapSizeLimitMiB(serviceNodeOptions(dir), nodeArgs, cgroup);
  const [command, argv] = (cgroup?.wrap.bind(cgroup) ?? ((c: string, a: readonly string[]): [string, string[]] => [c, [...a]]))(
    process.execPath,
    [...nodeArgs, join(dir, 'services/sessionizer/bin/sessionizer.mjs'), 'run'],
  );
  const child = spawn(command, argv, {
    cwd: dir,
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPICS: mode === 'server' ? serverTopic : topic,
      ...(mode === 'server' ? { SERVER_SESSIONS: 'all' } : {}),
      KAFKA_GROUP_ID: group,
      SESSIONIZER_DATA_DIR: dataDir,
      METRICS_PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // the node flags of that checkout's image (its Dockerfile), as deployed
      NODE_OPTIONS: serviceNodeOptions(dir),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const meter = new Meter(child.pid ?? 0, EVENTS);
  meter.busyBefore = busy;
  try {
    while ((await metric(port, 'sessionizer_received_events_total')) === 0) {
      if (child.exitCode !== null) throw new Error('sessionizer exited');
      await sleep(20);
    }
    meter.start();
    const main0 = mainThreadCpu(child.pid ?? 0);
    const majors0 = await metric(port, 'sessionizer_nodejs_gc_duration_seconds_count', { kind: 'major' });
    for (;;) {
      meter.sample(await metric(port, 'sessionizer_received_events_total'));
      const { committed, end } = await groupProgress(kafka, group, mode === 'server' ? serverTopic : topic);
      if ([...end].every(([p, e]) => (committed.get(p) ?? -1n) >= e)) break;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `sessionizer exited (${child.exitCode ?? child.signalCode}) before committing everything${cgroup === undefined ? '' : `; cgroup ${JSON.stringify(cgroup.counters())}`}`,
        );
      await sleep(200);
    }
    const main = mainThreadCpu(child.pid ?? 0) - main0;
    const finished = meter.finish();
    const markCompacts = (await metric(port, 'sessionizer_nodejs_gc_duration_seconds_count', { kind: 'major' })) - majors0;
    return {
      ...finished,
      mainThreadCpuSeconds: Math.round(main * 100) / 100,
      written: await written(port, mode),
      heapSizeLimitMiB: heapLimit,
      markCompacts,
      cgroup: cgroup?.counters() ?? null,
    };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('close', r));
    rmSync(dataDir, { recursive: true, force: true });
    cgroup?.remove();
  }
}

const contenders = ROOTS.flatMap((root) =>
  MODES.flatMap((mode) =>
    LIMITS.map((limit) => ({
      root,
      mode,
      limit,
      name:
        root +
        (MODES.length > 1 ? ` [${mode}]` : '') +
        (values['memory-limit'] === undefined
          ? ''
          : ` [memory limit ${limit === undefined ? 'none' : `${Math.round(limit / 2 ** 20)} MiB`}]`),
    })),
  ),
);
const results = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
for (let i = 0; i < RUNS; i += 1) {
  for (const { root, mode, limit, name } of contenders) {
    const m = await once(root, i, mode, limit);
    results.get(name)?.push(m);
    const top = Object.entries(m.threadCpuSeconds)
      .slice(0, 8)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    say(
      `${name} run ${i + 1}: ${m.cpuSecondsPerMillionEvents} CPU-s/M (steady ${m.steady?.cpuSecondsPerMillionEvents ?? '-'}), ` +
        `${m.eventsPerSecond} events/s, main thread ${m.mainThreadCpuSeconds} CPU-s, peak RSS ${Math.round(m.peakRssBytes / 2 ** 20)} MiB, others ${m.otherCpuSeconds} CPU-s in ${m.seconds} s, V8 heap limit ${m.heapSizeLimitMiB} MiB, ${m.markCompacts} mark-compacts${m.cgroup === null ? '' : `, cgroup limit hit ${m.cgroup.limitHits}x, ${m.cgroup.oomKills} OOM kills`}, busy before ${m.machineBusyCoresBefore}, load ${loadavg()[0]?.toFixed(2) ?? '?'}; ${top}; wrote ${JSON.stringify(m.written)}`,
    );
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
for (const [root, ms] of results) {
  const line = {
    root,
    runs: ms.length,
    cpuSecondsPerMillionEvents: ms.map((m) => m.cpuSecondsPerMillionEvents),
    median: median(ms.map((m) => m.cpuSecondsPerMillionEvents)),
    steadyMedian: median(ms.map((m) => m.steady?.cpuSecondsPerMillionEvents ?? NaN)),
    otherCpuSeconds: ms.map((m) => m.otherCpuSeconds),
    mainThreadCpuSeconds: ms.map((m) => m.mainThreadCpuSeconds),
    mainThreadMedian: median(ms.map((m) => m.mainThreadCpuSeconds)),
    peakRssMiB: ms.map((m) => Math.round(m.peakRssBytes / 2 ** 20)),
    heapSizeLimitMiB: ms.map((m) => m.heapSizeLimitMiB),
    markCompacts: ms.map((m) => m.markCompacts),
    cgroup: ms.map((m) => m.cgroup),
    written: ms.map((m) => m.written),
  };
  process.stdout.write(`BENCH-CPU ${JSON.stringify(line)}\n`);
}
process.exit(0);
