/**
 * A paced background producer for the fault-injection suite that survives broker outages: a
 * failed send is retried (with a fresh producer) until it succeeds, so every message ends in the
 * topic at least once. A retried send may write a batch twice; duplicates carry the same event
 * uuid and merge idempotently, and the oracle is computed over what the topic really holds.
 */
import { generate, type GeneratorOptions } from '@sessionizer/generator';
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { sleep } from './wait.js';

const { Partitioners } = kafkajs;

export interface Outgoing {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Record<string, string | Buffer>;
}

export interface BackgroundProducer {
  /** Messages acknowledged so far. */
  sent(): number;
  /** Failed sends that were retried. */
  failures(): number;
  /** Resolves when every message is acknowledged. */
  readonly done: Promise<{ sent: number; failures: number; ms: number }>;
  /** Stop early (the rest is not sent). */
  stop(): void;
}

/** Realistic traffic from the generator (posthog-events), keyed like PostHog's capture. */
export function generated(options: Omit<GeneratorOptions, 'format'>): Outgoing[] {
  return [...generate({ ...options, format: 'posthog-events' })].map((m) => ({ key: m.key, value: m.value }));
}

export function backgroundProducer(
  kafka: Kafka,
  topic: string,
  messages: readonly Outgoing[],
  o: { rate: number; batch?: number },
): BackgroundProducer {
  const batch = o.batch ?? 100;
  let sent = 0;
  let failures = 0;
  const state = { stopped: false };
  const stopped = (): boolean => state.stopped;
  const started = Date.now();
  const done = (async () => {
    let producer: Producer | undefined;
    try {
      for (let i = 0; i < messages.length && !stopped(); i += batch) {
        const slice = messages.slice(i, i + batch);
        for (;;) {
          try {
            if (producer === undefined) {
              producer = kafka.producer({
                createPartitioner: Partitioners.DefaultPartitioner,
                retry: { retries: 3, initialRetryTime: 200 },
              });
              await producer.connect();
            }
            await producer.send({
              topic,
              acks: -1,
              messages: slice.map((m) => ({ key: m.key, value: m.value, ...(m.headers === undefined ? {} : { headers: m.headers }) })),
            });
            break;
          } catch {
            failures += 1;
            const p = producer;
            producer = undefined;
            await p?.disconnect().catch(() => undefined);
            if (stopped()) return;
            await sleep(500);
          }
        }
        sent += slice.length;
        // pace: where we should be at this rate
        const due = started + (sent / o.rate) * 1_000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    } finally {
      await producer?.disconnect().catch(() => undefined);
    }
  })().then(() => ({ sent, failures, ms: Date.now() - started }));
  return {
    sent: () => sent,
    failures: () => failures,
    done,
    stop: () => {
      state.stopped = true;
    },
  };
}
