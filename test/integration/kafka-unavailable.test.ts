import { describe, expect, it } from 'vitest';
import { KafkaUnavailableError, provisionKafka } from '@sessionizer/kafka';
import { freePort } from '@sessionizer/kafka/testing';

describe('when no Kafka broker can be had', () => {
  it('fails on an unreachable KAFKA_BROKERS, naming it, without falling through', async () => {
    const port = await freePort(); // nothing listens there
    const err = await provisionKafka({ brokers: `127.0.0.1:${port}`, probeTimeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaUnavailableError);
    const e = err as KafkaUnavailableError;
    expect(e.attempts).toHaveLength(1);
    expect(e.message).toContain(`KAFKA_BROKERS=127.0.0.1:${port} is not reachable`);
    expect(e.message).toMatch(/install Java 17 and Maven/);
  });

  it('fails with every attempt listed when neither Docker nor the native broker works', async () => {
    const err = await provisionKafka({ docker: false, infraDir: '/nonexistent/infra/kafka' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaUnavailableError);
    const e = err as KafkaUnavailableError;
    expect(e.attempts.map((a) => a.source)).toEqual(['env', 'testcontainers', 'native']);
    expect(e.message).toContain('KAFKA_BROKERS is not set');
    expect(e.message).toContain('native: infra/kafka/start.sh failed');
    expect(e.message).toContain('set KAFKA_BROKERS=host:port');
  });

  it('rejects a malformed KAFKA_BROKERS with the key in the message', async () => {
    await expect(provisionKafka({ brokers: 'localhost' })).rejects.toThrow(/KAFKA_BROKERS has an invalid broker 'localhost'/);
  });
});
