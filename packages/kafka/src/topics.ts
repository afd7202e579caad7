/** Small admin and producer helpers: the demo and tools create topics and feed them. */
import kafkajs, { type Kafka } from 'kafkajs';

const { Partitioners } = kafkajs;

/** Create the topic if it does not exist; returns true when it was created. */
export async function ensureTopic(kafka: Kafka, topic: string, partitions: number): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export interface KeyedMessage {
  readonly key: string | null;
  readonly value: string | Buffer;
}

/**
 * Send messages in batches (acks from all in-sync replicas), keyed with the Java-compatible
 * murmur2 partitioner, as PostHog's capture does. A batch stays under the broker's default
 * message.max.bytes (~1 MB, one record batch per partition at worst). Returns the number sent.
 */
export async function produceAll(
  kafka: Kafka,
  topic: string,
  messages: Iterable<KeyedMessage>,
  options: { batchSize?: number; onProgress?: (sent: number) => void } = {},
): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const size = options.batchSize ?? 1_000;
  const maxBytes = 900_000;
  let sent = 0;
  let batch: KeyedMessage[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await producer.send({ topic, acks: -1, messages: batch.map((m) => ({ key: m.key, value: m.value })) });
    sent += batch.length;
    batch = [];
    bytes = 0;
    options.onProgress?.(sent);
  };
  try {
    for (const m of messages) {
      const b = m.value.length + (m.key?.length ?? 0) + 70; // record overhead
      if (batch.length > 0 && (batch.length >= size || bytes + b > maxBytes)) await flush();
      batch.push(m);
      bytes += b;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return sent;
}

/** Committed offsets of a group and the high watermarks of a topic, per partition. */
export async function groupProgress(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<{ committed: Map<number, bigint>; end: Map<number, bigint> }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return {
      committed: new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)])),
      end: new Map(ends.map((p) => [p.partition, BigInt(p.high)])),
    };
  } finally {
    await admin.disconnect();
  }
}
