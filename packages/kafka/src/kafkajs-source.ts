/** EventSource over a kafkajs consumer group: eachBatch, manual commits, pause/resume. */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { isAccessError } from './access.js';
import type { CommitOffset, EventSource, PartitionBatch, RebalanceListener, SourceRecord, TopicPartition } from './source.js';

export interface KafkaJsSourceOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  // Required: their defaults are the service's settings (services/sessionizer/src/config.ts).
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
}

export class KafkaJsSource implements EventSource {
  readonly #consumer: Consumer;
  readonly #options: KafkaJsSourceOptions;
  #assignment: TopicPartition[] = [];
  readonly #rebalance: RebalanceListener[] = [];
  readonly #fatal: ((e: Error) => void)[] = [];
  readonly #contact: (() => void)[] = [];
  #handlerError: Error | undefined;
  #paused = false;

  constructor(kafka: Kafka, options: KafkaJsSourceOptions) {
    this.#options = options;
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      // maxBytesPerPartition: kafkajs's default, 1 MiB (the memory bound in ARCHITECTURE.md counts it)
      maxWaitTimeInMs: 500,
      retry: {
        retries: 10,
        // A retriable Kafka error restarts the consumer; an error thrown by our own handler is a
        // bug, and restarting would only loop over the same batch: stop instead. So do wrong
        // credentials and untrusted certificates (kafkajs would restart on them forever).
        restartOnFailure: (error: Error) => Promise.resolve(error !== this.#handlerError && !isAccessError(error)),
      },
    });
    const { GROUP_JOIN, REBALANCING, CRASH, FETCH, HEARTBEAT } = this.#consumer.events;
    // While paused, kafkajs reports a fetch that made no request (it sleeps maxWaitTime and
    // returns nothing), even with the broker down; the member still heartbeats then.
    this.#consumer.on(FETCH, () => {
      if (!this.#paused) this.#notifyContact();
    });
    this.#consumer.on(HEARTBEAT, () => {
      this.#notifyContact();
    });
    this.#consumer.on(GROUP_JOIN, (e) => {
      this.#notifyContact();
      const assignment: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
        for (const partition of partitions) assignment.push({ topic, partition });
      }
      this.#assignment = assignment;
      for (const l of this.#rebalance) l({ phase: 'assigned', assignment });
    });
    this.#consumer.on(REBALANCING, () => {
      for (const l of this.#rebalance) l({ phase: 'rebalancing' });
    });
    this.#consumer.on(CRASH, (e) => {
      if (!e.payload.restart) for (const l of this.#fatal) l(e.payload.error);
    });
  }

  async start(handler: (batch: PartitionBatch) => Promise<boolean>): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#options.topics], fromBeginning: this.#options.fromBeginning });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        const records: SourceRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
        }));
        let processed: boolean;
        try {
          processed = await handler({ topic: batch.topic, partition: batch.partition, records, lagAfter: Number(batch.offsetLag()) });
        } catch (err) {
          this.#handlerError = err instanceof Error ? err : new Error(String(err));
          throw this.#handlerError;
        }
        // Resolve is not commit: it only moves kafkajs's fetch position past this batch.
        // An unresolved batch is fetched again from its first offset.
        if (processed) payload.resolveOffset(batch.lastOffset());
      },
    });
  }

  pause(): void {
    this.#paused = true;
    this.#consumer.pause(this.#options.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    this.#paused = false;
    this.#consumer.resume(this.#options.topics.map((topic) => ({ topic })));
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.#consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
    this.#notifyContact();
  }

  assignment(): readonly TopicPartition[] {
    return this.#assignment;
  }

  onRebalance(listener: RebalanceListener): void {
    this.#rebalance.push(listener);
  }

  onFatal(listener: (error: Error) => void): void {
    this.#fatal.push(listener);
  }

  onContact(listener: () => void): void {
    this.#contact.push(listener);
  }

  #notifyContact(): void {
    for (const l of this.#contact) l();
  }

  async disconnect(): Promise<void> {
    await this.#consumer.disconnect();
  }
}
