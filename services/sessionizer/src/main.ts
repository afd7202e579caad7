/**
 * The CLI, and the only place where adapters are wired together: configuration → ClickHouse
 * handle, sink, Kafka source → commands. Commands receive what they need; they build nothing.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { INPUT_FORMATS, type InputFormat } from '@sessionizer/core';
import {
  checkBrokerAccess,
  createKafkaClient,
  ensureTopic,
  groupProgress,
  KafkaJsDeadLetters,
  KafkaJsSource,
  produceAll,
  provisionKafka,
} from '@sessionizer/kafka';
import { generate } from '@sessionizer/generator';
import {
  ClickHouseSessionSink,
  createClickHouse,
  EmbeddedClickHouseLockedError,
  migrate,
  type ClickHouseHandle,
  type SchemaContext,
} from '@sessionizer/clickhouse';
import { ConfigError, loadConfig, settingFlags, settingsHelp, type Config, type Env, type SettingName } from './config.js';
import { createLogger, type Logger } from './log.js';
import { Progress } from './progress.js';
import { formatMigrationReport, runMigrate } from './commands/migrate.js';
import { runQuery } from './commands/query.js';
import { formatSummary, replay } from './commands/replay.js';
import { runUntilStopped, type Signals } from './commands/run.js';
import { formatSummary as formatDemoSummary, readSummary } from './commands/demo.js';
import { serveDashboard, untilSignal } from './commands/dashboard.js';
import { SessionConsumer } from './service/consumer.js';
import { DeadLetterQueue } from './service/dead-letter-queue.js';
import { Readiness } from './service/readiness.js';
import { reportWriteRetry } from './service/telemetry.js';
import { readEndpointFile, writeEndpointFile } from './service/endpoint-file.js';
import { startHttp, type HttpEndpoint } from './service/http.js';
import { overviewRoutes } from './overview/handler.js';
import { Metrics } from './service/metrics.js';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Env;
  readonly stderrIsTty: boolean;
  /** `demo` keeps serving the overview when both stdout and stderr are terminals. */
  readonly stdoutIsTty?: boolean;
  readonly signals: Signals;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const CLICKHOUSE: readonly SettingName[] = [
  'clickhouseUrl',
  'clickhouseUser',
  'clickhousePassword',
  'database',
  'dataDir',
  'cluster',
  'logLevel',
];
const MODEL: readonly SettingName[] = [
  'bounceThreshold',
  'channelRulesFile',
  'sessionIdTolerance',
  'sessionIdClientTolerance',
  'maxMessageBytes',
  'tokenTeams',
];
const FLUSH: readonly SettingName[] = ['flushInterval', 'flushMaxSessions', 'flushMaxBytes'];
const KAFKA: readonly SettingName[] = [
  'brokers',
  'topics',
  'groupId',
  'clientId',
  'dlqTopic',
  'dlqExcluded',
  'fromBeginning',
  'saslMechanism',
  'saslUsername',
  'saslPassword',
  'ssl',
  'sslCaFile',
  'sslRejectUnauthorized',
  'sessionTimeout',
  'heartbeatInterval',
  'rebalanceTimeout',
  'readyKafkaSilence',
];
const SERVICE: readonly SettingName[] = [
  ...KAFKA,
  ...CLICKHOUSE,
  ...MODEL,
  ...FLUSH,
  'retryMaxDelay',
  'metricsPort',
  'metricsHost',
  'shutdownTimeout',
];

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly settings: readonly SettingName[];
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly optionsHelp: string;
  run(args: { config: Config; values: Record<string, string | boolean | undefined>; positionals: string[]; io: Io }): Promise<number>;
}

function schemaOf(config: Config): SchemaContext {
  return {
    database: config.clickhouse.database,
    cluster: config.clickhouse.cluster,
    bounceThresholdSeconds: config.session.bounceThresholdSeconds,
    channelRules: config.session.channelRules,
  };
}

function openClickHouse(config: Config, database?: string): ClickHouseHandle {
  return createClickHouse({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    dataDir: config.clickhouse.dataDir,
    database,
  });
}

export interface Service {
  readonly consumer: SessionConsumer;
  readonly readiness: Readiness;
  readonly http: HttpEndpoint;
  readonly metrics: Metrics;
  readonly clickhouse: ClickHouseHandle;
  close(): Promise<void>;
}

function normalizeOptionsOf(config: Config) {
  return {
    limits: { maxMessageBytes: config.session.maxMessageBytes, maxUrlLength: 8_192, maxFieldLength: 1_024 },
    sessionIdToleranceMs: config.session.sessionIdToleranceMs,
    sessionIdClientToleranceMs: config.session.sessionIdClientToleranceMs,
    tokenTeams: config.session.tokenTeams,
  };
}

/** Wire the service: ClickHouse (migrated), Kafka source and dead letters, sink, consumer, HTTP. */
export async function startService(
  config: Config,
  deps: { brokers: string; log: Logger; clickhouse?: ClickHouseHandle },
): Promise<Service> {
  const { log } = deps;
  // A handle passed in (tests, the demo) stays open: its owner closes it.
  const ch = deps.clickhouse ?? (await openClickHouseWaiting(config, log));
  const closeClickHouse = deps.clickhouse === undefined ? () => ch.close() : () => Promise.resolve();
  try {
    const schema = schemaOf(config);
    await migrate(ch.client, schema, {
      log: (m) => {
        log.info(m);
      },
    });
    // Ad-hoc reads through the /query endpoint see the database's tables unqualified.
    if (ch.transport === 'embedded') await ch.client.command({ query: `USE ${config.clickhouse.database}` });
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
    const kafkaLog = log.child({ component: 'kafka' });
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
      kafkaSilenceMs: config.kafka.readySilenceMs,
      metrics,
      log: log.child({ component: 'readiness' }),
    });
    // ClickHouse and the dead-letter topic back off alike, up to CLICKHOUSE_RETRY_MAX_DELAY_MS.
    const retry = { maxAttempts: Infinity, initialDelayMs: 200, maxDelayMs: config.clickhouse.retryMaxDelayMs };
    const sinkLog = log.child({ component: 'sink' });
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
            readiness,
            metrics,
            log: log.child({ component: 'dead-letters' }),
          });
    const consumer = new SessionConsumer({
      source,
      sink,
      deadLetters,
      formats: new Map(config.kafka.topics.map((t) => [t.topic, t.format])),
      normalize: normalizeOptionsOf(config),
      policy: config.flush,
      dlqExcluded: config.kafka.dlqExcluded,
      readiness,
      metrics,
      log: log.child({ component: 'consumer' }),
      now,
    });
    readiness.watch(source);
    const http = await startHttp({
      host: config.http.host,
      port: config.http.port,
      metrics,
      log: log.child({ component: 'http' }),
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
      query: ch.transport === 'embedded' ? { client: ch.client, database: config.clickhouse.database } : undefined,
      // Reads through the service's own connection: on the embedded engine no other process can.
      overview: overviewRoutes({ client: ch.client, database: config.clickhouse.database, log: log.child({ component: 'overview' }) }),
    });
    // Only the process that opened the data directory announces itself as its reader.
    const removeEndpoint =
      ch.transport === 'embedded' && deps.clickhouse === undefined
        ? writeEndpointFile(config.clickhouse.dataDir, { pid: process.pid, url: http.url })
        : () => undefined;
    log.info('sessionizer configured', {
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

/**
 * Open ClickHouse; on the embedded engine, wait a while for a directory held by another process
 * (typically a short `sessionizer query` or `migrate`) instead of failing the service at once.
 */
async function openClickHouseWaiting(config: Config, log: Logger, waitMs = 30_000): Promise<ClickHouseHandle> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return openClickHouse(config);
    } catch (err) {
      if (!(err instanceof EmbeddedClickHouseLockedError) || Date.now() > deadline) throw err;
      if (attempt === 1)
        log.warn('data directory held by another process; waiting for it', { dataDir: err.dataDir, pid: err.holderPid ?? null, waitMs });
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * attempt)));
    }
  }
}

const COMMANDS: Record<string, Command> = {
  migrate: {
    summary: 'apply the ClickHouse schema migrations (idempotent)',
    usage: 'sessionizer migrate [options]',
    settings: [...CLICKHOUSE, 'bounceThreshold', 'channelRulesFile'],
    options: {},
    optionsHelp: '',
    async run({ config, io }) {
      const ch = openClickHouse(config);
      try {
        io.stdout.write(formatMigrationReport(await runMigrate(ch.client, schemaOf(config))));
        return 0;
      } finally {
        await ch.close();
      }
    },
  },
  replay: {
    summary: 'read NDJSON events from a file or stdin through the pipeline into ClickHouse',
    usage: 'sessionizer replay [FILE|-] --format posthog-events|posthog-capture [options]',
    settings: [...CLICKHOUSE, ...MODEL, ...FLUSH],
    options: {
      format: { type: 'string', short: 'f' },
      rejects: { type: 'string' },
      json: { type: 'boolean' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
    optionsHelp: [
      `  --format, -f FORMAT      input format: ${INPUT_FORMATS.join(' or ')} (default posthog-events)`,
      '  --rejects FILE           write rejected lines as NDJSON {line, reason, message, raw}',
      '  --json                   print the summary as JSON on stdout',
      '  --progress / --no-progress  force the progress bar on stderr on/off (default: on when stderr is a TTY)',
    ].join('\n'),
    async run({ config, values, positionals, io }) {
      const format = (values['format'] ?? 'posthog-events') as string;
      if (!(INPUT_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`--format '${format}' is not one of ${INPUT_FORMATS.join(', ')}`);
      }
      if (positionals.length > 1) throw new UsageError(`replay takes one input, got ${positionals.length}`);
      const input = positionals[0] ?? '-';
      const ch = openClickHouse(config);
      try {
        const schema = schemaOf(config);
        await migrate(ch.client, schema);
        const log = createLogger(config.log.level, (l) => io.stderr.write(l));
        const sink = new ClickHouseSessionSink(ch.client, {
          schema,
          onRetry: (error, attempt, delayMs) => {
            log.warn('ClickHouse write failed, retrying', { error, attempt, delayMs });
          },
        });
        const showProgress = values['no-progress'] === true ? false : values['progress'] === true || io.stderrIsTty;
        const summary = await replay({
          input,
          stdin: io.stdin,
          format: format as InputFormat,
          normalize: normalizeOptionsOf(config),
          sink,
          policy: config.flush,
          rejectsPath: values['rejects'] as string | undefined,
          progress: new Progress(showProgress, (s) => io.stderr.write(s)),
        });
        io.stdout.write(values['json'] === true ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
        return 0;
      } finally {
        await ch.close();
      }
    },
  },
  run: {
    summary: 'the service: consume Kafka, sessionize, write to ClickHouse, commit',
    usage: 'sessionizer run [options]',
    settings: SERVICE,
    options: {},
    optionsHelp: '',
    async run({ config, io }) {
      if (config.kafka.brokers === undefined) {
        throw new UsageError('KAFKA_BROKERS (--brokers) is required; `sessionizer demo` starts a local broker for you');
      }
      const log = createLogger(config.log.level, (l) => io.stderr.write(l));
      const service = await startService(config, { brokers: config.kafka.brokers, log });
      return runUntilStopped({
        consumer: service.consumer,
        log,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        signals: io.signals,
        cleanup: () => service.close(),
      });
    },
  },
  demo: {
    summary: 'the main job end to end: a broker (local if none), sample traffic, the service, a summary',
    usage: 'sessionizer demo [--events N] [options]',
    settings: SERVICE.filter((n) => n !== 'topics' && n !== 'groupId'),
    options: {
      events: { type: 'string' },
      partitions: { type: 'string' },
      seed: { type: 'string' },
    },
    optionsHelp: [
      '  --events N               sample messages to generate and feed (default 20000)',
      '  --partitions N           partitions of the demo topic (default 3)',
      '  --seed N                 generator seed (default: the current time)',
      '',
      'Without KAFKA_BROKERS a broker is started for the run (Docker if an engine answers, else',
      'the native Apache Kafka from infra/kafka, fetched with Maven on first use) and stopped after.',
    ].join('\n'),
    async run({ config, values, io }) {
      const events = Number(values['events'] ?? 20_000);
      const partitions = Number(values['partitions'] ?? 3);
      const seed = Number(values['seed'] ?? Date.now() % 1_000_000_007);
      if (!Number.isInteger(events) || events < 1)
        throw new UsageError(`--events must be a positive integer, got '${String(values['events'])}'`);
      if (!Number.isInteger(partitions) || partitions < 1) throw new UsageError(`--partitions must be a positive integer`);
      if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
      const say = (m: string): void => {
        io.stderr.write(`demo: ${m}\n`);
      };
      // The service's own logs stay quiet unless asked for.
      const explicitLevel = io.env['LOG_LEVEL'] !== undefined || values['log-level'] !== undefined;
      const log = createLogger(explicitLevel ? config.log.level : 'warn', (l) => io.stderr.write(l));
      const kafka = await provisionKafka({ brokers: config.kafka.brokers, log: say });
      if (kafka.source === 'env') say(`Kafka: ${kafka.description}`);
      let kafkaStopped: Promise<void> | undefined;
      const stopKafka = (): Promise<void> => (kafkaStopped ??= kafka.stop());
      try {
        const brokers = kafka.brokers.join(',');
        const client = createKafkaClient({
          brokers,
          clientId: 'sessionizer-demo',
          sasl: config.kafka.sasl,
          ssl: config.kafka.ssl,
          sslCaFile: config.kafka.sslCaFile,
          sslRejectUnauthorized: config.kafka.sslRejectUnauthorized,
        });
        const topic = `sessionizer_demo_${Date.now().toString(36)}`;
        await ensureTopic(client, topic, partitions);
        say(`topic ${topic} (${partitions} partitions): producing ${events} generated PostHog events (seed ${seed})…`);
        const sent = await produceAll(
          client,
          topic,
          generate({
            seed,
            format: 'posthog-events',
            events,
            startMs: Date.now() - 30 * 60_000,
            rates: { outOfOrder: 0.05, duplicates: 0.02, invalid: 0.005, noSessionId: 0.01 },
          }),
        );
        const demoConfig: Config = {
          ...config,
          kafka: {
            ...config.kafka,
            brokers,
            topics: [{ topic, format: 'posthog-events' }],
            groupId: topic,
            dlqTopic: config.kafka.dlqTopic ?? `${topic}_dlq`,
            fromBeginning: true,
          },
          flush: { ...config.flush, intervalMs: Math.min(config.flush.intervalMs, 1_000) },
        };
        const started = performance.now();
        const service = await startService(demoConfig, { brokers, log });
        try {
          say(`running the sessionizer (metrics on ${service.http.url}/metrics) until everything is committed…`);
          await service.consumer.start();
          const deadline = Date.now() + 10 * 60_000;
          for (;;) {
            if (service.consumer.failure !== undefined) throw service.consumer.failure;
            const { committed, end } = await groupProgress(client, topic, topic);
            if ([...end].every(([p, e]) => (committed.get(p) ?? -1n) >= e)) break;
            if (Date.now() > deadline) throw new Error('the demo stream was not consumed within 10 minutes');
            await new Promise((r) => setTimeout(r, 300));
          }
          const seconds = (performance.now() - started) / 1000;
          if (!(await service.consumer.stop(config.shutdownTimeoutMs))) throw new Error('the service did not stop cleanly');
          const summary = await readSummary(service.clickhouse.client, config.clickhouse.database);
          io.stdout.write(
            formatDemoSummary(summary, { events: sent, seconds, database: config.clickhouse.database, target: service.clickhouse.target }),
          );
          const metricsText = await service.metrics.registry.metrics();
          const total = (name: string): number =>
            metricsText
              .split('\n')
              .filter((l) => l.startsWith(name))
              .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
          say(
            `${total('sessionizer_aggregated_events_total')} events aggregated, ${total('sessionizer_excluded_events_total')} excluded by a session rule, ` +
              `${total('sessionizer_dead_lettered_events_total')} invalid ones dead-lettered to ${demoConfig.kafka.dlqTopic ?? '(none)'}`,
          );
          io.stdout.write(`web analytics overview: ${service.http.url}/\n`);
          // On a terminal, keep the page up (the broker is no longer needed); scripts and CI end here.
          if (io.stdoutIsTty === true && io.stderrIsTty) {
            await stopKafka();
            say(`serving the overview at ${service.http.url}/ until Ctrl-C…`);
            await untilSignal(io.signals);
          }
        } finally {
          await service.consumer.stop(5_000);
          await service.close();
        }
        return 0;
      } finally {
        await stopKafka();
      }
    },
  },
  dashboard: {
    summary: 'serve the web analytics overview for a data directory or a ClickHouse server (no service running)',
    usage: 'sessionizer dashboard [--port P] [--host H] [options]',
    settings: CLICKHOUSE,
    options: { port: { type: 'string' }, host: { type: 'string' } },
    optionsHelp: [
      '  --port P                 port to serve on (default 8787; 0 picks a free one)',
      '  --host H                 address to bind (default 127.0.0.1)',
      '',
      'While `sessionizer run` holds an embedded data directory, it serves this page itself at / on its HTTP port.',
    ].join('\n'),
    async run({ config, values, io }) {
      const port = Number(values['port'] ?? 8787);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError(`--port must be a port number, got '${String(values['port'])}'`);
      return serveDashboard({
        open: () => openClickHouse(config),
        dataDir: config.clickhouse.dataDir,
        database: config.clickhouse.database,
        host: (values['host'] as string | undefined) ?? '127.0.0.1',
        port,
        log: createLogger(config.log.level, (l) => io.stderr.write(l)),
        stdout: io.stdout,
        stderr: io.stderr,
        signals: io.signals,
      });
    },
  },
  query: {
    summary: 'run SQL against the configured ClickHouse and print JSONEachRow',
    usage: 'sessionizer query "SQL" [options]',
    settings: CLICKHOUSE,
    options: {},
    optionsHelp: '',
    async run({ config, positionals, io }) {
      const sql = positionals.join(' ').trim();
      if (sql === '')
        throw new UsageError('query needs SQL, e.g. sessionizer query "SELECT channel_type, count() FROM sessions GROUP BY 1"');
      let ch: ClickHouseHandle;
      try {
        ch = openClickHouse(config);
      } catch (err) {
        // The embedded engine is held by a running `sessionizer run`: read through its endpoint.
        if (err instanceof EmbeddedClickHouseLockedError) {
          const endpoint = readEndpointFile(config.clickhouse.dataDir);
          if (endpoint !== undefined && (await forwardQuery(endpoint.url, sql, io.stdout))) return 0;
        }
        throw err;
      }
      try {
        const rs = await ch.client.query({
          query: 'SELECT count() AS n FROM system.databases WHERE name = {db:String}',
          query_params: { db: config.clickhouse.database },
          format: 'JSONEachRow',
        });
        const exists = ((await rs.json<{ n: number }>())[0]?.n ?? 0) > 0;
        if (exists) {
          if (ch.transport === 'embedded') await ch.client.command({ query: `USE ${config.clickhouse.database}` });
          else {
            await ch.close();
            ch = openClickHouse(config, config.clickhouse.database);
          }
        }
        try {
          await runQuery(ch.client, sql, io.stdout);
        } catch (err) {
          if (!exists && (err as { code?: unknown }).code === '60') {
            throw new UsageError(
              `database ${config.clickhouse.database} does not exist yet in ${ch.target}: run \`sessionizer migrate\`, \`replay\` or \`run\` first`,
            );
          }
          throw err;
        }
        return 0;
      } finally {
        await ch.close();
      }
    },
  },
};

/** POST the SQL to a running service's loopback endpoint; false when nothing answers there. */
async function forwardQuery(url: string, sql: string, out: Writable): Promise<boolean> {
  let res: Response;
  try {
    res = await fetch(`${url}/query`, { method: 'POST', body: sql, headers: { 'content-type': 'text/plain' } });
  } catch {
    return false;
  }
  const text = await res.text();
  if (res.status === 400) throw new UsageError(`the running service refused the query: ${text.trim()}`);
  if (!res.ok) throw new Error(`query failed: ${text.trim()}`);
  const exception = /^\{"exception":(.*)\}$/m.exec(text);
  if (exception?.[1] !== undefined) throw new Error(`query failed: ${String(JSON.parse(exception[1]))}`);
  out.write(text);
  return true;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'sessionizer: streaming sessionization of PostHog events from Kafka into ClickHouse',
    '',
    'usage: sessionizer <command> [options]   (sessionizer <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Without --clickhouse/CLICKHOUSE_URL the embedded ClickHouse engine stores data in --data-dir',
    '(default ./.sessionizer); it allows one process at a time.',
    '',
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  return [
    c.usage,
    '',
    c.summary,
    '',
    ...(c.optionsHelp === '' ? [] : ['options:', c.optionsHelp, '']),
    'settings (flag, environment variable):',
    settingsHelp(c.settings),
    '  --help, -h               show this help',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`sessionizer: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...settingFlags(command.settings), ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values['help'] === true) {
      io.stdout.write(commandHelp(name, command));
      return 0;
    }
    const config = loadConfig(values, io.env);
    return await command.run({ config, values, positionals, io });
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr.write(`sessionizer ${name}: ${err.message}\n(see sessionizer ${name} --help)\n`);
      return 2;
    }
    if (err instanceof EmbeddedClickHouseLockedError) {
      io.stderr.write(`sessionizer ${name}: ${err.message}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`sessionizer ${name}: ${message}\n`);
    return 1;
  }
}
