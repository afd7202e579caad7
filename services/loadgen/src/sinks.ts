/** Where messages go: a Kafka topic (kafkajs, acks=all) or NDJSON lines in a file or stdout. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import kafkajs, { type Producer } from 'kafkajs';
import { createKafkaClient, parseBrokers, probeBrokers } from '@sessionizer/kafka';
import type { Batch } from './batcher.js';
import type { Sink } from './run.js';

const { Partitioners } = kafkajs;

/** A failure that is not a usage error: an unreachable broker, a missing topic, a write error. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export interface KafkaSinkOptions {
  readonly brokers: string;
  readonly topic: string;
  /** Create the topic with this many partitions if it is missing. */
  readonly partitions?: number | undefined;
  readonly warn: (message: string) => void;
  readonly probeTimeoutMs?: number;
}

export class KafkaSink implements Sink {
  readonly #producer: Producer;
  readonly #topic: string;

  private constructor(producer: Producer, topic: string) {
    this.#producer = producer;
    this.#topic = topic;
  }

  /** Checks the brokers answer, makes sure the topic exists, connects a producer. */
  static async open(o: KafkaSinkOptions): Promise<KafkaSink> {
    const brokers = parseBrokers(o.brokers, '--brokers');
    try {
      await probeBrokers(brokers, o.probeTimeoutMs ?? 10_000);
    } catch (err) {
      throw new TargetError(`cannot reach Kafka at ${brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const kafka = createKafkaClient({
      brokers: o.brokers,
      clientId: 'sessionizer-loadgen',
      log: (level, message) => {
        if (level === 'error' || level === 'warn') o.warn(message);
      },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(o.topic)) {
        if (o.partitions === undefined) {
          throw new TargetError(`topic '${o.topic}' does not exist; pass --partitions P to create it`);
        }
        await admin.createTopics({ topics: [{ topic: o.topic, numPartitions: o.partitions }], waitForLeaders: true });
      } else if (o.partitions !== undefined) {
        const meta = await admin.fetchTopicMetadata({ topics: [o.topic] });
        const existing = meta.topics[0]?.partitions.length ?? 0;
        if (existing !== o.partitions)
          o.warn(`topic '${o.topic}' exists with ${existing} partitions; --partitions ${o.partitions} ignored`);
      }
    } finally {
      await admin.disconnect();
    }
    // The default partitioner is Java-compatible murmur2 on the key, as PostHog's producers.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    return new KafkaSink(producer, o.topic);
  }

  async send(batch: Batch): Promise<void> {
    await this.#producer.send({ topic: this.#topic, acks: -1, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) });
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/** NDJSON: one message value per line. Stops quietly when the reader goes away (EPIPE). */
export class FileSink implements Sink {
  readonly #stream: Writable;
  readonly #owned: boolean;
  #error: NodeJS.ErrnoException | undefined;
  readonly #onError = (err: NodeJS.ErrnoException): void => {
    this.#error ??= err;
    this.onBrokenPipe?.();
  };
  /** Called when the stream fails (e.g. `loadgen --out - | head`). */
  onBrokenPipe: (() => void) | undefined;

  constructor(stream: Writable, owned: boolean) {
    this.#stream = stream;
    this.#owned = owned;
    stream.on('error', this.#onError);
  }

  static async open(path: string, stdout: Writable): Promise<FileSink> {
    if (path === '-') return new FileSink(stdout, false);
    const stream = createWriteStream(path);
    try {
      await once(stream, 'open');
    } catch (err) {
      throw new TargetError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return new FileSink(stream, true);
  }

  /** EPIPE: the reader closed the pipe, which is how `| head` ends a run. */
  get brokenPipe(): boolean {
    return this.#error?.code === 'EPIPE';
  }

  async send(batch: Batch): Promise<void> {
    if (this.#error !== undefined) {
      if (this.brokenPipe) return;
      throw new TargetError(`write failed: ${this.#error.message}`);
    }
    let text = '';
    for (const m of batch.messages) text += `${m.value}\n`;
    // on an error, once() rejects: the next send (or close) reports it
    if (!this.#stream.write(text)) await once(this.#stream, 'drain').catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#owned && this.#error === undefined) {
      this.#stream.end();
      await once(this.#stream, 'finish');
    }
    this.#stream.off('error', this.#onError);
    if (this.#error !== undefined && !this.brokenPipe) throw new TargetError(`write failed: ${this.#error.message}`);
  }
}
