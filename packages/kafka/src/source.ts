/**
 * The Kafka client behind a small interface. kafkajs is unmaintained since 2023; a maintained
 * client can implement these two interfaces without touching the service or the core.
 */

export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  /** Offset as a decimal string (64-bit). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
}

export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /** Messages between the end of this batch and the partition's high watermark. */
  readonly lagAfter: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An offset to commit: the next offset to read, i.e. last processed + 1. */
export interface CommitOffset extends TopicPartition {
  readonly offset: string;
}

export type RebalanceListener = (
  event: { readonly phase: 'rebalancing' } | { readonly phase: 'assigned'; readonly assignment: readonly TopicPartition[] },
) => void;

export interface EventSource {
  /**
   * Join the group and deliver batches to `handler`, one at a time. When the handler resolves
   * `true` the batch is marked processed ("resolve": the fetch position moves past it); nothing
   * is committed until commit(). Resolving `false` defers the batch: it is fetched again later
   * (after resume()), so a handler that cannot take more right now loses nothing.
   */
  start(handler: (batch: PartitionBatch) => Promise<boolean>): Promise<void>;
  /** Stop fetching (all subscribed topics) until resume(). The member stays in the group. */
  pause(): void;
  resume(): void;
  /** Commit offsets. Only called after everything before them is durably written. */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): readonly TopicPartition[];
  onRebalance(listener: RebalanceListener): void;
  /** Called when the client gives up (a non-retriable error); the service must stop. */
  onFatal(listener: (error: Error) => void): void;
  /**
   * Called on every successful exchange with the brokers that shows this member is alive in its
   * group (a fetch, a heartbeat, a join, a commit). Readiness uses the time since the last one.
   */
  onContact(listener: () => void): void;
  /** Stop fetching, leave the group, close connections. */
  disconnect(): Promise<void>;
}

export interface DeadLetterRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string | Buffer>>;
}

export interface DeadLetterSink {
  /** Resolves when the broker has acknowledged every record (acks=all). */
  send(records: readonly DeadLetterRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}
