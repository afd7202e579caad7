import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaBrokers, kafkaSource } from '../support/context.js';
import { uniqueName } from '../support/names.js';

const { Kafka, logLevel } = kafkajs;

describe('the provided Kafka broker', () => {
  it('round-trips messages through a topic with several partitions', async () => {
    const brokers = kafkaBrokers();
    console.log(`Kafka from ${kafkaSource()} at ${brokers.join(',')}`);
    const kafka = new Kafka({ clientId: 'foundation-test', brokers, logLevel: logLevel.NOTHING });
    const topic = uniqueName('foundation');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 17}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('foundation') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Set<number>();
    const partitions = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            partitions.add(partition);
            const body = JSON.parse(message.value?.toString() ?? 'null') as { i: number };
            seen.add(body.i);
            if (seen.size === sent.length) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();

    console.log(`produced and consumed ${seen.size} messages over ${partitions.size} partitions of ${topic}`);
    expect(seen.size).toBe(300);
    expect(partitions.size).toBe(3);
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(300);
  });
});
