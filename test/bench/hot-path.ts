/**
 * The service's JavaScript hot path in one process, without Kafka or ClickHouse: decode →
 * buffer → (every `--flush-every` events) drain → partial rows serialised as the sink does.
 * Run it under `node --cpu-prof` to see where the JavaScript time goes:
 *   node --cpu-prof --import tsx test/bench/hot-path.ts --events 300000   (or npm run bench:hot-path)
 * Prints the CPU µs per event of each step (process.cpuUsage, GC included). Nothing is asserted.
 *
 * The serialisation is the embedded engine's (the service's default): each drain in chunks of
 * rowsPerInsert rows, as sink.ts splits a write, each chunk RowBinaryWithNamesAndTypes from the
 * sink's encoder (the header, then the rows: "encode"), copied out of the encoder's buffer and made
 * into the statement's literal by the transport's binaryInsertLiteral (client.ts: "copy+literal").
 * The JSON line is the HTTP transport's serialiser (JSON.stringify of toPartialRow, as earlier
 * sections of BENCHMARKS.md measured it), in the same run for comparison.
 */
import { generate } from '@sessionizer/generator';
import { decodeRecord, SessionBuffer, type SessionEvent, type SessionState } from '@sessionizer/core';
import {
  binaryInsertLiteral,
  DEFAULT_INSERT_SPLIT,
  PartialRowBinaryEncoder,
  rowsPerInsert,
  toPartialRow,
} from '@sessionizer/clickhouse/testing';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: { events: { type: 'string' }, 'flush-every': { type: 'string' }, rounds: { type: 'string' } },
});
const N = Number(values.events ?? 300_000);
const FLUSH_EVERY = Number(values['flush-every'] ?? 100_000);
const ROUNDS = Number(values.rounds ?? 3);
const messages = [...generate({ seed: 1, format: 'posthog-events', events: N, activeSessions: 2_000 })].map((m) => Buffer.from(m.value));
const options = {};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const serializeJson = (states: readonly SessionState[]): number => {
  let n = 0;
  for (const s of states) n += JSON.stringify(toPartialRow(s)).length + 1;
  return n;
};
/** The sink's encoder, reused by every write (sink.ts). */
const encoder = new PartialRowBinaryEncoder();
const binary = { encodeMs: 0, literalMs: 0, bytes: 0, literalBytes: 0, chunks: 0 };
const serializeBinary = (states: readonly SessionState[]): void => {
  const w = encoder.writer;
  const maxRows = rowsPerInsert(states.length, DEFAULT_INSERT_SPLIT);
  let t = cpuMs();
  w.off = 0;
  const header = encoder.header();
  let rows = 0;
  const take = (): void => {
    const t1 = cpuMs();
    binary.encodeMs += t1 - t;
    // the sink's copy out of the reused buffer, then the transport's literal
    const literal = binaryInsertLiteral(w.copy(0, w.off));
    binary.bytes += w.off;
    binary.literalBytes += literal.length;
    binary.chunks += 1;
    w.off = header;
    rows = 0;
    t = cpuMs();
    binary.literalMs += t - t1;
  };
  for (const s of states) {
    encoder.encode(s);
    rows += 1;
    if (rows === maxRows) take();
  }
  if (rows > 0) take();
  else binary.encodeMs += cpuMs() - t;
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
  Object.assign(binary, { encodeMs: 0, literalMs: 0, bytes: 0, literalBytes: 0, chunks: 0 });
  let rows = 0;
  for (const states of drained) {
    serializeBinary(states);
    rows += states.length;
  }
  const t3 = cpuMs();
  let jsonBytes = 0;
  for (const states of drained) jsonBytes += serializeJson(states);
  const t4 = cpuMs();
  const perEvent = (ms: number): string => ((ms * 1000) / N).toFixed(2);
  const perRow = (ms: number): string => ((ms * 1000) / rows).toFixed(2);
  const both = (ms: number): string => `${perEvent(ms)} / ${perRow(ms)}`;
  process.stdout.write(
    `round ${r + 1} (CPU µs per event / per row): decode ${perEvent(t1 - t0)}, add ${perEvent(t2 - t1)}; ` +
      `serialise RowBinary (embedded): encode ${both(binary.encodeMs)}, copy+literal ${both(binary.literalMs)}, total ${both(t3 - t2)} ` +
      `(${rows} rows, ${binary.chunks} chunks, ${binary.bytes} bytes, literal ${binary.literalBytes} bytes)\n` +
      `round ${r + 1} serialise JSON (http, for comparison): ${both(t4 - t3)} (${rows} rows, ${jsonBytes} bytes)\n`,
  );
}
