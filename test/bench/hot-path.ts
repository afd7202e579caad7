/**
 * The service's JavaScript hot path in one process, without Kafka or ClickHouse: decode →
 * buffer → (every `--flush-every` events) drain → partial rows serialised as the sink does.
 * Run it under `node --cpu-prof` to see where the JavaScript time goes:
 *   node --cpu-prof --import tsx test/bench/hot-path.ts --events 300000   (or npm run bench:hot-path)
 * Prints the CPU µs per event of each step (process.cpuUsage, GC included). Nothing is asserted.
 */
import { generate } from '@sessionizer/generator';
import { decodeRecord, SessionBuffer, type SessionEvent, type SessionState } from '@sessionizer/core';
import { toPartialRow } from '@sessionizer/clickhouse/testing';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: { events: { type: 'string' }, 'flush-every': { type: 'string' }, rounds: { type: 'string' } },
});
const N = Number(values.events ?? 300_000);
const FLUSH_EVERY = Number(values['flush-every'] ?? 100_000);
const ROUNDS = Number(values.rounds ?? 3);
const messages = [...generate({ seed: 1, format: 'posthog-events', events: N, activeSessions: 2_000 })].map((m) => Buffer.from(m.value));
const options = {};
const serializePartials = (states: readonly SessionState[]): number => {
  let n = 0;
  for (const s of states) n += JSON.stringify(toPartialRow(s)).length + 1;
  return n;
};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (let r = 0; r < ROUNDS; r += 1) {
  const t0 = cpuMs();
  const decoded: SessionEvent[] = [];
  for (const m of messages) {
    const d = decodeRecord('posthog-events', m, options);
    if (d.ok) decoded.push(d.event);
  }
  const t1 = cpuMs();
  const drained: SessionState[][] = [];
  let buffer = new SessionBuffer();
  for (let i = 0; i < decoded.length; i += 1) {
    buffer.add(decoded[i] as SessionEvent);
    if ((i + 1) % FLUSH_EVERY === 0) drained.push(buffer.drain());
  }
  drained.push(buffer.drain());
  buffer = new SessionBuffer();
  const t2 = cpuMs();
  let bytes = 0;
  let rows = 0;
  for (const states of drained) {
    bytes += serializePartials(states);
    rows += states.length;
  }
  const t3 = cpuMs();
  const us = (ms: number): string => ((ms * 1000) / N).toFixed(2);
  process.stdout.write(
    `round ${r + 1} (CPU µs per event): decode ${us(t1 - t0)}, add ${us(t2 - t1)}, serialise ${us(t3 - t2)} (${rows} rows, ${bytes} bytes)\n`,
  );
}
