/** A kafkajs client from our settings: brokers, SASL (PLAIN, SCRAM), TLS, logs into ours. */
import { readFileSync } from 'node:fs';
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import { parseBrokers } from './brokers.js';

const { Kafka, logLevel } = kafkajs;

export interface KafkaClientOptions {
  readonly brokers: string;
  readonly clientId: string;
  readonly sasl?:
    { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string } | undefined;
  readonly ssl?: boolean | undefined;
  readonly sslCaFile?: string | undefined;
  readonly sslRejectUnauthorized?: boolean | undefined;
  /** Retries of a failed request or connection (default 8, over ~60 s); 0 for a probe. */
  readonly retries?: number | undefined;
  /** Receives kafkajs's own log lines (warn and above). */
  readonly log?: ((level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: Record<string, unknown>) => void) | undefined;
}

export function createKafkaClient(o: KafkaClientOptions): InstanceType<typeof Kafka> {
  const levels = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' } as const;
  const config: KafkaConfig = {
    clientId: o.clientId,
    brokers: parseBrokers(o.brokers),
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: o.retries ?? 8, maxRetryTime: 30_000 },
    logLevel: o.log === undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      // kafkajs logs every protocol error response at ERROR (a rebalance in progress, a topic
      // still being created…) and then retries it; those are routine: debug level for us.
      const routine = entry.namespace === 'Connection' && message.startsWith('Response ');
      const level = routine ? 'debug' : levels[entry.level as keyof typeof levels];
      o.log?.(level, `kafkajs ${entry.namespace}: ${message}`, extra);
    },
  };
  if (o.ssl === true) {
    config.ssl = {
      rejectUnauthorized: o.sslRejectUnauthorized ?? true,
      ...(o.sslCaFile === undefined ? {} : { ca: [readFileSync(o.sslCaFile, 'utf8')] }),
    };
  }
  if (o.sasl !== undefined) {
    config.sasl = { mechanism: o.sasl.mechanism, username: o.sasl.username, password: o.sasl.password } as SASLOptions;
  }
  return new Kafka(config);
}
