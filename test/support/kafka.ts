/** Kafka helpers for integration tests: topics, producing, offsets and a group's progress, reading a topic whole. */
import kafkajs, { type IHeaders, type Kafka } from 'kafkajs';
import { kafkaBrokers } from './context.js';
import { retrying, sleep } from './wait.js';

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

export function testKafka(): Kafka {
  return new KafkaClient({ clientId: 'sessionizer-test', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export interface OutMessage {
  readonly key: string | null;
  readonly value: string | Buffer | null;
}

export async function produce(kafka: Kafka, topic: string, messages: readonly OutMessage[], batch = 500): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += batch) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + batch).map((m) => ({ key: m.key, value: m.value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** High watermarks per partition: partition → offset. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}

/** Committed offsets of a group: partition → offset ('-1' when none). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

/** Every message currently in the topic (reads up to the high watermarks). */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const ends = await endOffsets(kafka, topic);
  const total = [...ends.values()].reduce((a, b) => a + Number(b), 0);
  const out: ReadMessage[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`read ${out.length} of ${total} messages of ${topic} in ${timeoutMs} ms`));
      }, timeoutMs);
      consumer
        .run({
          eachMessage: ({ partition, message }) => {
            out.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value,
              headers: headersOf(message.headers),
            });
            if (out.length >= total) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export interface Progress {
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
  readonly done: boolean;
}

export async function progress(kafka: Kafka, group: string, topic: string): Promise<Progress> {
  const [c, e] = await retrying('committed and end offsets', () =>
    Promise.all([committedOffsets(kafka, group, topic), endOffsets(kafka, topic)]),
  );
  let committed = 0;
  let end = 0;
  let done = true;
  for (const [p, high] of e) {
    const at = Math.max(0, Number(c.get(p) ?? -1));
    committed += at;
    end += Number(high);
    if (at < Number(high)) done = false;
  }
  return { committed, end, lag: end - committed, done };
}

/** Waits until the group's committed offsets equal the topic's end offsets; returns the ms it took. */
export async function untilCommitted(kafka: Kafka, group: string, topic: string, timeoutMs: number, onTick?: () => void): Promise<number> {
  const started = Date.now();
  let last: Progress | undefined;
  for (;;) {
    onTick?.();
    try {
      last = await progress(kafka, group, topic);
      if (last.done) return Date.now() - started;
    } catch {
      // the broker may be restarting: keep asking
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`group ${group} did not commit ${topic} to its end within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    }
    await sleep(250);
  }
}
