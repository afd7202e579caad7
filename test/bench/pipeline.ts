/**
 * `npm run bench`: the sessionizer against baselines, measured side by side in one run.
 *
 *  1. preload N generated PostHog events into a topic;
 *  2. baseline A: a bare kafkajs consumer that JSON.parses every message (the client's ceiling);
 *  3. the sessionizer (a real `sessionizer run` process, embedded ClickHouse) on the same topic
 *     until every offset is committed: events/s, ratio to A, CPU s per million events, peak RSS,
 *     rows and bytes written per 1000 events, flush latency p50/p99;
 *  4. freshness: at 50% of the measured throughput, time from produce to the session row being
 *     visible (marker sessions polled through the service's query endpoint), p50/p99;
 *  5. memory: peak RSS with 10x the total sessions at the same number of active sessions;
 *  6. write volume: PostHog's events table + materialized view vs our pre-aggregated inserts.
 * Output: a table on stdout, bench-results/bench-<time>.json and .svg. Nothing is asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { uuidv7 } from 'uuidv7';
import { generate } from '@sessionizer/generator';
import { createKafkaClient, ensureTopic, freePort, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { BIN, ROOT, spawnService } from './service.js';

const LOADGEN = join(ROOT, 'services/loadgen/bin/loadgen.mjs');

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    partitions: { type: 'string' },
    'active-sessions': { type: 'string' },
    'freshness-seconds': { type: 'string' },
    'memory-events': { type: 'string' },
    skip: { type: 'string', multiple: true },
    'out-dir': { type: 'string' },
  },
});
const N = Number(values.events ?? 200_000);
const PARTITIONS = Number(values.partitions ?? 3);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const FRESHNESS_SECONDS = Number(values['freshness-seconds'] ?? 30);
const MEMORY_EVENTS = Number(values['memory-events'] ?? 100_000);
const SKIP = new Set(values.skip ?? []);
const OUT = values['out-dir'] ?? join(ROOT, 'bench-results');
const say = (m: string): void => {
  process.stderr.write(`bench: ${m}\n`);
};

const quantile = (xs: readonly number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
};
const round = (x: number | null, d = 2): number | null => (x === null ? null : Number(x.toFixed(d)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in 1/100 s
}
function procPeakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function preload(kafka: Kafka, topic: string, events: number, seed: number): Promise<number> {
  await ensureTopic(kafka, topic, PARTITIONS);
  const t = performance.now();
  const sent = await produceAll(kafka, topic, generate({ seed, format: 'posthog-events', events, activeSessions: ACTIVE }), {
    batchSize: 2_000,
  });
  say(`preloaded ${sent} events into ${topic} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return sent;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(cmd === 'tsx' ? ['--import', 'tsx'] : []), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

async function baseline(brokers: string, topic: string, events: number): Promise<Record<string, number>> {
  const r = await run('tsx', [
    'test/bench/baseline-consumer.ts',
    '--brokers',
    brokers,
    '--topic',
    topic,
    '--group',
    `baseline_${topic}`,
    '--expect',
    String(events),
  ]);
  if (r.code !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

interface Service {
  child: ChildProcess;
  port: number;
  dataDir: string;
  stderr: string[];
  group: string;
}

async function startService(brokers: string, topic: string, extra: Record<string, string> = {}): Promise<Service> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sessionizer-'));
  const group = `sessionizer_${topic}`;
  const child = spawnService({ brokers, topic, group, dataDir, port, logLevel: 'debug', extra });
  const stderr: string[] = [];
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
  });
  return { child, port, dataDir, stderr, group };
}

async function metric(s: Service, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  } catch {
    return 0;
  }
}

async function stopService(s: Service): Promise<number | null> {
  s.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => s.child.on('close', resolve));
  return code;
}

async function query(dataDir: string, sql: string): Promise<Record<string, number>[]> {
  const r = await run('node', [BIN, 'query', sql, '--data-dir', dataDir]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, number>);
}

async function sessionizer(kafka: Kafka, brokers: string, topic: string, events: number): Promise<Record<string, number | null>> {
  const s = await startService(brokers, topic);
  const pid = s.child.pid ?? 0;
  try {
    let t0 = 0;
    let cpu0 = 0;
    for (;;) {
      if ((await metric(s, 'sessionizer_received_events_total')) > 0) {
        t0 = performance.now();
        cpu0 = procCpuSeconds(pid);
        break;
      }
      if (s.child.exitCode !== null) throw new Error(`sessionizer exited: ${s.stderr.slice(-5).join('\n')}`);
      await sleep(20);
    }
    let consumedSeconds: number | null = null;
    for (;;) {
      if (consumedSeconds === null && (await metric(s, 'sessionizer_received_events_total')) >= events) {
        consumedSeconds = (performance.now() - t0) / 1000;
      }
      const { committed, end } = await groupProgress(kafka, s.group, topic);
      if ([...end].every(([p, e]) => (committed.get(p) ?? -1n) >= e)) break;
      await sleep(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = procCpuSeconds(pid) - cpu0;
    const peakRssBytes = procPeakRss(pid);
    const rows = await metric(s, 'sessionizer_written_rows_total');
    const bytes = await metric(s, 'sessionizer_written_bytes_total');
    const code = await stopService(s);
    const flushes = s.stderr
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; seconds?: number; sessions?: number };
        } catch {
          return {};
        }
      })
      .filter((r) => r.msg === 'flushed' && typeof r.seconds === 'number');
    const [disk] = await query(
      s.dataDir,
      "SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk FROM system.parts WHERE active AND database = 'sessionizer' AND table = 'sessions_raw'",
    );
    const [sessions] = await query(s.dataDir, 'SELECT count() AS sessions FROM sessions');
    return {
      events,
      seconds: round(seconds),
      eventsPerSecond: Math.round(events / seconds),
      consumedSeconds: round(consumedSeconds ?? seconds),
      consumedEventsPerSecond: Math.round(events / (consumedSeconds ?? seconds)),
      cpuSecondsPerMillionEvents: round((cpuSeconds / events) * 1e6, 1),
      peakRssBytes,
      rowsWritten: rows,
      rowsPer1000Events: round((rows / events) * 1000, 1),
      jsonBytesPer1000Events: Math.round((bytes / events) * 1000),
      onDiskBytesPer1000Events: Math.round(((disk?.['bytes_on_disk'] ?? 0) / events) * 1000),
      sessions: sessions?.['sessions'] ?? null,
      flushes: flushes.length,
      flushP50Seconds: round(
        quantile(
          flushes.map((f) => f.seconds ?? 0),
          0.5,
        ),
        3,
      ),
      flushP99Seconds: round(
        quantile(
          flushes.map((f) => f.seconds ?? 0),
          0.99,
        ),
        3,
      ),
      exitCode: code,
    };
  } finally {
    if (s.child.exitCode === null) await stopService(s);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

function marker(teamId: number): { key: string; value: string; sessionId: string } {
  const sessionId = uuidv7();
  const now = new Date();
  const ts = now.toISOString().replace('T', ' ').replace('Z', '');
  return {
    key: `marker:${sessionId}`,
    sessionId,
    value: JSON.stringify({
      uuid: uuidv7(),
      event: '$pageview',
      team_id: teamId,
      distinct_id: `marker-${sessionId}`,
      timestamp: ts,
      properties: JSON.stringify({ $session_id: sessionId, $current_url: 'https://bench.example/marker' }),
    }),
  };
}

async function freshness(kafka: Kafka, brokers: string, rate: number): Promise<Record<string, number | null>> {
  const topic = `bench_fresh_${Date.now().toString(36)}`;
  await ensureTopic(kafka, topic, PARTITIONS);
  const s = await startService(brokers, topic, { LOG_LEVEL: 'info' });
  const MARKER_TEAM = 999_999;
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    say(`freshness: producing ${rate} events/s for ${FRESHNESS_SECONDS} s with a marker session every 250 ms`);
    const load = spawn(
      process.execPath,
      [
        LOADGEN,
        '--topic',
        topic,
        '--brokers',
        brokers,
        '--format',
        'posthog-events',
        '--events',
        String(rate * FRESHNESS_SECONDS),
        '--rate',
        String(rate),
        '--now',
        '--active-sessions',
        String(Math.max(200, 17 * rate)),
        '--seed',
        '5',
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const producer = kafka.producer();
    await producer.connect();
    const pending = new Map<string, number>();
    const latencies: number[] = [];
    const state = { producing: true, loadFinished: false };
    const markers = (async () => {
      while (state.producing) {
        const m = marker(MARKER_TEAM);
        const t = performance.now();
        await producer.send({ topic, acks: -1, messages: [{ key: m.key, value: m.value }] });
        pending.set(m.sessionId, t);
        await sleep(250);
      }
    })();
    const poll = async (): Promise<void> => {
      const res = await fetch(`http://127.0.0.1:${s.port}/query`, {
        method: 'POST',
        body: `SELECT toString(session_id) AS s FROM sessions WHERE team_id = ${MARKER_TEAM}`,
      });
      const seen = (await res.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { s?: string }).s);
      const now = performance.now();
      for (const id of seen) {
        const t = id === undefined ? undefined : pending.get(id);
        if (id !== undefined && t !== undefined) {
          latencies.push((now - t) / 1000);
          pending.delete(id);
        }
      }
    };
    const loadDone = new Promise<void>((resolve) =>
      load.on('close', () => {
        resolve();
      }),
    );
    const deadline = performance.now() + (FRESHNESS_SECONDS + 60) * 1000;
    void loadDone.then(() => {
      state.loadFinished = true;
      state.producing = false;
    });
    while ((!state.loadFinished || pending.size > 0) && performance.now() < deadline) {
      await poll();
      await sleep(100);
    }
    state.producing = false;
    await markers;
    await producer.disconnect();
    const cpu = procCpuSeconds(s.child.pid ?? 0);
    return {
      rate,
      markers: latencies.length,
      unseenMarkers: pending.size,
      freshnessP50Seconds: round(quantile(latencies, 0.5)),
      freshnessP99Seconds: round(quantile(latencies, 0.99)),
      flushIntervalSeconds: 5,
      serviceCpuSeconds: round(cpu, 1),
    };
  } finally {
    await stopService(s);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

function svg(report: Record<string, unknown>): string {
  const a = report['baselineA'] as Record<string, number> | undefined;
  const s = report['sessionizer'] as Record<string, number> | undefined;
  const bars: [string, number][] = [
    ['baseline A: kafkajs + JSON.parse', a?.['eventsPerSecond'] ?? 0],
    ['sessionizer → ClickHouse', s?.['eventsPerSecond'] ?? 0],
  ];
  const max = Math.max(1, ...bars.map(([, v]) => v));
  const rows = bars
    .map(([label, v], i) => {
      const y = 40 + i * 50;
      const w = Math.round((v / max) * 420);
      return `<text x="10" y="${y + 20}" font-size="13">${label}</text><rect x="250" y="${y}" width="${w}" height="30" fill="${i === 0 ? '#888' : '#2b6cb0'}"/><text x="${255 + w}" y="${y + 20}" font-size="13">${v.toLocaleString('en-US')} events/s</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="160" font-family="sans-serif"><text x="10" y="20" font-size="15" font-weight="bold">Throughput on one topic (${String(report['events'])} events, ${String(report['partitions'])} partitions)</text>${rows}</svg>\n`;
}

// ---- main ----
const kafkaProvisioned = await provisionKafka({ brokers: process.env['KAFKA_BROKERS'], log: say });
const brokers = kafkaProvisioned.brokers.join(',');
const kafka = createKafkaClient({ brokers, clientId: 'bench' });
const report: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  kafka: kafkaProvisioned.description,
  events: N,
  partitions: PARTITIONS,
  activeSessions: ACTIVE,
};
try {
  const topic = `bench_${Date.now().toString(36)}`;
  await preload(kafka, topic, N, 1);
  if (!SKIP.has('baseline')) {
    say('baseline A: bare kafkajs consumer + JSON.parse');
    report['baselineA'] = await baseline(brokers, topic, N);
  }
  say('sessionizer: consuming the same topic to the embedded ClickHouse until everything is committed');
  const main = await sessionizer(kafka, brokers, topic, N);
  report['sessionizer'] = main;
  const a = report['baselineA'] as Record<string, number> | undefined;
  if (a !== undefined) {
    report['ratioToBaselineA'] = round((main['eventsPerSecond'] ?? 0) / (a['eventsPerSecond'] ?? 1), 3);
    report['baselineCpuSecondsPerMillionEvents'] = round(((a['cpuSeconds'] ?? 0) / N) * 1e6, 1);
  }
  if (!SKIP.has('freshness')) {
    const rate = Math.max(100, Math.round((main['eventsPerSecond'] ?? 0) * 0.5));
    report['freshness'] = await freshness(kafka, brokers, rate);
  }
  if (!SKIP.has('memory')) {
    const small = `bench_mem1_${Date.now().toString(36)}`;
    const large = `bench_mem10_${Date.now().toString(36)}`;
    await preload(kafka, small, MEMORY_EVENTS, 2);
    const r1 = await sessionizer(kafka, brokers, small, MEMORY_EVENTS);
    await preload(kafka, large, MEMORY_EVENTS * 10, 3);
    const r10 = await sessionizer(kafka, brokers, large, MEMORY_EVENTS * 10);
    report['memory'] = {
      activeSessions: ACTIVE,
      small: { events: MEMORY_EVENTS, sessions: r1['sessions'], peakRssBytes: r1['peakRssBytes'] },
      large: { events: MEMORY_EVENTS * 10, sessions: r10['sessions'], peakRssBytes: r10['peakRssBytes'] },
      rssGrowth: round((r10['peakRssBytes'] ?? 0) / Math.max(1, r1['peakRssBytes'] ?? 1), 2),
    };
  }
  if (!SKIP.has('volume')) {
    say('write volume: PostHog events table + MV vs pre-aggregated partials');
    const r = await run('tsx', ['test/bench/write-volume.ts', '--events', String(N)]);
    const line = r.stdout.split('\n').find((l) => l.startsWith('WRITE-VOLUME '));
    report['writeVolume'] =
      line === undefined ? { error: r.stderr.slice(-500) } : (JSON.parse(line.slice('WRITE-VOLUME '.length)) as unknown);
  }
} finally {
  await kafkaProvisioned.stop();
}

mkdirSync(OUT, { recursive: true });
const stamp = String(report['startedAt']).replace(/[:.]/g, '-');
writeFileSync(join(OUT, `bench-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(OUT, `bench-${stamp}.svg`), svg(report));
console.log(`BENCH ${JSON.stringify(report)}`);
say(`wrote ${join(OUT, `bench-${stamp}.json`)} and .svg`);
