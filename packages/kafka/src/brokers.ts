/** Broker addresses: parse the `KAFKA_BROKERS` list, and probe whether the brokers answer. */
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

/** Parse `host:port[,host:port…]` into a list, rejecting anything else with a clear message. */
export function parseBrokers(value: string, key = 'KAFKA_BROKERS'): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw new Error(`${key} is empty; expected host:port[,host:port…]`);
  for (const b of brokers) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^\s:/]+):(\d{1,5})$/.exec(b);
    const port = m?.[2] === undefined ? NaN : Number(m[2]);
    if (!m || !(port > 0 && port < 65536)) {
      throw new Error(`${key} has an invalid broker '${b}'; expected host:port[,host:port…]`);
    }
  }
  return brokers;
}

/**
 * Resolve when the brokers answer a metadata request, or reject with the underlying reason.
 * Uses no retries beyond the given timeout: this is a probe, not a client.
 */
export async function probeBrokers(brokers: readonly string[], timeoutMs = 5_000): Promise<void> {
  const kafka = new Kafka({
    clientId: 'sessionizer-probe',
    brokers: [...brokers],
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}
