/**
 * `npm run bench`: the sessionizer against a baseline and a peer, measured in one run.
 *
 *  1. preload generated PostHog events (`posthog-events`) into a short topic (--events) and, with
 *     --long-events, a long one: long enough for the JVM's warm-up to show against its steady state;
 *  2. on each topic, one process at a time, each alone (see measure.ts for how a figure is
 *     isolated): baseline A, a bare kafkajs consumer that JSON.parses every message (the client's
 *     ceiling); the sessionizer (a real `sessionizer run` process, embedded ClickHouse) until every
 *     offset is committed; the peer, a Kafka Streams application doing the same job
 *     (test/bench/peers/kafka-streams, built with Maven on first use) until its input and
 *     repartition offsets are committed, i.e. every row is produced. For each: events/s, CPU
 *     seconds per million events (whole window and steady state), peak RSS; the ratio of the
 *     sessionizer's events per CPU-second to the peer's;
 *  3. the peer's sessions checked against the oracle on the short topic and on a topic with faults
 *     (--check-events): every column the oracle has, and rejects by reason;
 *  4. freshness: at 50% of the measured throughput (or --freshness-rate; --freshness-only runs
 *     this phase alone), time from produce to the session row being visible (marker sessions
 *     polled through the service's query endpoint), p50/p99; the load is generated before the
 *     phase and produced paced by the clock (fresh-load.ts), the asked and produced rates and the
 *     load's CPU are reported;
 *  5. memory: peak RSS with 10x the total sessions at the same number of active sessions;
 *  6. write volume: PostHog's events table + materialized view vs our pre-aggregated inserts;
 *  7. write cost of schema v1 (argMin/argMax states) vs the current schema on the short topic's
 *     events, flushed as the sessionizer flushed them (flush-phase.ts, runs flush-cost.ts);
 *  8. server-side sessions: the short topic's events without $session_id through the sessionizer
 *     with SERVER_SESSIONS=all vs the same events with their client ids, and the heap bytes per
 *     tracked distinct_id (server-sessions-phase.ts).
 * Output: a table on stderr, bench-results/bench-<time>.json and .svg. Nothing is asserted.
 * Options: README.md, Benchmarks; the freshness phase alone:
 * `npm run bench -- --freshness-only --freshness-rate R [--freshness-seconds S]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { uuidv7 } from 'uuidv7';
import { generate, type GeneratorOptions } from '@sessionizer/generator';
import { createKafkaClient, ensureTopic, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { freePort } from '@sessionizer/kafka/testing';
import { machineBusySeconds, Meter, procPeakRss, settle, treeCpuSeconds, type Measured } from './measure.js';
import {
  buildPeer,
  comparePeer,
  expectedOf,
  readLatestRows,
  repartitionTopic,
  startPeer,
  writeSuffixes,
  type PeerCheck,
  type PeerCounts,
} from './peer.js';
import { benchArgs } from './args.js';
import { BIN, ROOT, spawnService } from './service.js';
import { flushPhase, flushSummary } from './flush-phase.js';
import { withoutSessionId } from './no-session-id.js';
import { serverSessionsPhase, serverSessionsSummary, trackedKeyBytes } from './server-sessions-phase.js';
import { metricSum, scrape } from '../support/prometheus.js';

/** The freshness phase's load: pre-generated, then produced at the asked rate (see that file). */
const FRESH_LOAD = join(ROOT, 'test/bench/fresh-load.ts');

const { values } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    'long-events': { type: 'string' },
    'check-events': { type: 'string' },
    partitions: { type: 'string' },
    'active-sessions': { type: 'string' },
    'freshness-seconds': { type: 'string' },
    'freshness-rate': { type: 'string' },
    'freshness-flush-interval-ms': { type: 'string' },
    'freshness-active-sessions': { type: 'string' },
    'freshness-only': { type: 'boolean' },
    'memory-events': { type: 'string' },
    'memory-tail-seconds': { type: 'string' },
    'peer-threads': { type: 'string' },
    'settle-seconds': { type: 'string' },
    'flush-events': { type: 'string' },
    'flush-events-per-flush': { type: 'string' },
    'server-sessions-events': { type: 'string' },
    'server-sessions-keys': { type: 'string' },
    skip: { type: 'string', multiple: true },
    'out-dir': { type: 'string' },
  },
});
const N = Number(values.events ?? 200_000);
const LONG_N = Number(values['long-events'] ?? 0);
const CHECK_N = Number(values['check-events'] ?? 20_000);
const PARTITIONS = Number(values.partitions ?? 3);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const FRESHNESS_SECONDS = Number(values['freshness-seconds'] ?? 30);
/** Events/s of the freshness phase; by default half the sessionizer's throughput on the short topic. */
const FRESHNESS_RATE = values['freshness-rate'] === undefined ? undefined : Number(values['freshness-rate']);
/** Sessions open at once in the freshness load (default 17 × rate: event time then keeps pace with the clock). */
const FRESHNESS_ACTIVE = values['freshness-active-sessions'] === undefined ? undefined : Number(values['freshness-active-sessions']);
/** Only the freshness phase, at --freshness-rate (nothing is preloaded, no other phase runs). */
const FRESHNESS_ONLY = values['freshness-only'] === true;
if (FRESHNESS_ONLY && FRESHNESS_RATE === undefined) {
  process.stderr.write('bench: --freshness-only needs --freshness-rate (the rate is otherwise half the short phase’s throughput)\n');
  process.exit(2);
}
for (const [flag, v] of [
  ['freshness-rate', FRESHNESS_RATE],
  ['freshness-active-sessions', FRESHNESS_ACTIVE],
] as const) {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
    process.stderr.write(`bench: --${flag} must be a positive integer, got '${String(values[flag])}'\n`);
    process.exit(2);
  }
}
/** FLUSH_INTERVAL_MS of the service in the freshness phase (the service's default: 5 000). */
const FRESHNESS_FLUSH_MS = Number(values['freshness-flush-interval-ms'] ?? 5_000);
const MEMORY_EVENTS = Number(values['memory-events'] ?? 100_000);
/** How long each memory run keeps running after it committed everything: the background merges of what it wrote count too. */
const MEMORY_TAIL_SECONDS = Number(values['memory-tail-seconds'] ?? 20);
const PEER_THREADS = Number(values['peer-threads'] ?? 1);
/** The write-cost phase: events (default: the short topic's) and events per flush (default: as the service flushed them). */
const FLUSH_N = Number(values['flush-events'] ?? N);
const FLUSH_PER = values['flush-events-per-flush'] === undefined ? null : Number(values['flush-events-per-flush']);
/** The server-sessions phase: events (default: the short topic's, whose sessionizer run is the client-id side) and keys of the memory figure. */
const SERVER_N = Number(values['server-sessions-events'] ?? N);
const SERVER_KEYS = Number(values['server-sessions-keys'] ?? 200_000);
/** Longest wait for a quiet machine before each measured process (0: do not wait, e.g. in the smoke test). */
const SETTLE_SECONDS = Number(values['settle-seconds'] ?? 30);
const quiet = (): Promise<number | null> => (SETTLE_SECONDS > 0 ? settle(0.3, SETTLE_SECONDS * 1000) : Promise.resolve(null));
const SKIP = new Set([
  ...(values.skip ?? []),
  ...(FRESHNESS_ONLY ? ['baseline', 'peer', 'check', 'memory', 'volume', 'flush', 'server-sessions'] : []),
]);
const OUT = values['out-dir'] ?? join(ROOT, 'bench-results');
/** The service's default (SESSION_ID_TOLERANCE_MS); the peer and the check use the same. */
const TOLERANCE_MS = Number(process.env['SESSION_ID_TOLERANCE_MS'] ?? 0);
/** How often a running contender is sampled (CPU, records read) and its end condition polled. */
const POLL_MS = 200;
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

/** Generator settings of a preloaded topic: the check regenerates the same messages from them. */
function workload(events: number, seed: number, rates?: GeneratorOptions['rates']): GeneratorOptions {
  return { seed, format: 'posthog-events', events, activeSessions: ACTIVE, ...(rates === undefined ? {} : { rates }) };
}

async function preload(kafka: Kafka, topic: string, options: GeneratorOptions, edit?: (value: string) => string): Promise<number> {
  await ensureTopic(kafka, topic, PARTITIONS);
  const t = performance.now();
  const messages = edit === undefined ? generate(options) : [...generate(options)].map((m) => ({ ...m, value: edit(m.value) }));
  const sent = await produceAll(kafka, topic, messages, { batchSize: 2_000 });
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

/** Polls every POLL_MS: samples the meter, stops when `done()` says so (or the process died). */
async function meterUntil(
  meter: Meter,
  child: ChildProcess,
  read: () => Promise<number> | number,
  done: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    meter.sample(await read());
    if (await done()) return;
    if (child.exitCode !== null) throw new Error(`process ${child.pid} exited with ${child.exitCode} before its work was done`);
    await sleep(POLL_MS);
  }
}

async function committedToEnd(kafka: Kafka, group: string, topic: string): Promise<boolean> {
  const { committed, end } = await groupProgress(kafka, group, topic);
  return [...end].every(([p, e]) => (committed.get(p) ?? -1n) >= e);
}

/** Baseline A in its own process, measured from /proc like the others; its own view of the window is kept as `self`. */
async function baseline(brokers: string, topic: string, events: number): Promise<Record<string, unknown>> {
  const busy = await quiet();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/bench/baseline-consumer.ts',
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--group',
      `baseline_${topic}`,
      '--expect',
      String(events),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const meter = new Meter(child.pid ?? 0, events);
  meter.busyBefore = busy;
  let read = 0;
  let self: Record<string, number> | undefined;
  let result: Measured | undefined;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let partial = '';
  const finished = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => {
      if (result === undefined) reject(new Error(`baseline exited with ${code}: ${stderr.slice(-1000)}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l === 'FIRST') meter.start();
        else if (l.startsWith('PROGRESS ')) {
          read = Number(l.slice('PROGRESS '.length));
          meter.sample(read);
        } else if (l.startsWith('DONE ')) {
          // The end is stamped the moment the baseline says it has read everything.
          result = meter.finish();
          self = JSON.parse(l.slice('DONE '.length)) as Record<string, number>;
          resolve();
        }
      }
    });
  });
  try {
    await finished;
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }
  return { ...result, window: 'first record → last record consumed', self };
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
    return metricSum(await scrape(`http://127.0.0.1:${s.port}`), name);
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

/** `tailSeconds`: keep the process running that long after everything is committed (background merges), then read its peak RSS. */
async function sessionizer(
  kafka: Kafka,
  brokers: string,
  topic: string,
  events: number,
  extra: Record<string, string> = {},
  tailSeconds = 0,
): Promise<Record<string, unknown>> {
  const busy = await quiet();
  const s = await startService(brokers, topic, extra);
  const pid = s.child.pid ?? 0;
  const meter = new Meter(pid, events);
  meter.busyBefore = busy;
  try {
    for (;;) {
      if ((await metric(s, 'sessionizer_received_events_total')) > 0) {
        meter.start();
        break;
      }
      if (s.child.exitCode !== null) throw new Error(`sessionizer exited: ${s.stderr.slice(-5).join('\n')}`);
      await sleep(20);
    }
    const t0 = performance.now();
    const consumedAt: { seconds: number | null } = { seconds: null };
    await meterUntil(
      meter,
      s.child,
      async () => {
        const received = await metric(s, 'sessionizer_received_events_total');
        if (consumedAt.seconds === null && received >= events) consumedAt.seconds = (performance.now() - t0) / 1000;
        return received;
      },
      () => committedToEnd(kafka, s.group, topic),
    );
    const measured = meter.finish();
    let peakRssAfterTail: number | undefined;
    if (tailSeconds > 0) {
      await sleep(tailSeconds * 1000);
      peakRssAfterTail = procPeakRss(pid);
    }
    const rows = await metric(s, 'sessionizer_written_rows_total');
    const bytes = await metric(s, 'sessionizer_written_bytes_total');
    const code = await stopService(s);
    const flushes = s.stderr
      .map((l) => {
        try {
          return JSON.parse(l) as {
            msg?: string;
            ts?: string;
            reason?: string;
            seconds?: number;
            sessions?: number;
            serialiseSeconds?: number;
            insertSeconds?: number;
            commitSeconds?: number;
          };
        } catch {
          return {};
        }
      })
      .filter((r) => r.msg === 'flushed' && typeof r.seconds === 'number');
    const [disk] = await query(
      s.dataDir,
      "SELECT count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk FROM system.parts WHERE active AND database = 'sessionizer' AND table = 'sessions_raw'",
    );
    const [sessions] = await query(s.dataDir, 'SELECT count() AS sessions FROM sessions');
    const consumed = consumedAt.seconds ?? measured.seconds;
    return {
      ...measured,
      window: 'first record → every offset committed (rows written to ClickHouse)',
      ...(peakRssAfterTail === undefined
        ? {}
        : { tailSeconds, peakRssBytes: peakRssAfterTail, peakRssAtCommitBytes: measured.peakRssBytes }),
      consumedSeconds: round(consumed),
      consumedEventsPerSecond: Math.round(events / consumed),
      rowsWritten: rows,
      rowsPer1000Events: round((rows / events) * 1000, 1),
      jsonBytesPer1000Events: Math.round((bytes / events) * 1000),
      onDiskBytesPer1000Events: Math.round(((disk?.['bytes_on_disk'] ?? 0) / events) * 1000),
      activePartsAtStop: disk?.['parts'] ?? 0,
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

interface PeerRun {
  readonly measured: Record<string, unknown>;
  readonly outputTopic: string;
  readonly counts: PeerCounts | null;
}

/**
 * The Kafka Streams peer on a topic, alone, until its input offsets and its repartition topic's
 * offsets are committed: at a commit Kafka Streams flushes its caches and producer first, so by
 * then every row is in the output topic. `measure: false` runs it for the check only.
 */
async function peer(
  kafka: Kafka,
  brokers: string,
  libs: string,
  suffixes: string,
  topic: string,
  events: number,
  measure = true,
): Promise<PeerRun> {
  const busy = measure ? await quiet() : null;
  const applicationId = `peer_${topic}`;
  const outputTopic = `${topic}_peer_sessions`;
  await ensureTopic(kafka, outputTopic, PARTITIONS);
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  const p = startPeer({
    libs,
    brokers,
    topic,
    outputTopic,
    applicationId,
    stateDir,
    suffixesFile: suffixes,
    sessionIdToleranceMs: TOLERANCE_MS,
    threads: PEER_THREADS,
    // Check-only runs commit every second: the check reads the rows sooner, and commits do not change them.
    commitIntervalMs: measure ? 5_000 : 1_000,
  });
  const meter = new Meter(p.pid, events);
  meter.busyBefore = busy;
  try {
    const exited = new Promise<never>((_, reject) =>
      p.child.once('close', (code) => {
        reject(new Error(`the peer exited with ${code} before reading a record: ${p.stderr.slice(-10).join('\n')}`));
      }),
    );
    await Promise.race([p.first, exited]);
    meter.start();
    let inputDone = false;
    await meterUntil(
      meter,
      p.child,
      () => p.read(),
      async () => {
        if (!inputDone) inputDone = await committedToEnd(kafka, applicationId, topic);
        return inputDone && (await committedToEnd(kafka, applicationId, repartitionTopic(applicationId)));
      },
    );
    const measured = meter.finish();
    const { code, counts } = await p.stop();
    return {
      measured: {
        ...measured,
        window: 'first record → input and repartition offsets committed (every row produced)',
        threads: PEER_THREADS,
        exitCode: code,
        rejected: counts?.rejected ?? null,
      },
      outputTopic,
      counts,
    };
  } finally {
    if (p.child.exitCode === null) await p.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Sessionizer events per CPU-second over the peer's: how much more work per CPU-second we do. */
function ratios(s: Record<string, unknown> | undefined, p: Record<string, unknown> | undefined): Record<string, number | null> {
  if (s === undefined || p === undefined) return {};
  const m = s as unknown as Measured;
  const q = p as unknown as Measured;
  return {
    sessionizerToPeerEventsPerCpuSecond: round(m.eventsPerCpuSecond / q.eventsPerCpuSecond, 2),
    steadySessionizerToPeerEventsPerCpuSecond:
      m.steady === null || q.steady === null ? null : round(m.steady.eventsPerCpuSecond / q.steady.eventsPerCpuSecond, 2),
    sessionizerToPeerEventsPerSecond: round(m.eventsPerSecond / q.eventsPerSecond, 2),
  };
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

/**
 * Freshness at a fixed produce rate: markers (one single-event session each, every 250 ms while the
 * load runs) timed from their produce to their session's row being readable. Polled on
 * `sessions_raw` (a session is in the `sessions` view exactly when it has a row there; the view's
 * 62 KB of SQL would cost the service ~5× more CPU per poll, in the process being measured), and
 * checked at the end against the view. Per marker it also reads `max_inserted_at` (stamped by the
 * materialized view when the flush's INSERT ran), which splits the latency into produce → inserted
 * (waiting for the next flush, serialising, the INSERT) and inserted → seen (the rest of the
 * INSERT, the poll). Markers produced after the load ended are not sent; markers not seen
 * `graceSeconds` after the last one was sent count as unseen.
 */
async function freshness(kafka: Kafka, brokers: string, rate: number): Promise<Record<string, unknown>> {
  const topic = `bench_fresh_${RUN}`;
  await ensureTopic(kafka, topic, PARTITIONS);
  // The load is generated, serialised and partitioned before the service starts (fresh-load.ts),
  // so that producing it costs little beside the service; it starts producing on GO.
  say(`freshness: preparing ${rate * FRESHNESS_SECONDS} events (${FRESHNESS_ACTIVE ?? Math.max(200, 17 * rate)} active sessions)`);
  const load = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      FRESH_LOAD,
      '--topic',
      topic,
      '--brokers',
      brokers,
      '--rate',
      String(rate),
      '--seconds',
      String(FRESHNESS_SECONDS),
      ...(FRESHNESS_ACTIVE === undefined ? [] : ['--active-sessions', String(FRESHNESS_ACTIVE)]),
      '--seed',
      '5',
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const loadLines: string[] = [];
  let loadStderr = '';
  load.stderr.on('data', (d: Buffer) => (loadStderr += d.toString()));
  const loadLine = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const found = loadLines.find((l) => l.startsWith(prefix));
      if (found !== undefined) {
        resolve(found.slice(prefix.length));
        return;
      }
      const onData = (): void => {
        const l = loadLines.find((x) => x.startsWith(prefix));
        if (l === undefined) return;
        load.stdout.off('data', onData);
        resolve(l.slice(prefix.length));
      };
      load.stdout.on('data', onData);
      load.once('close', (code) => {
        reject(new Error(`the freshness load exited with ${code} before '${prefix.trim()}': ${loadStderr.slice(-1000)}`));
      });
    });
  let loadPartial = '';
  load.stdout.on('data', (d: Buffer) => {
    const parts = (loadPartial + d.toString()).split('\n');
    loadPartial = parts.pop() ?? '';
    loadLines.push(...parts);
  });
  const prepared = JSON.parse(await loadLine('READY ')) as { events: number; valueBytes: number; prepareSeconds: number };
  say(`freshness: ${prepared.events} events prepared in ${prepared.prepareSeconds.toFixed(1)} s`);
  const busyBefore = await quiet();
  // debug: the service logs each flush's duration (one line per flush)
  const s = await startService(brokers, topic, { LOG_LEVEL: 'debug', FLUSH_INTERVAL_MS: String(FRESHNESS_FLUSH_MS) });
  const MARKER_TEAM = 999_999;
  const GRACE_SECONDS = 60;
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
    const phaseStart = new Date(Date.now() - 60_000).toISOString().replace('T', ' ').replace('Z', '');
    const loadDoneLine = loadLine('DONE ');
    // The load's CPU is read when it reports DONE; it waits for EXIT before it exits.
    const loadCpu = loadDoneLine.then(
      () => {
        const c = treeCpuSeconds(load.pid ?? 0) - loadCpuBefore;
        load.stdin.end('EXIT\n');
        return c;
      },
      () => 0, // the error is reported where DONE is awaited
    );
    const producer = kafka.producer();
    await producer.connect();
    const cpuBefore = treeCpuSeconds(s.child.pid ?? 0);
    const loadCpuBefore = treeCpuSeconds(load.pid ?? 0);
    const machineBefore = machineBusySeconds();
    load.stdin.write('GO\n');
    /** sent: wall clock (ms since epoch) when the produce call started; the poll compares it with ClickHouse's clock. */
    const pending = new Map<string, number>();
    const seen: { sent: number; inserted: number; total: number; toInserted: number; insertedToSeen: number }[] = [];
    const state = { producing: true, lastSent: Date.now() };
    const markers = (async () => {
      while (state.producing) {
        const m = marker(MARKER_TEAM);
        const t = Date.now();
        await producer.send({ topic, acks: -1, messages: [{ key: m.key, value: m.value }] });
        pending.set(m.sessionId, t);
        state.lastSent = Date.now();
        await sleep(250);
      }
    })();
    const sql = `SELECT toString(session_id) AS s, toUnixTimestamp64Milli(max(max_inserted_at)) AS inserted
      FROM sessionizer.sessions_raw WHERE team_id = ${MARKER_TEAM} AND session_start >= '${phaseStart}' GROUP BY session_id`;
    const poll = async (): Promise<void> => {
      const res = await fetch(`http://127.0.0.1:${s.port}/query`, { method: 'POST', body: sql });
      const rows = (await res.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { s?: string; inserted?: number | string });
      const now = Date.now();
      for (const r of rows) {
        const t = r.s === undefined ? undefined : pending.get(r.s);
        if (r.s === undefined || t === undefined) continue;
        const inserted = Number(r.inserted);
        seen.push({
          sent: t,
          inserted,
          total: (now - t) / 1000,
          toInserted: (inserted - t) / 1000,
          insertedToSeen: (now - inserted) / 1000,
        });
        pending.delete(r.s);
      }
    };
    const lag: number[] = [];
    const lagAt: [number, number][] = [];
    const loadDone = new Promise<void>((resolve) =>
      load.on('close', () => {
        state.producing = false;
        resolve();
      }),
    );
    const t0 = performance.now();
    let lastLagSample = 0;
    while (state.producing || (pending.size > 0 && Date.now() - state.lastSent < GRACE_SECONDS * 1000)) {
      await poll();
      if (performance.now() - lastLagSample >= 1000) {
        lastLagSample = performance.now();
        lag.push(await metric(s, 'sessionizer_consumer_lag_messages'));
        lagAt.push([Date.now(), lag.at(-1) ?? 0]);
      }
      await sleep(100);
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    await loadDone;
    await markers;
    await producer.disconnect();
    const cpu = treeCpuSeconds(s.child.pid ?? 0) - cpuBefore;
    const loadReport = JSON.parse(await loadDoneLine) as {
      events: number;
      acknowledged: number;
      seconds: number;
      eventsPerSecond: number;
      cpuSeconds: number;
      cpuMicrosPerEvent: number;
      maxBacklogEvents: number;
      activeSessions: number;
    };
    const producerCpu = await loadCpu;
    const others = machineBusySeconds() - machineBefore - cpu - producerCpu;
    // The poll read sessions_raw; the view must show the same sessions.
    const [inView] = await (
      await fetch(`http://127.0.0.1:${s.port}/query`, {
        method: 'POST',
        body: `SELECT count() AS n FROM sessionizer.sessions WHERE team_id = ${MARKER_TEAM}`,
      })
    )
      .text()
      .then((t) =>
        t
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { n: number | string }),
      );
    const flushes = s.stderr
      .map((l) => {
        try {
          return JSON.parse(l) as {
            msg?: string;
            ts?: string;
            reason?: string;
            seconds?: number;
            sessions?: number;
            serialiseSeconds?: number;
            insertSeconds?: number;
            commitSeconds?: number;
          };
        } catch {
          return {};
        }
      })
      .filter((r) => r.msg === 'flushed' && typeof r.seconds === 'number');
    const q = (xs: number[], p: number): number | null => round(quantile(xs, p));
    const total = seen.map((x) => x.total);
    const toInserted = seen.map((x) => x.toInserted);
    const insertedToSeen = seen.map((x) => x.insertedToSeen);
    const flushSeconds = flushes.map((f) => f.seconds ?? 0);
    const flushPart = (k: 'serialiseSeconds' | 'insertSeconds' | 'commitSeconds'): number[] => flushes.map((f) => f[k] ?? 0);
    return {
      rate,
      askedEventsPerSecond: rate,
      // what the broker acknowledged, over the time the load took to produce it
      producedEventsPerSecond: loadReport.eventsPerSecond,
      producedEvents: loadReport.acknowledged,
      loadActiveSessions: loadReport.activeSessions,
      producer: {
        how: 'fresh-load.ts: pre-generated, pre-serialised, pre-partitioned; paced by the clock every 50 ms; acks=1, no compression, up to 4 requests in flight',
        prepareSeconds: round(prepared.prepareSeconds, 1),
        produceSeconds: loadReport.seconds,
        // utime+stime of the load process over its produce window, from /proc (and its own process.cpuUsage())
        cpuSeconds: round(producerCpu, 2),
        selfCpuSeconds: loadReport.cpuSeconds,
        cpuMicrosPerEvent: round((producerCpu / Math.max(1, loadReport.acknowledged)) * 1e6, 1),
        maxBacklogEvents: loadReport.maxBacklogEvents,
      },
      loadSeconds: round(loadSeconds, 1),
      markers: seen.length,
      unseenMarkers: pending.size,
      markersInView: Number(inView?.n ?? 0),
      graceSeconds: GRACE_SECONDS,
      freshnessP50Seconds: q(total, 0.5),
      freshnessP99Seconds: q(total, 0.99),
      freshnessMaxSeconds: q(total, 1),
      producedToInsertedP50Seconds: q(toInserted, 0.5),
      producedToInsertedP99Seconds: q(toInserted, 0.99),
      insertedToSeenP50Seconds: q(insertedToSeen, 0.5),
      insertedToSeenP99Seconds: q(insertedToSeen, 0.99),
      flushes: flushes.length,
      flushP50Seconds: q(flushSeconds, 0.5),
      flushMaxSeconds: q(flushSeconds, 1),
      // the flush's parts (the service's 'flushed' log lines): JSON text, INSERTs, offset commit
      flushSerialiseP50Seconds: q(flushPart('serialiseSeconds'), 0.5),
      flushInsertP50Seconds: q(flushPart('insertSeconds'), 0.5),
      flushInsertMaxSeconds: q(flushPart('insertSeconds'), 1),
      flushCommitP50Seconds: q(flushPart('commitSeconds'), 0.5),
      flushRowsP50: q(
        flushes.map((f) => f.sessions ?? 0),
        0.5,
      ),
      flushLog: flushes.map((f) => ({
        ts: f.ts,
        reason: f.reason,
        sessions: f.sessions,
        seconds: round(f.seconds ?? 0, 3),
        serialise: round(f.serialiseSeconds ?? 0, 3),
        insert: round(f.insertSeconds ?? 0, 3),
        commit: round(f.commitSeconds ?? 0, 3),
      })),
      maxConsumerLagMessages: Math.max(0, ...lag),
      // each marker's latency split at the flushes (below), the slowest first
      markerBreakdown: markerBreakdown(seen, flushes),
      lagSamples: lagAt.map(([t, n]) => [round((t - (seen[0]?.sent ?? t)) / 1000, 1), n]),
      flushIntervalSeconds: FRESHNESS_FLUSH_MS / 1000,
      serviceCpuSeconds: round(cpu, 1),
      // the markers' producer and this poll loop, the broker, everyone else (the load's producer is `producer.cpuSeconds`)
      otherCpuSeconds: round(others, 1),
      machineBusyCoresBefore: busyBefore,
    };
  } finally {
    if (load.exitCode === null) load.kill('SIGTERM');
    await stopService(s);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/**
 * Each marker's latency split at the flushes (from the service's 'flushed' lines: a flush's
 * checkpoint is its end minus its duration): `missed` = from its produce to the last checkpoint it
 * was produced before but not in (it was still in Kafka or in flight: consumer lag); `wait` = from
 * then (or its produce) to the checkpoint of the flush that wrote it; `gapS` = that flush's start
 * after the previous one's (the interval, or longer when it waited behind a slow flush); `write` =
 * checkpoint → `max_inserted_at` (serialising and INSERTing the rows before it); `seen` = the rest
 * of its INSERT and the poll. The ten slowest, and the p50 of each part over all markers.
 */
function markerBreakdown(
  seen: readonly { sent: number; inserted: number; total: number }[],
  flushes: readonly { ts?: string; seconds?: number }[],
): Record<string, unknown> {
  const windows = flushes
    .map((f) => {
      const end = Date.parse(f.ts ?? '');
      return { start: end - (f.seconds ?? 0) * 1000, end };
    })
    .filter((w) => Number.isFinite(w.end))
    .sort((a, b) => a.start - b.start);
  const rows = seen.map((m) => {
    // the flush whose checkpoint is the last before the marker's insert time
    let i = -1;
    for (let k = 0; k < windows.length; k += 1) if ((windows[k]?.start ?? Infinity) <= m.inserted) i = k;
    const w = windows[i];
    const prev = windows[i - 1];
    if (w === undefined) return { total: m.total, flush: null };
    const missed = prev !== undefined && prev.start > m.sent ? (prev.start - m.sent) / 1000 : 0;
    const waitFrom = Math.max(m.sent, prev?.start ?? m.sent);
    return {
      total: m.total,
      flush: i,
      missed: round(missed, 2),
      wait: round((w.start - waitFrom) / 1000, 2),
      gapS: prev === undefined ? null : round((w.start - prev.start) / 1000, 2),
      write: round((m.inserted - w.start) / 1000, 2),
      seen: round(m.total - (m.inserted - m.sent) / 1000, 2),
    };
  });
  const part = (k: 'missed' | 'wait' | 'write' | 'seen'): number | null =>
    round(
      quantile(
        rows.map((r) => Number((r as Record<string, unknown>)[k] ?? 0)),
        0.5,
      ),
    );
  // per flush, its earliest marker: checkpoint → inserted, and → seen (the first chunk's time)
  const first = new Map<number, { write: number; visible: number }>();
  for (const r of rows) {
    const w = (r as { write?: number | null }).write;
    const sn = (r as { seen?: number | null }).seen;
    if (r.flush === null || w === undefined || w === null) continue;
    const f = first.get(r.flush);
    if (f === undefined || w < f.write) first.set(r.flush, { write: w, visible: w + (sn ?? 0) });
  }
  const firsts = [...first.values()];
  return {
    p50: { missed: part('missed'), wait: part('wait'), write: part('write'), seen: part('seen') },
    firstMarkerPerFlush: {
      writeP50: round(
        quantile(
          firsts.map((f) => f.write),
          0.5,
        ),
      ),
      visibleP50: round(
        quantile(
          firsts.map((f) => f.visible),
          0.5,
        ),
      ),
      visibleMax: round(
        quantile(
          firsts.map((f) => f.visible),
          1,
        ),
      ),
    },
    slowest: [...rows].sort((a, b) => b.total - a.total).slice(0, 10),
  };
}

function svg(report: Record<string, unknown>): string {
  const a = report['baselineA'] as Record<string, number> | undefined;
  const s = report['sessionizer'] as Record<string, number> | undefined;
  const p = report['peer'] as Record<string, number> | undefined;
  const bars: [string, number][] = [
    ['baseline A: kafkajs + JSON.parse', a?.['eventsPerSecond'] ?? 0],
    ['sessionizer → ClickHouse', s?.['eventsPerSecond'] ?? 0],
    ...(p === undefined ? [] : [['peer: Kafka Streams → topic', p['eventsPerSecond'] ?? 0] as [string, number]]),
  ];
  const colors = ['#888', '#2b6cb0', '#c05621'];
  const max = Math.max(1, ...bars.map(([, v]) => v));
  const rows = bars
    .map(([label, v], i) => {
      const y = 40 + i * 50;
      const w = Math.round((v / max) * 420);
      return `<text x="10" y="${y + 20}" font-size="13">${label}</text><rect x="250" y="${y}" width="${w}" height="30" fill="${colors[i] ?? '#888'}"/><text x="${255 + w}" y="${y + 20}" font-size="13">${v.toLocaleString('en-US')} events/s</text>`;
    })
    .join('');
  const height = 60 + bars.length * 50;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="${height}" font-family="sans-serif"><text x="10" y="20" font-size="15" font-weight="bold">Throughput on one topic (${String(report['events'])} events, ${String(report['partitions'])} partitions)</text>${rows}</svg>\n`;
}

/** One line per contender: the figures users compare. */
function summary(name: string, phase: Record<string, unknown>): void {
  const mb = (b: unknown): string => `${Math.round(Number(b) / 2 ** 20)} MiB`;
  for (const who of ['baselineA', 'sessionizer', 'peer']) {
    const m = phase[who] as Measured | undefined;
    if (m === undefined) continue;
    say(
      `${name} ${who}: ${m.eventsPerSecond} events/s, ${m.cpuSecondsPerMillionEvents} CPU-s per M events` +
        ` (steady: ${m.steady?.cpuSecondsPerMillionEvents ?? '-'}), peak RSS ${mb(m.peakRssBytes)}, others used ${m.otherCpuSeconds} CPU-s meanwhile`,
    );
  }
  if (phase['sessionizerToPeerEventsPerCpuSecond'] !== undefined) {
    say(
      `${name}: sessionizer events per CPU-second / peer events per CPU-second = ${JSON.stringify(phase['sessionizerToPeerEventsPerCpuSecond'])}` +
        ` (steady state: ${JSON.stringify(phase['steadySessionizerToPeerEventsPerCpuSecond'])})`,
    );
  }
}

// ---- main ----
const kafkaProvisioned = await provisionKafka({ brokers: process.env['KAFKA_BROKERS'], log: say });
const brokers = kafkaProvisioned.brokers.join(',');
const kafka = createKafkaClient({ brokers, clientId: 'bench' });
const RUN = Date.now().toString(36);
const report: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  kafka: kafkaProvisioned.description,
  events: N,
  longEvents: LONG_N,
  partitions: PARTITIONS,
  activeSessions: ACTIVE,
  isolation:
    'one process at a time, each after the machine settled; CPU = utime+stime of that process and its children from /proc (all threads: JIT, GC, chDB, RocksDB); window from its first record read to its work done; steady = second half of the events',
};
const scratch = mkdtempSync(join(tmpdir(), 'bench-'));
try {
  const shortTopic = `bench_${RUN}`;
  const longTopic = `bench_long_${RUN}`;
  const checkTopic = `bench_check_${RUN}`;
  const shortWorkload = workload(N, 1);
  const checkWorkload = workload(CHECK_N, 6, { outOfOrder: 0.02, duplicates: 0.02, invalid: 0.02, noSessionId: 0.01 });
  const withPeer = !SKIP.has('peer');
  const noSessionIdTopic = `bench_nosid_${RUN}`;
  const clientIdTopic = SERVER_N === N ? shortTopic : `bench_sid_${RUN}`;
  // Everything is preloaded and built before the first measurement: nothing else runs during one.
  if (!FRESHNESS_ONLY) await preload(kafka, shortTopic, shortWorkload);
  if (LONG_N > 0 && !FRESHNESS_ONLY) await preload(kafka, longTopic, workload(LONG_N, 4));
  if (!SKIP.has('server-sessions')) {
    await preload(kafka, noSessionIdTopic, workload(SERVER_N, 1), withoutSessionId);
    if (clientIdTopic !== shortTopic) await preload(kafka, clientIdTopic, workload(SERVER_N, 1));
  }
  let libs = '';
  let suffixes = '';
  if (withPeer) {
    const t = performance.now();
    libs = await buildPeer(say);
    say(`peer: jars in ${libs} (${((performance.now() - t) / 1000).toFixed(1)} s; Maven's downloads are cached in ~/.m2)`);
    suffixes = writeSuffixes(join(scratch, 'suffixes.txt'));
    if (CHECK_N > 0 && !SKIP.has('check')) await preload(kafka, checkTopic, checkWorkload);
  }
  const peerRuns = new Map<string, PeerRun>();
  const phases: [string, string, number][] = FRESHNESS_ONLY ? [] : [['short', shortTopic, N]];
  if (LONG_N > 0 && !FRESHNESS_ONLY) phases.push(['long', longTopic, LONG_N]);
  for (const [name, topic, events] of phases) {
    const phase: Record<string, unknown> = { events };
    if (!SKIP.has('baseline')) {
      say(`${name} (${events} events): baseline A, a bare kafkajs consumer + JSON.parse`);
      phase['baselineA'] = await baseline(brokers, topic, events);
    }
    say(`${name} (${events} events): sessionizer, to the embedded ClickHouse until everything is committed`);
    phase['sessionizer'] = await sessionizer(kafka, brokers, topic, events);
    if (withPeer) {
      say(`${name} (${events} events): peer, Kafka Streams until every row is produced`);
      const r = await peer(kafka, brokers, libs, suffixes, topic, events);
      peerRuns.set(name, r);
      phase['peer'] = r.measured;
    }
    Object.assign(phase, ratios(phase['sessionizer'] as Record<string, unknown>, phase['peer'] as Record<string, unknown> | undefined));
    const a = phase['baselineA'] as Measured | undefined;
    if (a !== undefined) {
      phase['ratioToBaselineA'] = round((phase['sessionizer'] as Measured).eventsPerSecond / a.eventsPerSecond, 3);
    }
    summary(name, phase);
    if (name === 'short') {
      // The short topic's figures stay at the top level, where earlier reports had them.
      Object.assign(report, phase, { events });
      if (a !== undefined) report['baselineCpuSecondsPerMillionEvents'] = a.cpuSecondsPerMillionEvents;
    } else {
      report[name] = phase;
    }
  }
  if (withPeer && !SKIP.has('check')) {
    const checks: Record<string, PeerCheck> = {};
    const shortRun = peerRuns.get('short');
    if (shortRun !== undefined) {
      say('check: the peer against the oracle on the short topic');
      checks['short'] = comparePeer(
        expectedOf(generate(shortWorkload), TOLERANCE_MS),
        await readLatestRows(kafka, shortRun.outputTopic),
        shortRun.counts,
      );
    }
    if (CHECK_N > 0) {
      say(`check: the peer against the oracle on ${CHECK_N} events with faults (out of order, duplicates, invalid, no session id)`);
      const r = await peer(kafka, brokers, libs, suffixes, checkTopic, CHECK_N, false);
      checks['faults'] = comparePeer(
        expectedOf(generate(checkWorkload), TOLERANCE_MS),
        await readLatestRows(kafka, r.outputTopic),
        r.counts,
      );
    }
    for (const [name, c] of Object.entries(checks)) {
      say(
        `check ${name}: ${c.sessions} sessions, ${c.columnsCompared.length} columns compared, mismatches ${c.mismatches}` +
          ` (missing ${c.missing}, extra ${c.extra}, different ${c.mismatchedSessions}, rejects equal: ${c.rejected.equal})`,
      );
      if (c.mismatches > 0)
        say(`check ${name}: ${JSON.stringify({ byColumn: c.mismatchesByColumn, examples: c.examples }).slice(0, 3000)}`);
    }
    report['peerCheck'] = checks;
  }
  const main = report['sessionizer'] as Measured;
  if (!SKIP.has('freshness')) {
    const rate = FRESHNESS_RATE ?? Math.max(100, Math.round(main.eventsPerSecond * 0.5));
    const f = await freshness(kafka, brokers, rate);
    report['freshness'] = f;
    say(
      `freshness at ${rate} events/s asked, ${String(f['producedEventsPerSecond'])}/s produced ` +
        `(the load's producer: ${String((f['producer'] as Record<string, unknown>)['cpuSeconds'])} CPU-s, ${String((f['producer'] as Record<string, unknown>)['cpuMicrosPerEvent'])} µs per event): p50 ${String(f['freshnessP50Seconds'])} s, p99 ${String(f['freshnessP99Seconds'])} s, ` +
        `max ${String(f['freshnessMaxSeconds'])} s (produce → inserted p99 ${String(f['producedToInsertedP99Seconds'])} s); ` +
        `${String(f['markers'])} markers seen, ${String(f['unseenMarkers'])} unseen; ${String(f['flushes'])} flushes, p50 ${String(f['flushP50Seconds'])} s, max ${String(f['flushMaxSeconds'])} s ` +
        `(p50 serialise ${String(f['flushSerialiseP50Seconds'])} s, insert ${String(f['flushInsertP50Seconds'])} s, commit ${String(f['flushCommitP50Seconds'])} s); ` +
        `max lag ${String(f['maxConsumerLagMessages'])} messages; service ${String(f['serviceCpuSeconds'])} CPU-s, others ${String(f['otherCpuSeconds'])} CPU-s`,
    );
  }
  if (!SKIP.has('memory')) {
    const small = `bench_mem1_${RUN}`;
    const large = `bench_mem10_${RUN}`;
    await preload(kafka, small, workload(MEMORY_EVENTS, 2));
    const r1 = await sessionizer(kafka, brokers, small, MEMORY_EVENTS, {}, MEMORY_TAIL_SECONDS);
    await preload(kafka, large, workload(MEMORY_EVENTS * 10, 3));
    const r10 = await sessionizer(kafka, brokers, large, MEMORY_EVENTS * 10, {}, MEMORY_TAIL_SECONDS);
    const figures = (r: Record<string, unknown>, events: number): Record<string, unknown> => ({
      events,
      sessions: r['sessions'],
      rowsWritten: r['rowsWritten'],
      activePartsAtStop: r['activePartsAtStop'],
      cpuSeconds: r['cpuSeconds'],
      seconds: r['seconds'],
      peakRssBytes: r['peakRssBytes'],
      peakRssAtCommitBytes: r['peakRssAtCommitBytes'],
      otherCpuSeconds: r['otherCpuSeconds'],
      machineBusyCoresBefore: r['machineBusyCoresBefore'],
    });
    const growth = round(Number(r10['peakRssBytes'] ?? 0) / Math.max(1, Number(r1['peakRssBytes'] ?? 1)), 2);
    report['memory'] = {
      activeSessions: ACTIVE,
      tailSeconds: MEMORY_TAIL_SECONDS,
      small: figures(r1, MEMORY_EVENTS),
      large: figures(r10, MEMORY_EVENTS * 10),
      rssGrowth: growth,
    };
    const mib = (b: unknown): number => Math.round(Number(b) / 2 ** 20);
    say(
      `memory: ${MEMORY_EVENTS} events (${String(r1['sessions'])} sessions) → peak RSS ${mib(r1['peakRssBytes'])} MiB; ` +
        `${MEMORY_EVENTS * 10} events (${String(r10['sessions'])} sessions) → ${mib(r10['peakRssBytes'])} MiB (×${String(growth)}; ` +
        `${MEMORY_TAIL_SECONDS} s after the last commit included; others used ${String(r1['otherCpuSeconds'])} / ${String(r10['otherCpuSeconds'])} CPU-s meanwhile); ` +
        `service ${String(r1['cpuSeconds'])} / ${String(r10['cpuSeconds'])} CPU-s, active parts at stop ${String(r1['activePartsAtStop'])} / ${String(r10['activePartsAtStop'])}`,
    );
  }
  if (!SKIP.has('volume')) {
    say('write volume: PostHog events table + MV vs pre-aggregated partials');
    const r = await run('tsx', ['test/bench/write-volume.ts', '--events', String(N)]);
    const line = r.stdout.split('\n').find((l) => l.startsWith('WRITE-VOLUME '));
    report['writeVolume'] =
      line === undefined ? { error: r.stderr.slice(-500) } : (JSON.parse(line.slice('WRITE-VOLUME '.length)) as unknown);
  }
  if (!SKIP.has('flush')) {
    const flushes = Number((report['sessionizer'] as Record<string, unknown>)['flushes'] ?? 0);
    const perFlush = FLUSH_PER ?? Math.ceil(FLUSH_N / Math.max(1, flushes));
    say(`write cost: schema v1 vs v2 on the short topic's events, ${perFlush} events per flush`);
    await quiet();
    const r = await flushPhase(run, {
      events: FLUSH_N,
      seed: 1,
      activeSessions: ACTIVE,
      eventsPerFlush: perFlush,
      serviceFlushes: flushes || null,
    });
    report['flushCost'] = r;
    for (const l of flushSummary(r)) say(l);
  }
  if (!SKIP.has('server-sessions')) {
    say(`server sessions (${SERVER_N} events): sessionizer, SERVER_SESSIONS=all, the events without $session_id`);
    const server = (await sessionizer(kafka, brokers, noSessionIdTopic, SERVER_N, { SERVER_SESSIONS: 'all' })) as unknown as Measured;
    let client = main;
    if (clientIdTopic !== shortTopic) {
      say(`server sessions (${SERVER_N} events): sessionizer, the same events with their client $session_id`);
      client = (await sessionizer(kafka, brokers, clientIdTopic, SERVER_N)) as unknown as Measured;
    }
    const distinctIds = new Set([...generate(workload(SERVER_N, 1))].map((m) => m.key)).size;
    const r = serverSessionsPhase(
      SERVER_N,
      distinctIds,
      client,
      clientIdTopic === shortTopic ? 'the short phase’s sessionizer run (same events)' : 'its own run',
      server,
      await trackedKeyBytes(run, SERVER_KEYS),
    );
    report['serverSessions'] = r;
    for (const l of serverSessionsSummary(r)) say(l);
  }
} finally {
  // The run's topics (inputs, the peer's output and internal topics) go: the broker may be shared.
  try {
    const admin = kafka.admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.includes(RUN));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  } catch (err) {
    say(`could not delete this run's topics: ${String(err)}`);
  }
  rmSync(scratch, { recursive: true, force: true });
  await kafkaProvisioned.stop();
}

mkdirSync(OUT, { recursive: true });
const stamp = String(report['startedAt']).replace(/[:.]/g, '-');
writeFileSync(join(OUT, `bench-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(OUT, `bench-${stamp}.svg`), svg(report));
console.log(`BENCH ${JSON.stringify(report)}`);
say(`wrote ${join(OUT, `bench-${stamp}.json`)} and .svg`);
