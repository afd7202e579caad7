/**
 * The service, wired: ClickHouse (migrated), the Kafka source, the dead-letter queue, the sink,
 * the readiness tracker, the consumer loop and the HTTP endpoints. `sessionizer run` and `demo`
 * start it; so do the integration and fault tests.
 */
import { checkBrokerAccess, createKafkaClient, KafkaJsDeadLetters, KafkaJsSource } from '@sessionizer/kafka';
import { ClickHouseServerSessionStore, ClickHouseSessionSink, migrate, sleep, type ClickHouseHandle } from '@sessionizer/clickhouse';
import type { Config } from '../config.js';
import { componentLog, type Logger } from '../log.js';
import { overviewRoutes } from '../overview/handler.js';
import { normalizeOptionsOf, openClickHouseWaiting, schemaOf, serverSessionStageOf, writeRetryPolicy } from '../wiring.js';
import { SessionConsumer } from './consumer.js';
import { FlushGc } from './heap-gc.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { writeEndpointFile } from './endpoint-file.js';
import { startHttp, type HttpEndpoint } from './http.js';
import { Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { reportWriteRetry } from './telemetry.js';

export interface Service {
  readonly consumer: SessionConsumer;
  readonly readiness: Readiness;
  readonly http: HttpEndpoint;
  readonly metrics: Metrics;
  readonly clickhouse: ClickHouseHandle;
  close(): Promise<void>;
}

/** Wire the service: ClickHouse (migrated), Kafka source and dead letters, sink, consumer, HTTP. */
export async function startService(
  config: Config,
  deps: { brokers: string; log: Logger; clickhouse?: ClickHouseHandle },
): Promise<Service> {
  const { log } = deps;
  // A handle passed in (tests, the demo) stays open: its owner closes it.
  const ch = deps.clickhouse ?? (await openClickHouseWaiting(config, componentLog(log, 'clickhouse')));
  const closeOwn = deps.clickhouse === undefined ? () => ch.close() : () => Promise.resolve();
  // Reads (/query, the overview) go through a session of their own, so that on the embedded
  // engine they do not wait behind the sink's in-flight insert on the writing connection.
  let reader: ClickHouseHandle | undefined;
  const closeClickHouse = async (): Promise<void> => {
    await reader?.close();
    await closeOwn();
  };
  try {
    const schema = schemaOf(config);
    const migrateLog = componentLog(log, 'migrate');
    await migrate(ch.client, schema, {
      log: (m) => {
        migrateLog.info(m);
      },
    });
    // Ad-hoc reads through the /query endpoint see the database's tables unqualified.
    reader = ch.readSession();
    if (ch.transport === 'embedded') await reader.client.command({ query: `USE ${config.clickhouse.database}` });
    const kafkaOptions = {
      brokers: deps.brokers,
      clientId: config.kafka.clientId,
      sasl: config.kafka.sasl,
      ssl: config.kafka.ssl,
      sslCaFile: config.kafka.sslCaFile,
      sslRejectUnauthorized: config.kafka.sslRejectUnauthorized,
    };
    // Wrong credentials, an untrusted certificate or the wrong protocol for the port fail the
    // start at once with what to fix, instead of kafkajs's minute of retries (and, in a running
    // consumer, restarts forever).
    await checkBrokerAccess(createKafkaClient({ ...kafkaOptions, retries: 0 }), {
      brokers: deps.brokers,
      ssl: config.kafka.ssl,
      sasl: config.kafka.sasl,
    });
    const kafkaLog = componentLog(log, 'kafka');
    const kafka = createKafkaClient({
      ...kafkaOptions,
      log: (level, message, extra) => {
        kafkaLog[level === 'debug' ? 'debug' : level](message, extra);
      },
    });
    const metrics = new Metrics();
    const now = (): number => performance.now();
    const readiness = new Readiness({
      now,
      kafkaSilenceMs: config.ready.kafkaSilenceMs,
      metrics,
      log: componentLog(log, 'readiness'),
    });
    const retry = writeRetryPolicy(config);
    const sinkLog = componentLog(log, 'sink');
    const sink = new ClickHouseSessionSink(ch.client, {
      schema,
      retry,
      onRetry: (error, attempt, delayMs) => {
        sinkLog.warn('ClickHouse write failed, retrying', { error, attempt, delayMs });
        reportWriteRetry(metrics, readiness, error);
      },
    });
    const source = new KafkaJsSource(kafka, {
      groupId: config.kafka.groupId,
      topics: config.kafka.topics.map((t) => t.topic),
      fromBeginning: config.kafka.fromBeginning,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      rebalanceTimeoutMs: config.kafka.rebalanceTimeoutMs,
    });
    const deadLetters =
      config.kafka.dlqTopic === undefined
        ? undefined
        : new DeadLetterQueue({
            sink: new KafkaJsDeadLetters(kafka, config.kafka.dlqTopic),
            retry,
            random: Math.random,
            sleep,
            readiness,
            metrics,
            log: componentLog(log, 'dead-letters'),
          });
    const consumer = new SessionConsumer({
      source,
      sink,
      deadLetters,
      formats: new Map(config.kafka.topics.map((t) => [t.topic, t.format])),
      normalize: normalizeOptionsOf(config),
      serverSessions: serverSessionStageOf(config, {
        metrics,
        log: componentLog(log, 'server-sessions'),
        store: new ClickHouseServerSessionStore(ch.client, {
          schema,
          retry,
          onRetry: (error, attempt, delayMs) => {
            sinkLog.warn('ClickHouse server session state failed, retrying', { error, attempt, delayMs });
            reportWriteRetry(metrics, readiness, error);
          },
        }),
      }),
      policy: config.flush,
      heapGc: new FlushGc({ minOldSpaceBytes: config.flush.gcOldSpaceMib * 2 ** 20 }),
      dlqExcluded: config.kafka.dlqExcluded,
      readiness,
      metrics,
      log: componentLog(log, 'consumer'),
      now,
    });
    readiness.watch(source);
    const http = await startHttp({
      host: config.metrics.host,
      port: config.metrics.port,
      metrics,
      log: componentLog(log, 'http'),
      health: () => ({
        healthy: consumer.healthy,
        ready: readiness.ready,
        detail: {
          state: consumer.state,
          paused: consumer.paused,
          kafkaContactAgeMs: readiness.kafkaContactAgeMs,
          notReadyBecause: readiness.notReadyBecause,
        },
      }),
      query: ch.transport === 'embedded' ? { client: reader.client, database: config.clickhouse.database } : undefined,
      // Reads in this process: on the embedded engine no other process can.
      overview: overviewRoutes({ client: reader.client, database: config.clickhouse.database, log: componentLog(log, 'overview') }),
    });
    // Only the process that opened the data directory announces itself as its reader.
    const removeEndpoint =
      ch.transport === 'embedded' && deps.clickhouse === undefined
        ? writeEndpointFile(config.clickhouse.dataDir, { pid: process.pid, url: http.url })
        : () => undefined;
    componentLog(log, 'service').info('sessionizer configured', {
      clickhouse: ch.target,
      database: config.clickhouse.database,
      brokers: deps.brokers,
      topics: config.kafka.topics,
      groupId: config.kafka.groupId,
      dlqTopic: config.kafka.dlqTopic ?? null,
      http: http.url,
    });
    return {
      consumer,
      readiness,
      http,
      metrics,
      clickhouse: ch,
      close: async () => {
        removeEndpoint();
        await http.close();
        await closeClickHouse();
      },
    };
  } catch (err) {
    await closeClickHouse();
    throw err;
  }
}
