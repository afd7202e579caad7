/**
 * Baseline A: a bare kafkajs consumer that reads a topic and JSON.parses every message, nothing
 * else — the ceiling for our client choice. Same consumer settings as the sessionizer's source
 * (eachBatch, 1 MiB per partition, 500 ms max wait).
 *
 * Stdout, for the bench (which measures this process from /proc like every other contender):
 * `FIRST` at the first batch, `PROGRESS <read>` every 200 ms, then `DONE <json>` with its own
 * view of the window (first message to the last expected one: events/s, CPU seconds from
 * process.cpuUsage(), peak RSS). It then stays connected until SIGTERM, so that the bench reads
 * /proc of a live process.
 */
import kafkajs from 'kafkajs';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: { brokers: { type: 'string' }, topic: { type: 'string' }, group: { type: 'string' }, expect: { type: 'string' } },
});
const expected = Number(values.expect);
const kafka = new kafkajs.Kafka({
  clientId: 'bench-baseline',
  brokers: (values.brokers ?? '').split(','),
  logLevel: kafkajs.logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId: values.group ?? 'bench-baseline',
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  maxBytesPerPartition: 1_048_576,
  maxWaitTimeInMs: 500,
});
await consumer.connect();
await consumer.subscribe({ topics: [values.topic ?? ''], fromBeginning: true });

let seen = 0;
let parsed = 0;
let started = 0;
let cpuStart: NodeJS.CpuUsage | undefined;
let progress: NodeJS.Timeout | undefined;
const done = new Promise<void>((resolve) => {
  void consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (started === 0) {
        started = performance.now();
        cpuStart = process.cpuUsage();
        process.stdout.write('FIRST\n');
        progress = setInterval(() => process.stdout.write(`PROGRESS ${seen}\n`), 200);
      }
      for (const m of batch.messages) {
        seen += 1;
        try {
          if (JSON.parse(m.value?.toString('utf8') ?? 'null') !== undefined) parsed += 1;
        } catch {
          // counted as seen; the baseline does nothing with it
        }
      }
      payload.resolveOffset(batch.lastOffset());
      if (seen >= expected) resolve();
      return Promise.resolve();
    },
  });
});
await done;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
clearInterval(progress);
process.stdout.write(
  `DONE ${JSON.stringify({
    events: seen,
    parsed,
    seconds,
    eventsPerSecond: Math.round(seen / seconds),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
await consumer.disconnect();
