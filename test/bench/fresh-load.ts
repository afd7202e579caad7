/**
 * The freshness phase's load, in its own process, made cheap enough to produce the asked rate
 * beside the service on a small machine (`npm run bench`, phase 4). The load generator
 * (services/loadgen) generates and serialises each event while it produces, ~85 µs of CPU per
 * event here, and on 2 cores beside the service it produced under half of the asked rate. This
 * script does that work before the clock starts:
 *
 *  1. prepare (not timed): generate every event (`posthog-events`, the loadgen's settings: seed,
 *     `--now`, active sessions), encode key and value as Buffers and pick each one's partition
 *     with kafkajs's default (Java murmur2) partitioner, as the loadgen's producer would; then
 *     print `READY {…}` and wait for a line `GO` on stdin;
 *  2. produce, paced by the clock: every tick, everything due by then (`rate × elapsed`) goes out
 *     in requests of at most ~900 KB of pre-built messages with an explicit partition (no partitioner, no JSON,
 *     no string encoding on the way), `acks = 1`, no compression, a few requests in flight;
 *     a request that falls behind is not dropped: the backlog goes in the next one, and the
 *     produced rate is what the broker acknowledged over the time it took;
 *  3. print `DONE {…}`: events asked and acknowledged, seconds, events/s, this process's CPU
 *     seconds over the produce window (utime + stime) and per event, the largest backlog; then
 *     wait for a line `EXIT` (the bench reads this process's CPU from /proc meanwhile).
 *
 * Run by the bench; alone: `node --import tsx test/bench/fresh-load.ts --brokers H:P --topic T
 * --rate R --seconds S [--active-sessions A] [--seed N] [--tick-ms 50] [--max-in-flight 4]
 * [--no-wait]` (the topic must exist). `--no-wait` starts producing as soon as it is prepared and
 * exits when done: a standalone measurement of the producer's cost.
 *
 * The markers whose latency is timed are not produced here: the bench stamps and sends them
 * itself, one at a time, at the moment it sends them (pipeline.ts).
 */
import { createInterface } from 'node:readline';
import kafkajs, { type Message } from 'kafkajs';
import { generate } from '@sessionizer/generator';
import { createKafkaClient } from '@sessionizer/kafka';
import { benchArgs } from './args.js';

const { CompressionTypes, Partitioners } = kafkajs;

export interface FreshLoadArgs {
  readonly brokers: string;
  readonly topic: string;
  readonly rate: number;
  readonly seconds: number;
  readonly activeSessions: number;
  readonly seed: number;
  readonly tickMs: number;
  readonly maxInFlight: number;
  /** Start producing as soon as prepared (a standalone measurement), instead of waiting for `GO`. */
  readonly noWait: boolean;
}

const fail = (message: string): never => {
  process.stderr.write(`fresh-load: ${message}\n`);
  process.exit(2);
};

function positive(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined) return fallback ?? fail(`--${name} is required`);
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) return fail(`--${name} must be a positive number, got '${text}'`);
  return v;
}

function args(): FreshLoadArgs {
  const { values } = benchArgs(import.meta.url, {
    strict: true,
    options: {
      brokers: { type: 'string' },
      topic: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'active-sessions': { type: 'string' },
      seed: { type: 'string' },
      'tick-ms': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'no-wait': { type: 'boolean' },
    },
  });
  const str = (k: Exclude<keyof typeof values, 'no-wait'>): string | undefined => values[k];
  const rate = positive('rate', str('rate'));
  return {
    brokers: str('brokers') ?? fail('--brokers is required'),
    topic: str('topic') ?? fail('--topic is required'),
    rate,
    seconds: positive('seconds', str('seconds')),
    activeSessions: Math.round(positive('active-sessions', str('active-sessions'), Math.max(200, 17 * rate))),
    seed: Math.round(positive('seed', str('seed'), 5)),
    tickMs: positive('tick-ms', str('tick-ms'), 50),
    maxInFlight: Math.round(positive('max-in-flight', str('max-in-flight'), 4)),
    noWait: values['no-wait'] === true,
  };
}

/** Messages due `elapsedMs` into the run at `rate` per second, at most `total`. */
export function dueAt(rate: number, elapsedMs: number, total: number): number {
  return Math.min(total, Math.floor((rate * elapsedMs) / 1000));
}

/** One request stays under the broker's default message.max.bytes (~1 MB) even if it all lands on one partition. */
const MAX_REQUEST_BYTES = 900_000;

const o = args();
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const total = Math.round(o.rate * o.seconds);
const prepStart = performance.now();
const kafka = createKafkaClient({ brokers: o.brokers, clientId: 'bench-fresh-load' });
const admin = kafka.admin();
await admin.connect();
const meta = await admin.fetchTopicMetadata({ topics: [o.topic] });
await admin.disconnect();
const partitionMetadata = meta.topics[0]?.partitions ?? fail(`topic '${o.topic}' does not exist`);
const partitioner = Partitioners.DefaultPartitioner();
const messages: Message[] = new Array<Message>(total);
const sizes = new Uint32Array(total);
let bytes = 0;
let i = 0;
for (const m of generate({
  seed: o.seed,
  format: 'posthog-events',
  events: total,
  activeSessions: o.activeSessions,
  startMs: Date.now(),
})) {
  const key = Buffer.from(m.key);
  const value = Buffer.from(m.value);
  const partition = partitioner({ topic: o.topic, partitionMetadata, message: { key, value } });
  messages[i] = { key, value, partition };
  sizes[i] = key.length + value.length + 70; // record overhead
  bytes += value.length;
  i++;
}
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
process.stdout.write(
  `READY ${JSON.stringify({ events: total, valueBytes: bytes, prepareSeconds: (performance.now() - prepStart) / 1000 })}\n`,
);

/** Resolves on the line `word` on stdin; exits if stdin closes before it. */
const control = o.noWait ? undefined : createInterface({ input: process.stdin });
const waitFor = (word: string): Promise<void> =>
  new Promise((resolve) => {
    if (control === undefined) {
      resolve();
      return;
    }
    const onLine = (l: string): void => {
      if (l.trim() !== word) return;
      control.off('line', onLine);
      control.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      fail(`stdin closed before ${word}`);
    };
    control.on('line', onLine);
    control.on('close', onClose);
  });
await waitFor('GO');

const cpu0 = cpu();
const t0 = performance.now();
let sent = 0;
let acknowledged = 0;
let maxBacklog = 0;
/** Set by a failed send (in a callback, hence an object). */
const state: { failure: Error | undefined } = { failure: undefined };
const failed = (): boolean => state.failure !== undefined;
const inFlight = new Set<Promise<void>>();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
while (sent < total && !failed()) {
  const due = dueAt(o.rate, performance.now() - t0, total);
  maxBacklog = Math.max(maxBacklog, due - sent);
  while (sent < due && !failed()) {
    let end = sent;
    let size = 0;
    while (end < due && (end === sent || size + (sizes[end] ?? 0) <= MAX_REQUEST_BYTES)) size += sizes[end++] ?? 0;
    const chunk = messages.slice(sent, end);
    sent = end;
    if (inFlight.size >= o.maxInFlight) await Promise.race(inFlight);
    const p: Promise<void> = producer
      .send({ topic: o.topic, acks: 1, compression: CompressionTypes.None, messages: chunk })
      .then(
        () => {
          acknowledged += chunk.length;
        },
        (err: unknown) => {
          state.failure = err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await sleep(Math.max(1, o.tickMs - ((performance.now() - t0) % o.tickMs)));
}
await Promise.all(inFlight);
const seconds = (performance.now() - t0) / 1000;
const cpuSeconds = cpu() - cpu0;
await producer.disconnect();
if (state.failure !== undefined) {
  process.stderr.write(`fresh-load: producing failed: ${state.failure.message}\n`);
  process.exit(1);
}
process.stdout.write(
  `DONE ${JSON.stringify({
    askedEventsPerSecond: o.rate,
    events: total,
    acknowledged,
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: Math.round(acknowledged / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    cpuMicrosPerEvent: Number(((cpuSeconds / Math.max(1, acknowledged)) * 1e6).toFixed(1)),
    maxBacklogEvents: maxBacklog,
    tickMs: o.tickMs,
    maxInFlight: o.maxInFlight,
    activeSessions: o.activeSessions,
  })}\n`,
);
// The bench reads this process's CPU from /proc after DONE, then lets it go.
await waitFor('EXIT');
process.exit(0);
