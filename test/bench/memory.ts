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
 * It also splits the RSS (/metrics and the engine's own figures): V8's heap as committed (its new
 * space and the rest: old, large-object, code spaces), the memory outside the heap that node
 * counts (external, which holds array buffers), the engine's `MemoryTracking` (system.metrics:
 * what ClickHouse's allocations hold, merges and caches included), `MarkCacheBytes` and what its
 * allocator keeps resident (`resident:` of system.jemalloc_stats; "rest" is RSS minus V8's
 * committed heap, external and that: node's own mallocs, code, libchdb's mapping), and V8's
 * mark-compacts so far (`nodejs_gc_duration_seconds_count{kind="major"}`).
 *
 * It prints, per tenth of the events consumed, the largest RSS and heap seen and the partial rows
 * written by then, then the split at the largest sampled RSS, the peak merge memory and one JSON
 * line `BENCH-MEMORY {...}`. Nothing here is asserted: it reports.
 *
 * `--node-options='<flags>'` (with the `=`: the flags start with `--`) runs the service with
 * these node flags instead of the image's `NODE_OPTIONS` (the Dockerfile's; `--node-options=`
 * for none), for an A/B of V8 flags;
 * `--samples-out <file>` writes every sample as JSON; `--topic <name>` reads that topic, preloaded
 * only when it is empty (so that runs can share one preload).
 *
 * `--memory-limit 1536M` runs the service inside a memory cgroup with that limit, as the
 * Deployment's `resources.limits.memory` does (cgroup.ts: needs root; v1 or v2 memory controller):
 * node then sizes V8's heap from the limit. The report adds V8's heap limit as the service got it,
 * how often the cgroup hit its limit and its OOM kills.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '@sessionizer/generator';
import { createKafkaClient, ensureTopic, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { freePort } from '@sessionizer/kafka/testing';
import { heapSizeLimitMiB, serviceNodeOptions, spawnService } from './service.js';
import { createMemoryCgroup, parseMemoryLimit, type MemoryCgroup } from './cgroup.js';
import { metricSum } from '../support/prometheus.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    events: { type: 'string' },
    'active-sessions': { type: 'string' },
    partitions: { type: 'string' },
    'sample-ms': { type: 'string' },
    'tail-seconds': { type: 'string' },
    'node-options': { type: 'string' },
    'samples-out': { type: 'string' },
    topic: { type: 'string' },
    'memory-limit': { type: 'string' },
  },
});
const MEMORY_LIMIT = values['memory-limit'] === undefined ? undefined : parseMemoryLimit(values['memory-limit']);
const EVENTS = Number(values.events ?? 2_000_000);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const PARTITIONS = Number(values.partitions ?? 3);
const SAMPLE_MS = Number(values['sample-ms'] ?? 250);
const TAIL_SECONDS = Number(values['tail-seconds'] ?? 15);
const NODE_OPTIONS = values['node-options'];
const SAMPLES_OUT = values['samples-out'];
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
  /** V8's committed heap: all spaces, and the new space alone. */
  readonly heapTotal: number;
  readonly newSpace: number;
  readonly oldSpaceUsed: number;
  readonly external: number;
  /** ClickHouse's memory tracker (system.metrics MemoryTracking) and its mark cache. */
  readonly chTracked: number;
  readonly markCache: number;
  /** What the engine's allocator (jemalloc) holds resident: its allocations plus pages freed but not yet returned. */
  readonly jemallocResident: number;
  readonly markCompacts: number;
}

function procStatus(pid: number, key: string): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const metricValue = metricSum;

const CLICKHOUSE_SQL = `SELECT
  (SELECT sum(memory_usage) FROM system.merges) AS merge_memory,
  (SELECT count() FROM system.merges) AS merges,
  (SELECT count() FROM system.parts WHERE active AND database = 'sessionizer' AND table = 'sessions_raw') AS parts,
  (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked,
  (SELECT value FROM system.metrics WHERE metric = 'MarkCacheBytes') AS mark_cache,
  (SELECT toUInt64OrZero(extract(stats, 'resident: ([0-9]+)')) FROM system.jemalloc_stats) AS jemalloc_resident`;

// first: a machine without a usable memory controller fails here, before any preload
const cgroup: MemoryCgroup | undefined =
  MEMORY_LIMIT === undefined ? undefined : createMemoryCgroup(`bench-memory-${process.pid}`, MEMORY_LIMIT);
const provisioned = await provisionKafka({ brokers: process.env['KAFKA_BROKERS'], log: say });
const brokers = provisioned.brokers.join(',');
const kafka = createKafkaClient({ brokers, clientId: 'bench-memory' });
const dataDir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
try {
  const topic = values.topic ?? `bench_memory_${Date.now().toString(36)}`;
  const { end } = await groupProgress(kafka, `probe_${Date.now()}`, topic).catch(() => ({ end: new Map<number, bigint>() }));
  const present = [...end.values()].reduce((a, b) => a + Number(b), 0);
  if (present === EVENTS) say(`topic ${topic} holds ${present} events: not preloaded again`);
  else if (present > 0) throw new Error(`topic ${topic} holds ${present} events, not ${EVENTS}`);
  else {
    await ensureTopic(kafka, topic, PARTITIONS);
    const t = performance.now();
    await produceAll(kafka, topic, generate({ seed: 11, format: 'posthog-events', events: EVENTS, activeSessions: ACTIVE }), {
      batchSize: 2_000,
    });
    say(`preloaded ${EVENTS} events (${ACTIVE} active sessions) into ${topic} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  const port = await freePort();
  const group = `bench_memory_${topic}_${Date.now().toString(36)}`;
  const child = spawnService({
    brokers,
    topic,
    group,
    dataDir,
    port,
    logLevel: 'warn',
    ...(NODE_OPTIONS === undefined ? {} : { extra: { NODE_OPTIONS } }),
    cgroup,
  });
  const heapLimitMiB = heapSizeLimitMiB(NODE_OPTIONS ?? serviceNodeOptions(), [], cgroup);
  say(
    `service NODE_OPTIONS: ${NODE_OPTIONS ?? "(the image's)"}; ` +
      `${cgroup === undefined ? 'no memory cgroup' : `memory cgroup v${cgroup.version} ${cgroup.path}, limit ${Math.round(cgroup.limitBytes / MiB)} MiB`}; ` +
      `V8 heap limit ${heapLimitMiB} MiB`,
  );
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
    let ch = { merge_memory: 0, merges: 0, parts: 0, tracked: 0, mark_cache: 0, jemalloc_resident: 0 };
    try {
      text = await (await fetch(`${base}/metrics`)).text();
      const body = await (await fetch(`${base}/query`, { method: 'POST', body: CLICKHOUSE_SQL })).text();
      const row = JSON.parse(body.split('\n')[0] ?? '{}') as Record<string, string | number>;
      ch = {
        merge_memory: Number(row['merge_memory'] ?? 0),
        merges: Number(row['merges'] ?? 0),
        parts: Number(row['parts'] ?? 0),
        tracked: Number(row['tracked'] ?? 0),
        mark_cache: Number(row['mark_cache'] ?? 0),
        jemalloc_resident: Number(row['jemalloc_resident'] ?? 0),
      };
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
      heapTotal: metricValue(text, 'sessionizer_nodejs_heap_size_total_bytes'),
      newSpace: metricValue(text, 'sessionizer_nodejs_heap_space_size_total_bytes', { space: 'new' }),
      oldSpaceUsed: metricValue(text, 'sessionizer_nodejs_heap_space_size_used_bytes', { space: 'old' }),
      external: metricValue(text, 'sessionizer_nodejs_external_memory_bytes'),
      chTracked: ch.tracked,
      markCache: ch.mark_cache,
      jemallocResident: ch.jemalloc_resident,
      markCompacts: metricValue(text, 'sessionizer_nodejs_gc_duration_seconds_count', { kind: 'major' }),
    });
  };

  let doneAt: number | undefined;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const oom = cgroup === undefined ? '' : `; cgroup ${JSON.stringify(cgroup.counters())}`;
      throw new Error(`the service exited (${child.exitCode ?? child.signalCode})${oom}: ${stderr}`);
    }
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
      maxHeapTotalMiB: Math.round(Math.max(0, ...inside.map((s) => s.heapTotal)) / MiB),
      maxClickhouseMiB: Math.round(Math.max(0, ...inside.map((s) => s.chTracked)) / MiB),
      maxJemallocResidentMiB: Math.round(Math.max(0, ...inside.map((s) => s.jemallocResident)) / MiB),
      maxMergeMiB: Math.round(Math.max(0, ...inside.map((s) => s.mergeMemory)) / MiB),
      rowsWritten: Math.max(0, ...inside.map((s) => s.rows)),
    };
  });
  const peakMerge = samples.reduce(
    (a, s) => (s.mergeMemory > a.mergeMemory ? s : a),
    samples[0] ?? { mergeMemory: 0, rss: 0, parts: 0, t: 0, received: 0 },
  );
  const withoutMerges = samples.filter((s) => s.merges === 0);
  const maxOf = (f: (s: Sample) => number): number => Math.max(0, ...samples.map(f));
  const atPeak = samples.reduce<Sample | undefined>((a, s) => (a === undefined || s.rss > a.rss ? s : a), undefined);
  const split = (s: Sample | undefined): Record<string, number> =>
    s === undefined
      ? {}
      : {
          ms: s.t,
          receivedEvents: s.received,
          rssBytes: s.rss,
          heapTotalBytes: s.heapTotal,
          newSpaceBytes: s.newSpace,
          heapUsedBytes: s.heap,
          oldSpaceUsedBytes: s.oldSpaceUsed,
          externalBytes: s.external,
          clickhouseTrackedBytes: s.chTracked,
          markCacheBytes: s.markCache,
          jemallocResidentBytes: s.jemallocResident,
          mergeMemoryBytes: s.mergeMemory,
          restBytes: s.rss - s.heapTotal - s.external - s.jemallocResident,
          parts: s.parts,
          markCompacts: s.markCompacts,
        };
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
    nodeOptions: NODE_OPTIONS ?? null,
    memoryLimitBytes: cgroup?.limitBytes ?? null,
    heapSizeLimitMiB: heapLimitMiB,
    cgroup: cgroup?.counters() ?? null,
    maxHeapTotalBytes: maxOf((s) => s.heapTotal),
    maxNewSpaceBytes: maxOf((s) => s.newSpace),
    maxOldSpaceUsedBytes: maxOf((s) => s.oldSpaceUsed),
    maxExternalBytes: maxOf((s) => s.external),
    maxClickhouseTrackedBytes: maxOf((s) => s.chTracked),
    maxMarkCacheBytes: maxOf((s) => s.markCache),
    maxJemallocResidentBytes: maxOf((s) => s.jemallocResident),
    markCompacts: samples[samples.length - 1]?.markCompacts ?? 0,
    atPeak: split(atPeak),
    peakMergeMemoryBytes: peakMerge.mergeMemory,
    peakMergeAt: { ms: peakMerge.t, receivedEvents: peakMerge.received, rssBytes: peakMerge.rss, parts: peakMerge.parts },
    finalParts: samples[samples.length - 1]?.parts ?? 0,
    rowsWritten: Math.max(0, ...samples.map((s) => s.rows)),
    deciles,
  };
  console.log(
    'tenth of events  samples  max RSS MiB  max heap MiB  heap committed MiB  ClickHouse tracked MiB  jemalloc resident MiB  max merge MiB  partial rows written',
  );
  for (const d of deciles) {
    console.log(
      `${String(d.tenth).padStart(16)}  ${String(d.samples).padStart(7)}  ${String(d.maxRssMiB).padStart(11)}  ${String(d.maxHeapMiB).padStart(12)}  ${String(d.maxHeapTotalMiB).padStart(18)}  ${String(d.maxClickhouseMiB).padStart(22)}  ${String(d.maxJemallocResidentMiB).padStart(21)}  ${String(d.maxMergeMiB).padStart(13)}  ${String(d.rowsWritten).padStart(20)}`,
    );
  }
  const p = report.atPeak;
  const m = (k: string): number => Math.round((p[k] ?? 0) / MiB);
  console.log(
    `at the largest sampled RSS (${m('rssBytes')} MiB, ${p['receivedEvents'] ?? 0} events): V8 heap committed ${m('heapTotalBytes')} MiB ` +
      `(new space ${m('newSpaceBytes')}, used ${m('heapUsedBytes')}, old space used ${m('oldSpaceUsedBytes')}), external ${m('externalBytes')}, ` +
      `ClickHouse tracked ${m('clickhouseTrackedBytes')}, its allocator resident ${m('jemallocResidentBytes')} (mark cache ${m('markCacheBytes')}, merges ${m('mergeMemoryBytes')}), rest ${m('restBytes')} MiB; ` +
      `${p['markCompacts'] ?? 0} mark-compacts by then, ${report.markCompacts} in all`,
  );
  console.log(
    `peak RSS ${Math.round(peakRss / MiB)} MiB; sampled max ${Math.round(report.maxSampledRssBytes / MiB)} MiB, ${Math.round(report.maxSampledRssWithoutMergeBytes / MiB)} MiB while no merge ran; ` +
      `peak merge memory ${Math.round(peakMerge.mergeMemory / MiB)} MiB at ${peakMerge.received} events (${peakMerge.parts} parts)`,
  );
  if (cgroup !== undefined) {
    const c = cgroup.counters();
    console.log(
      `memory cgroup: limit ${Math.round(cgroup.limitBytes / MiB)} MiB, hit ${c.limitHits} times, ${c.oomKills} OOM kills, max usage ${c.maxUsageBytes === null ? '?' : Math.round(c.maxUsageBytes / MiB)} MiB (page cache included)`,
    );
  }
  if (SAMPLES_OUT !== undefined) writeFileSync(SAMPLES_OUT, JSON.stringify(samples));
  console.log(`BENCH-MEMORY ${JSON.stringify(report)}`);
} finally {
  await provisioned.stop();
  rmSync(dataDir, { recursive: true, force: true });
  try {
    cgroup?.remove();
  } catch (e) {
    say(`could not remove ${cgroup?.path ?? ''}: ${String(e)}`);
  }
}
