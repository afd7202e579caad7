/**
 * Server-side sessions: bytes of memory per tracked distinct_id (the V8 heap, and the estimate),
 * the cost per event of normalise + assign + aggregate against normalise + aggregate for the
 * same events with a client $session_id, and the store's read per batch of unknown keys and its
 * filter of a partition's stored keys (read once per assigner) on the embedded engine. Prints a table and one JSON line.
 *   npm run bench:server-sessions -- [--events N] [--keys N] [--only memory|cost|store]…
 * `npm run bench`'s server-sessions phase runs it with `--only memory` (it needs --expose-gc,
 * which the bench's own process does not have) and reads the JSON line.
 * No timing is asserted anywhere: these machines are shared and noisy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, tokenTeams } from '@sessionizer/generator';
import { estimateTrackedBytes, normalize, ServerSessionAssigner, SessionBuffer, type SessionEvent } from '@sessionizer/core';
import { ClickHouseServerSessionStore, createClickHouse, migrate } from '@sessionizer/clickhouse';
import { ServerSessionStage } from '../../services/sessionizer/src/service/server-sessions.js';
import { blankEvent } from '../support/events.js';
import { withoutSessionId } from './no-session-id.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: { events: { type: 'string' }, keys: { type: 'string' }, only: { type: 'string', multiple: true } },
});
const ONLY = new Set(values.only ?? ['memory', 'cost', 'store']);
const N = Number(values.events ?? 100_000);
const KEYS = Number(values.keys ?? 200_000);
const gc = (globalThis as { gc?: () => void }).gc;

function best(fn: () => number): number {
  fn();
  let winner = Infinity;
  for (let i = 0; i < 3; i += 1) {
    const t = performance.now();
    fn();
    winner = Math.min(winner, performance.now() - t);
  }
  return winner / 1000;
}

// 1. bytes per tracked distinct_id: KEYS keys with 36-character distinct_ids (posthog-js's anonymous ids are UUIDs)
function bytesPerKey(): { keys: number; heapBytesPerKey: number | null; estimatedBytesPerKey: number } {
  const events: SessionEvent[] = Array.from({ length: KEYS }, (_, i) =>
    blankEvent({
      uuid: `0f0e0d0c-0b0a-4000-9000-${i.toString(16).padStart(12, '0')}`,
      event: 'order_paid',
      teamId: 1 + (i % 3),
      distinctId: `019ad9a0-${(i >>> 16).toString(16).padStart(4, '0')}-7000-8000-${i.toString(16).padStart(12, '0')}`,
      sessionIdSource: 'server',
      timestamp: 1_764_579_600_000_000 + i * 1_000,
    }),
  );
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const assigner = new ServerSessionAssigner();
  for (const e of events) assigner.assign(e);
  assigner.takeChanges(); // as after a flush: nothing dirty, the steady state
  gc?.();
  const after = process.memoryUsage().heapUsed;
  // the input events must outlive the measurement: freed, they would offset it (213 B/key measured so)
  const size = assigner.size + (events.length === KEYS ? 0 : 1);
  return {
    keys: size,
    heapBytesPerKey: gc === undefined ? null : Math.round((after - before) / size),
    estimatedBytesPerKey: estimateTrackedBytes(36),
  };
}

// 2. cost per event: the same generated traffic with and without its $session_id
interface Cost {
  events: number;
  serverSessions: number;
  clientMicrosPerEvent: number;
  serverMicrosPerEvent: number;
  assignMicrosPerEvent: number;
}

function costPerEvent(): Cost {
  const messages = [...generate({ seed: 7, format: 'posthog-events', events: N })].map((m) => m.value);
  const stripped = messages.map(withoutSessionId);
  const options = { tokenTeams: tokenTeams(3) };
  const serverOptions = { ...options, serverSessions: () => true };
  const client = best(() => {
    const buffer = new SessionBuffer();
    for (const t of messages) {
      const r = normalize('posthog-events', t, options);
      if (r.ok) buffer.add(r.event);
    }
    return buffer.size;
  });
  let sessions = 0;
  const server = best(() => {
    const stage = new ServerSessionStage({ idleMs: 1_800_000 });
    const buffer = new SessionBuffer();
    for (const t of stripped) {
      const r = normalize('posthog-events', t, serverOptions);
      if (r.ok) buffer.add(stage.apply('events', 0, r.event));
    }
    sessions = buffer.size;
    return buffer.size;
  });
  const assignOnly = best(() => {
    const assigner = new ServerSessionAssigner();
    let n = 0;
    for (const t of stripped) {
      const r = normalize('posthog-events', t, serverOptions);
      if (r.ok) n += assigner.assign(r.event).sessionId.length;
    }
    return n;
  });
  const normalizeOnly = best(() => {
    let n = 0;
    for (const t of stripped) if (normalize('posthog-events', t, serverOptions).ok) n += 1;
    return n;
  });
  return {
    events: N,
    serverSessions: sessions,
    clientMicrosPerEvent: (client / N) * 1e6,
    serverMicrosPerEvent: (server / N) * 1e6,
    assignMicrosPerEvent: ((assignOnly - normalizeOnly) / N) * 1e6,
  };
}

// 3. the store: one read of a batch's unknown keys (the first batch after a start, or new distinct_ids)
interface StoreCost {
  storedRows: number;
  writeMicrosPerRow: number;
  keysPerRead: number;
  readMs: number;
  found: number;
  /** The filter of a partition's stored keys (read once per assigner): its keys, time (wall and process CPU), bytes. */
  filterKeys: number;
  filterMs: number;
  filterCpuMs: number;
  filterBytes: number;
}

async function storeRead(): Promise<StoreCost> {
  const dir = mkdtempSync(join(tmpdir(), 'serversessions-bench-'));
  const ch = createClickHouse({ dataDir: dir });
  try {
    const schema = { database: 'bench_server_sessions' };
    await migrate(ch.client, schema);
    const store = new ClickHouseServerSessionStore(ch.client, { schema });
    const rows = 100_000;
    const changes = Array.from({ length: rows }, (_, i) => ({
      teamId: 1,
      distinctId: `user-${i}`,
      state: { sessionId: '019ad9a0-0000-7000-8000-000000000001', start: 1_764_579_600_000_000, last: 1_764_579_600_000_000 + i },
    }));
    let t = performance.now();
    for (let v = 1; v <= 5; v += 1) await store.write([{ topic: 'events', partition: 0, version: String(v * 1000), changes }]);
    const writeMicrosPerRow = ((performance.now() - t) * 1000) / (5 * rows);
    const keys = Array.from({ length: 500 }, (_, i) => ({ teamId: 1, distinctId: `user-${i * 199}` }));
    await store.load('events', 0, keys, '3000');
    t = performance.now();
    const reads = 10;
    let found = 0;
    for (let i = 0; i < reads; i += 1) found += (await store.load('events', 0, keys, '3000')).length;
    const readMs = (performance.now() - t) / reads;
    t = performance.now();
    const cpu = process.cpuUsage();
    const filter = await store.storedKeys('events', 0);
    const filterCpu = process.cpuUsage(cpu);
    const filterMs = performance.now() - t;
    return {
      storedRows: 5 * rows,
      writeMicrosPerRow,
      keysPerRead: keys.length,
      readMs,
      found: found / reads,
      filterKeys: filter.added,
      filterMs,
      filterCpuMs: (filterCpu.user + filterCpu.system) / 1000,
      filterBytes: filter.bytes,
    };
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const memory = ONLY.has('memory') ? bytesPerKey() : undefined;
const cost = ONLY.has('cost') ? costPerEvent() : undefined;
const store = ONLY.has('store') ? await storeRead() : undefined;
if (memory !== undefined)
  console.log(
    `tracked distinct_ids: ${memory.keys}, heap ${memory.heapBytesPerKey ?? 'n/a (run with --expose-gc)'} B/key, estimate ${memory.estimatedBytesPerKey} B/key`,
  );
if (cost !== undefined)
  console.log(
    `per event (normalise + aggregate, best of 3 over ${cost.events}): client $session_id ${cost.clientMicrosPerEvent.toFixed(2)} µs, ` +
      `server-side ${cost.serverMicrosPerEvent.toFixed(2)} µs (the assignment alone ${cost.assignMicrosPerEvent.toFixed(2)} µs)`,
  );
if (store !== undefined)
  console.log(
    `store: ${store.storedRows} rows written at ${store.writeMicrosPerRow.toFixed(2)} µs/row; a read of ${store.keysPerRead} keys ${store.readMs.toFixed(1)} ms (${store.found} found); ` +
      `the filter of the partition's ${store.filterKeys} stored keys: ${store.filterMs.toFixed(0)} ms (${store.filterCpuMs.toFixed(0)} ms CPU), ${store.filterBytes} bytes`,
  );
console.log(JSON.stringify({ node: process.version, memory, cost, store }));
