/**
 * `sessionizer demo`: the main job end to end on a fresh machine. It gets a broker (KAFKA_BROKERS,
 * else a local one), creates a topic, feeds it realistic generated PostHog traffic, runs the
 * service until everything is committed, stops it cleanly, and prints a summary read back from
 * the `sessions` view.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createKafkaClient, ensureTopic, groupProgress, produceAll, provisionKafka } from '@sessionizer/kafka';
import { generate } from '@sessionizer/generator';
import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { startService } from '../service/start.js';
import { SERVICE, UsageError, type Command } from './command.js';
import { untilSignal } from './dashboard.js';

export interface DemoSummary {
  readonly totals: { sessions: number; avg_duration_s: number; bounce_rate_pct: number | null; pageviews: number };
  readonly channels: { channel_type: string; sessions: number; bounce_rate_pct: number | null }[];
  readonly entryPaths: { entry_pathname: string | null; sessions: number }[];
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function readSummary(client: ClickHouseClient, database: string): Promise<DemoSummary> {
  const [totals] = await rows<DemoSummary['totals']>(
    client,
    `SELECT count() AS sessions, round(avg(session_duration), 1) AS avg_duration_s,
            round(100 * countIf(is_bounce) / nullIf(countIf(is_bounce IS NOT NULL), 0), 1) AS bounce_rate_pct,
            sum(pageview_count) AS pageviews
     FROM ${database}.sessions`,
  );
  const channels = await rows<DemoSummary['channels'][number]>(
    client,
    `SELECT channel_type, count() AS sessions,
            round(100 * countIf(is_bounce) / nullIf(countIf(is_bounce IS NOT NULL), 0), 1) AS bounce_rate_pct
     FROM ${database}.sessions GROUP BY channel_type ORDER BY sessions DESC, channel_type`,
  );
  const entryPaths = await rows<DemoSummary['entryPaths'][number]>(
    client,
    `SELECT entry_pathname, count() AS sessions FROM ${database}.sessions
     GROUP BY entry_pathname ORDER BY sessions DESC, entry_pathname LIMIT 5`,
  );
  return { totals: totals ?? { sessions: 0, avg_duration_s: 0, bounce_rate_pct: null, pageviews: 0 }, channels, entryPaths };
}

export function formatSummary(s: DemoSummary, context: { events: number; seconds: number; database: string; target: string }): string {
  const pct = (v: number | null): string => (v === null ? '—' : `${v}%`);
  const lines = [
    '',
    `sessions summary (${context.database} on ${context.target})`,
    `  ${context.events} events consumed in ${context.seconds.toFixed(1)} s`,
    `  sessions: ${s.totals.sessions}   pageviews: ${s.totals.pageviews}   avg duration: ${s.totals.avg_duration_s} s   bounce rate: ${pct(s.totals.bounce_rate_pct)}`,
    '',
    '  channel_type            sessions  bounce',
    ...s.channels.map((c) => `  ${c.channel_type.padEnd(22)} ${String(c.sessions).padStart(9)}  ${pct(c.bounce_rate_pct).padStart(6)}`),
    '',
    '  top entry paths         sessions',
    ...s.entryPaths.map((p) => `  ${(p.entry_pathname ?? '(none)').slice(0, 22).padEnd(22)} ${String(p.sessions).padStart(9)}`),
    '',
    'query it yourself, e.g.:',
    `  npx sessionizer query "SELECT channel_type, count() AS sessions, avg(session_duration) FROM sessions GROUP BY channel_type"`,
    '',
  ];
  return lines.join('\n');
}

export const demoCommand: Command = {
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
          formatSummary(summary, { events: sent, seconds, database: config.clickhouse.database, target: service.clickhouse.target }),
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
};
