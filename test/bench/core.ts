/**
 * Micro-benchmark of the pure core: parse + normalise and aggregate throughput on realistic
 * ~1.35 KiB PostHog events, and the bytes of state per session (our estimate and the V8 heap).
 * Prints a table and one JSON line. Baselines (JSON.parse alone) are measured in the same run.
 *   npm run bench:core -- [--events N]
 * No timing is asserted anywhere: these machines are shared and noisy.
 */
import { generate, tokenTeams, type GeneratedMessage } from '@sessionizer/generator';
import { normalize, SessionBuffer, type InputFormat, type SessionEvent } from '@sessionizer/core';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, { options: { events: { type: 'string' }, json: { type: 'boolean' } } });
const N = Number(values.events ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;

function time(fn: () => number): { seconds: number; result: number } {
  const t = performance.now();
  const result = fn();
  return { seconds: (performance.now() - t) / 1000, result };
}

/** Best of three runs after a warm-up: the least disturbed by the rest of the machine. */
function best(fn: () => number): { seconds: number; result: number } {
  fn();
  let winner = time(fn);
  for (let i = 0; i < 2; i += 1) {
    const r = time(fn);
    if (r.seconds < winner.seconds) winner = r;
  }
  return winner;
}

function heapPerSession(events: readonly SessionEvent[]): {
  sessions: number;
  heapBytesPerSession: number | null;
  estimatedBytesPerSession: number;
} {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const buffer = new SessionBuffer();
  for (const e of events) buffer.add(e);
  gc?.();
  const after = process.memoryUsage().heapUsed;
  const sessions = buffer.size;
  const estimate = buffer.bytes / Math.max(sessions, 1);
  const heap = gc === undefined ? null : (after - before) / Math.max(sessions, 1);
  // keep the buffer alive until measured
  if (buffer.size < 0) console.log('unreachable');
  return { sessions, heapBytesPerSession: heap === null ? null : Math.round(heap), estimatedBytesPerSession: Math.round(estimate) };
}

const report: Record<string, unknown> = { events: N, node: process.version, gcExposed: gc !== undefined };
for (const format of ['posthog-events', 'posthog-capture'] as InputFormat[]) {
  const messages: GeneratedMessage[] = [...generate({ seed: 7, format, events: N })];
  const texts = messages.map((m) => m.value);
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  const options = { tokenTeams: tokenTeams(3) };

  const parseOuter = best(() => {
    let n = 0;
    for (const t of texts) {
      try {
        if (JSON.parse(t) !== null) n += 1;
      } catch {
        // invalid ones count as parsed too: the baseline only parses
      }
    }
    return n;
  });
  const norm = best(() => {
    let ok = 0;
    for (const t of texts) if (normalize(format, t, options).ok) ok += 1;
    return ok;
  });
  const events: SessionEvent[] = [];
  for (const t of texts) {
    const r = normalize(format, t, options);
    if (r.ok) events.push(r.event);
  }
  const aggregate = best(() => {
    const buffer = new SessionBuffer();
    for (const e of events) buffer.add(e);
    return buffer.size;
  });
  const state = heapPerSession(events);
  report[format] = {
    messages: texts.length,
    meanMessageBytes: Math.round(bytes / texts.length),
    jsonParseOnlyPerSecond: Math.round(texts.length / parseOuter.seconds),
    normalizePerSecond: Math.round(texts.length / norm.seconds),
    normalizeMBPerSecond: Number((bytes / 1e6 / norm.seconds).toFixed(1)),
    normalizeVsJsonParse: Number((parseOuter.seconds / norm.seconds).toFixed(2)),
    accepted: norm.result,
    aggregatePerSecond: Math.round(events.length / aggregate.seconds),
    ...state,
  };
}

if (values.json !== true) {
  const rows = ['posthog-events', 'posthog-capture'].map((f) => [f, report[f] as Record<string, number | null>] as const);
  const line = (label: string, key: string): string =>
    `  ${label.padEnd(34)}${rows.map(([, r]) => String(r[key] ?? '—').padStart(18)).join('')}`;
  console.log(`core benchmark: ${N} generated events per format, ${process.version}, best of 3 after warm-up`);
  console.log(`  ${''.padEnd(34)}${rows.map(([f]) => f.padStart(18)).join('')}`);
  console.log(line('mean message bytes', 'meanMessageBytes'));
  console.log(line('JSON.parse only (events/s)', 'jsonParseOnlyPerSecond'));
  console.log(line('parse + normalise (events/s)', 'normalizePerSecond'));
  console.log(line('parse + normalise (MB/s)', 'normalizeMBPerSecond'));
  console.log(line('normalise / JSON.parse speed', 'normalizeVsJsonParse'));
  console.log(line('aggregate (events/s)', 'aggregatePerSecond'));
  console.log(line('sessions in state', 'sessions'));
  console.log(line('state bytes/session (estimate)', 'estimatedBytesPerSession'));
  console.log(line('state bytes/session (V8 heap)', 'heapBytesPerSession'));
}
console.log(`BENCH-CORE ${JSON.stringify(report)}`);
