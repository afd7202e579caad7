/**
 * The loadgen CLI as a subprocess against the real broker: what lands in the topic is exactly
 * what the file target writes for the same seed, keyed token:distinct_id and spread over the
 * partitions by the Java-compatible partitioner, in generator order per partition; and --rate
 * paces the run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers } from '../support/context.js';
import { readTopic, testKafka } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const BIN = fileURLToPath(new URL('../../services/loadgen/bin/loadgen.mjs', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
}

interface Summary {
  events: number;
  bytes: number;
  seconds: number;
  eventsPerSecond: number;
  byKind: Record<'event' | 'duplicate' | 'invalid' | 'no_session_id', number>;
}

function loadgen(args: readonly string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, KAFKA_BROKERS: undefined }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr, wallSeconds: (performance.now() - started) / 1_000 });
      },
    );
  });
}

interface Consumed {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

/** Every message the topic holds, with key and value as text. */
async function consumeAll(topic: string): Promise<Consumed[]> {
  const read = await readTopic(testKafka(), topic, 60_000);
  return read.map((m) => ({ partition: m.partition, offset: Number(m.offset), key: m.key ?? '', value: m.value?.toString() ?? '' }));
}

describe('loadgen CLI against Kafka', () => {
  let brokers: string[];
  const topics: string[] = [];
  let dir: string;

  beforeAll(async () => {
    brokers = kafkaBrokers();
    dir = await mkdtemp(join(tmpdir(), 'loadgen-it-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (topics.length === 0) return;
    const admin = new Kafka({ clientId: 'loadgen-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('produces exactly what the file target writes for the same seed, keyed and spread over partitions', async () => {
    const topic = uniqueName('loadgen');
    topics.push(topic);
    const traffic = [
      '--format',
      'posthog-capture',
      '--events',
      '2000',
      '--seed',
      '42',
      '--duplicates',
      '0.05',
      '--invalid',
      '0.03',
      '--no-session-id',
      '0.02',
      '--out-of-order',
      '0.02',
    ];

    const toKafka = await loadgen([...traffic, '--topic', topic, '--brokers', brokers.join(','), '--partitions', '3']);
    expect(toKafka.stderr).toBe('');
    expect(toKafka.code).toBe(0);
    const summary = JSON.parse(toKafka.stdout) as Summary;
    console.log('kafka run', summary, `wall ${toKafka.wallSeconds.toFixed(2)} s`);
    expect(summary.events).toBe(2_000);
    expect(summary.byKind.event + summary.byKind.duplicate + summary.byKind.invalid + summary.byKind.no_session_id).toBe(2_000);
    expect(summary.byKind.duplicate).toBeGreaterThan(50);
    expect(summary.byKind.invalid).toBeGreaterThan(20);

    const path = join(dir, 'same-seed.ndjson');
    const toFile = await loadgen([...traffic, '--out', path]);
    expect(toFile.code).toBe(0);
    const fileSummary = JSON.parse(toFile.stdout) as Summary;
    expect({ ...fileSummary, seconds: 0, eventsPerSecond: 0, target: '' }).toEqual({
      ...summary,
      seconds: 0,
      eventsPerSecond: 0,
      target: '',
    });
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(2_000);

    const consumed = await consumeAll(topic);
    expect(consumed).toHaveLength(2_000);
    // byte for byte the same messages (the order across partitions is Kafka's)
    expect(consumed.map((m) => m.value).sort()).toEqual([...lines].sort());
    expect(consumed.reduce((n, m) => n + Buffer.byteLength(m.value), 0)).toBe(summary.bytes);

    // keyed token:distinct_id, each key on one partition, all partitions used
    const partitionOfKey = new Map<string, Set<number>>();
    const perPartition = [0, 0, 0];
    for (const m of consumed) {
      expect(m.key).toMatch(/^phc_loadgen_team_\d+:./);
      partitionOfKey.set(m.key, (partitionOfKey.get(m.key) ?? new Set()).add(m.partition));
      perPartition[m.partition] = (perPartition[m.partition] ?? 0) + 1;
    }
    console.log(`${partitionOfKey.size} keys; messages per partition`, perPartition);
    for (const parts of partitionOfKey.values()) expect(parts.size).toBe(1);
    for (const n of perPartition) expect(n).toBeGreaterThan(300);

    // the partition is the Java client's murmur2(key) % 3
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const [key, parts] of partitionOfKey) {
      expect(partitioner({ topic, partitionMetadata, message: { key, value: '' } })).toBe([...parts][0]);
    }

    // nothing was written twice by a retry
    const admin = new Kafka({ clientId: 'loadgen-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(2_000);

    // one send in flight (the default): each partition holds its messages in generator order
    const partitionOfValue = new Map(consumed.map((m) => [m.value, m.partition]));
    for (const p of [0, 1, 2]) {
      const produced = consumed
        .filter((m) => m.partition === p)
        .sort((x, y) => x.offset - y.offset)
        .map((m) => m.value);
      expect(produced).toEqual(lines.filter((l) => partitionOfValue.get(l) === p));
    }
  });

  it('--rate paces the run', async () => {
    const topic = uniqueName('loadgen_rate');
    topics.push(topic);
    const rate = 500;
    const run = await loadgen([
      '--format',
      'posthog-events',
      '--events',
      '1500',
      '--rate',
      String(rate),
      '--topic',
      topic,
      '--brokers',
      brokers.join(','),
      '--partitions',
      '2',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Summary;
    console.log(
      `--rate ${rate}: measured ${summary.eventsPerSecond} events/s over ${summary.seconds} s (wall ${run.wallSeconds.toFixed(2)} s)`,
    );
    expect(summary.events).toBe(1_500);
    // machines are noisy: only check it is not absurdly faster than asked
    expect(summary.eventsPerSecond).toBeLessThan(3 * rate);
    expect(summary.seconds).toBeGreaterThan(1_500 / rate / 3);
    expect(await consumeAll(topic)).toHaveLength(1_500);
  });

  it('fills a single-partition topic with full batches (under the broker message size limit)', async () => {
    const topic = uniqueName('loadgen_one');
    topics.push(topic);
    const run = await loadgen([
      '--format',
      'posthog-events',
      '--events',
      '3000',
      '--topic',
      topic,
      '--brokers',
      brokers.join(','),
      '--partitions',
      '1',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Summary;
    console.log(`1 partition: ${summary.eventsPerSecond} events/s, ${(summary.bytes / 1_048_576).toFixed(1)} MiB`);
    const admin = new Kafka({ clientId: 'loadgen-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offsets.map((p) => Number(p.high))).toEqual([3_000]);
  });

  it('fails clearly on a missing topic without --partitions, and on an unreachable broker', async () => {
    const missing = await loadgen([
      '--format',
      'posthog-events',
      '--events',
      '10',
      '--topic',
      uniqueName('loadgen_missing'),
      '--brokers',
      brokers.join(','),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^loadgen: topic '.*' does not exist; pass --partitions P to create it\n$/);
    const unreachable = await loadgen(['--format', 'posthog-events', '--events', '10', '--topic', 't', '--brokers', '127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^loadgen: cannot reach Kafka at 127\.0\.0\.1:1: /);
    const bad = await loadgen(['--format', 'posthog-events', '--events', 'ten', '--out', '-']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--events must be an integer >= 0, got 'ten'");
  });
});
