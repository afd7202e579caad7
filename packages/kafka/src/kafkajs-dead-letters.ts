/**
 * DeadLetterSink over a kafkajs producer: acks from all in-sync replicas. At-least-once: a
 * retried send may write a record twice, which a dead-letter topic tolerates.
 */
import type { Kafka, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { DeadLetterRecord, DeadLetterSink } from './source.js';

const { Partitioners } = kafkajs;

export class KafkaJsDeadLetters implements DeadLetterSink {
  readonly #producer: Producer;
  readonly #topic: string;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka, topic: string) {
    this.#topic = topic;
    this.#producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
  }

  async send(records: readonly DeadLetterRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.#connected ??= this.#producer.connect();
    await this.#connected;
    await this.#producer.send({
      topic: this.#topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
    });
  }

  async disconnect(): Promise<void> {
    if (this.#connected !== undefined) await this.#producer.disconnect();
  }
}
