/**
 * Memory of the service over one long run: `npm run bench:memory -- --events 2000000`.
 *
 * The pipeline benchmark compares the peak RSS of two separate runs (N and 10N events). This one
 * watches a single `sessionizer run` subprocess consume one preloaded topic (fixed number of
 * active sessions, so the total number of sessions grows with the events) and samples, every
 * --sample-ms: the process RSS (/proc), the JavaScript heap and progress (the service's
 * /metrics), and the memory of ClickHouse's running merges and the part count (the service's
 * read-only /query endpoint on the embedded engine). It keeps sampling --tail-seconds after the
 * group has committed everything, when background merges of the grown table still run.
 *
 * It prints, per tenth of the events consumed, the largest RSS and heap seen and the partial rows
 * written by then, then the peak merge memory and one JSON line `BENCH-MEMORY {...}`.
 * Nothing here is asserted: it reports.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@sessionizer/generator';
import { createKafkaClient, ensureTopic, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { freePort } from '@sessionizer/kafka/testing';
import { spawnService } from './service.js';
import { metricSum } from '../support/prometheus.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    'active-sessions': { type: 'string' },
    partitions: { type: 'string' },
    'sample-ms': { type: 'string' },
    'tail-seconds': { type: 'string' },
  },
});
const EVENTS = Number(values.events ?? 2_000_000);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const PARTITIONS = Number(values.partitions ?? 3);
const SAMPLE_MS = Number(values['sample-ms'] ?? 250);
const TAIL_SECONDS = Number(values['tail-seconds'] ?? 15);
const MiB = 1024 * 1024;

const say = (m: string): void => {
  process.stderr.write(`bench:memory: ${m}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
  readonly received: number;
  readonly rows: number;
  readonly mergeMemory: number;
  readonly merges: number;
  readonly parts: number;
}

function procStatus(pid: number, key: string): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const metricValue = metricSum;

const CLICKHOUSE_SQL = `SELECT
  (SELECT sum(memory_usage) FROM system.merges) AS merge_memory,
  (SELECT count() FROM system.merges) AS merges,
  (SELECT count() FROM system.parts WHERE active AND database = 'sessionizer' AND table = 'sessions_raw') AS parts`;

const provisioned = await provisionKafka({ brokers: process.env['KAFKA_BROKERS'], log: say });
const brokers = provisioned.brokers.join(',');
const kafka = createKafkaClient({ brokers, clientId: 'bench-memory' });
const dataDir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
try {
  const topic = `bench_memory_${Date.now().toString(36)}`;
  await ensureTopic(kafka, topic, PARTITIONS);
  const t = performance.now();
  await produceAll(kafka, topic, generate({ seed: 11, format: 'posthog-events', events: EVENTS, activeSessions: ACTIVE }), {
    batchSize: 2_000,
  });
  say(`preloaded ${EVENTS} events (${ACTIVE} active sessions) into ${topic} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const port = await freePort();
  const group = `bench_memory_${topic}`;
  const child = spawnService({ brokers, topic, group, dataDir, port, logLevel: 'warn' });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const pid = child.pid ?? 0;
  const base = `http://127.0.0.1:${port}`;
  const samples: Sample[] = [];
  const t0 = performance.now();
  const sample = async (): Promise<void> => {
    let text = '';
    let ch = { merge_memory: 0, merges: 0, parts: 0 };
    try {
      text = await (await fetch(`${base}/metrics`)).text();
      const body = await (await fetch(`${base}/query`, { method: 'POST', body: CLICKHOUSE_SQL })).text();
      const row = JSON.parse(body.split('\n')[0] ?? '{}') as Record<string, string | number>;
      ch = { merge_memory: Number(row['merge_memory'] ?? 0), merges: Number(row['merges'] ?? 0), parts: Number(row['parts'] ?? 0) };
    } catch {
      return; // not listening yet
    }
    samples.push({
      t: Math.round(performance.now() - t0),
      rss: procStatus(pid, 'VmRSS'),
      heap: metricValue(text, 'sessionizer_nodejs_heap_size_used_bytes'),
      received: metricValue(text, 'sessionizer_received_events_total'),
      rows: metricValue(text, 'sessionizer_written_rows_total'),
      mergeMemory: ch.merge_memory,
      merges: ch.merges,
      parts: ch.parts,
    });
  };

  let doneAt: number | undefined;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}): ${stderr}`);
    await sample();
    if (doneAt === undefined) {
      // the group's coordinator may not be known yet right after start-up: not done, then
      const progress = await groupProgress(kafka, group, topic).catch(() => undefined);
      if (progress !== undefined && progress.end.size > 0 && [...progress.end].every(([p, e]) => (progress.committed.get(p) ?? -1n) >= e)) {
        doneAt = performance.now();
        say(`consumed and committed ${EVENTS} events in ${((doneAt - t0) / 1000).toFixed(1)} s; sampling ${TAIL_SECONDS} s more`);
      }
    } else if (performance.now() - doneAt >= TAIL_SECONDS * 1_000) {
      break;
    }
    await sleep(SAMPLE_MS);
  }
  const peakRss = procStatus(pid, 'VmHWM');
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));

  // per tenth of the events consumed (the tail after the last event counts as the last tenth)
  const deciles = Array.from({ length: 10 }, (_, i) => {
    const inside = samples.filter((s) => Math.min(9, Math.floor((s.received / EVENTS) * 10)) === i && s.received > 0);
    return {
      tenth: i + 1,
      samples: inside.length,
      maxRssMiB: Math.round(Math.max(0, ...inside.map((s) => s.rss)) / MiB),
      maxHeapMiB: Math.round(Math.max(0, ...inside.map((s) => s.heap)) / MiB),
      maxMergeMiB: Math.round(Math.max(0, ...inside.map((s) => s.mergeMemory)) / MiB),
      rowsWritten: Math.max(0, ...inside.map((s) => s.rows)),
    };
  });
  const peakMerge = samples.reduce(
    (a, s) => (s.mergeMemory > a.mergeMemory ? s : a),
    samples[0] ?? { mergeMemory: 0, rss: 0, parts: 0, t: 0, received: 0 },
  );
  const withoutMerges = samples.filter((s) => s.merges === 0);
  const report = {
    events: EVENTS,
    activeSessions: ACTIVE,
    partitions: PARTITIONS,
    sampleMs: SAMPLE_MS,
    samples: samples.length,
    peakRssBytes: peakRss,
    maxSampledRssBytes: Math.max(0, ...samples.map((s) => s.rss)),
    maxSampledRssWithoutMergeBytes: Math.max(0, ...withoutMerges.map((s) => s.rss)),
    maxHeapBytes: Math.max(0, ...samples.map((s) => s.heap)),
    peakMergeMemoryBytes: peakMerge.mergeMemory,
    peakMergeAt: { ms: peakMerge.t, receivedEvents: peakMerge.received, rssBytes: peakMerge.rss, parts: peakMerge.parts },
    finalParts: samples[samples.length - 1]?.parts ?? 0,
    rowsWritten: Math.max(0, ...samples.map((s) => s.rows)),
    deciles,
  };
  console.log('tenth of events  samples  max RSS MiB  max heap MiB  max merge MiB  partial rows written');
  for (const d of deciles) {
    console.log(
      `${String(d.tenth).padStart(16)}  ${String(d.samples).padStart(7)}  ${String(d.maxRssMiB).padStart(11)}  ${String(d.maxHeapMiB).padStart(12)}  ${String(d.maxMergeMiB).padStart(13)}  ${String(d.rowsWritten).padStart(20)}`,
    );
  }
  console.log(
    `peak RSS ${Math.round(peakRss / MiB)} MiB; sampled max ${Math.round(report.maxSampledRssBytes / MiB)} MiB, ${Math.round(report.maxSampledRssWithoutMergeBytes / MiB)} MiB while no merge ran; ` +
      `peak merge memory ${Math.round(peakMerge.mergeMemory / MiB)} MiB at ${peakMerge.received} events (${peakMerge.parts} parts)`,
  );
  console.log(`BENCH-MEMORY ${JSON.stringify(report)}`);
} finally {
  await provisioned.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
