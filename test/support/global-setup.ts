/**
 * Integration global setup: provide a Kafka broker to every test file, or fail the run.
 * Order: KAFKA_BROKERS if set; testcontainers if a Docker engine answers; the native broker
 * from infra/kafka/. Never skips: if none works, the whole integration run fails with a
 * message that says what was tried and what to install.
 */
import type { TestProject } from 'vitest/node';
import { provisionKafka } from '@sessionizer/kafka';
import './context.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kafka = await provisionKafka({
    brokers: process.env['KAFKA_BROKERS'],
    log: (m) => {
      console.log(m);
    },
  });
  console.log(`integration tests use Kafka from ${kafka.description}`);
  project.provide('kafkaBrokers', kafka.brokers);
  project.provide('kafkaSource', kafka.source);
  return async () => {
    await kafka.stop();
  };
}
