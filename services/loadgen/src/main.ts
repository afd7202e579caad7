/**
 * The loadgen CLI: flags → generator → (rate limiter, batches) → Kafka topic or NDJSON file,
 * then a JSON summary. This file is the wiring; the parts live in args, run, sinks, progress.
 */
import type { Writable } from 'node:stream';
import { generate, type GeneratedMessage } from '@sessionizer/generator';
import { parseCli, USAGE, UsageError, type Config } from './args.js';
import { systemClock } from './clock.js';
import { Progress } from './progress.js';
import { TokenBucket } from './rate-limiter.js';
import { produce, type ProduceStats, type Sink } from './run.js';
import { FileSink, KafkaSink, TargetError } from './sinks.js';

export interface Io {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stderrIsTty: boolean;
  /** Aborted on Ctrl-C: stop generating, send what is pending, print the summary. */
  readonly signal?: AbortSignal;
}

export interface Summary {
  readonly events: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly byKind: ProduceStats['byKind'];
  readonly format: Config['format'];
  readonly seed: number;
  readonly target: string;
  readonly interrupted?: true;
}

function describeTarget(c: Config): string {
  return c.target.kind === 'kafka' ? `kafka:${c.target.topic}` : c.target.path === '-' ? 'stdout' : `file:${c.target.path}`;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const fail = (message: string): void => {
    io.stderr.write(`loadgen: ${message}\n`);
  };

  let config: Config;
  let messages: Generator<GeneratedMessage>;
  try {
    const parsed = parseCli(argv, io.env);
    if (parsed.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    config = parsed.config;
    messages = generate({
      seed: config.seed,
      format: config.format,
      events: config.events,
      teams: config.teams,
      activeSessions: config.activeSessions,
      startMs: config.now ? Date.now() : undefined,
      rates: config.rates,
    });
  } catch (err) {
    if (err instanceof UsageError || err instanceof RangeError) {
      fail(`${err.message}\nRun 'loadgen --help' for usage.`);
      return 2;
    }
    throw err;
  }

  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort();
  };
  io.signal?.addEventListener('abort', onAbort);
  let sink: Sink;
  let file: FileSink | undefined;
  try {
    if (config.target.kind === 'kafka') {
      sink = await KafkaSink.open({
        brokers: config.target.brokers,
        topic: config.target.topic,
        partitions: config.target.partitions,
        warn: fail,
      });
    } else {
      file = await FileSink.open(config.target.path, io.stdout);
      file.onBrokenPipe = onAbort;
      sink = file;
    }
  } catch (err) {
    io.signal?.removeEventListener('abort', onAbort);
    fail(err instanceof Error ? err.message : String(err));
    return err instanceof TargetError || config.target.kind === 'kafka' ? 1 : 2;
  }

  const progress = new Progress({
    enabled: io.stderrIsTty,
    total: config.events,
    write: (s) => io.stderr.write(s),
    now: () => systemClock.now(),
  });
  let stats: ProduceStats;
  try {
    stats = await produce({
      messages,
      sink,
      clock: systemClock,
      inFlight: config.maxInFlight,
      limiter: config.rate === undefined ? undefined : new TokenBucket(config.rate, { clock: systemClock }),
      onProgress: (s, done) => {
        progress.update(s, done);
      },
      signal: stop.signal,
      byteLength: (value) => Buffer.byteLength(value, 'utf8'),
    });
    await sink.close();
  } catch (err) {
    progress.close();
    fail(
      `${config.target.kind === 'kafka' ? 'producing to Kafka' : 'writing'} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    await sink.close().catch(() => undefined);
    return 1;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
  }

  const seconds = stats.elapsedMs / 1_000;
  const interrupted = io.signal?.aborted === true;
  const summary: Summary = {
    events: stats.events,
    bytes: stats.bytes,
    seconds: Math.round(seconds * 1_000) / 1_000,
    eventsPerSecond: seconds > 0 ? Math.round(stats.events / seconds) : 0,
    byKind: stats.byKind,
    format: config.format,
    seed: config.seed,
    target: describeTarget(config),
    ...(interrupted ? { interrupted: true as const } : {}),
  };
  const toStdout = !(config.target.kind === 'file' && config.target.path === '-');
  (toStdout ? io.stdout : io.stderr).write(`${JSON.stringify(summary)}\n`);
  return interrupted ? 130 : 0;
}

/**
 * For the bin: the first SIGINT/SIGTERM aborts the signal (stop generating, flush what is in
 * flight, print the summary, exit 130); a second one exits at once.
 */
export function interruptSignal(proc: NodeJS.Process): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) proc.exit(130);
    controller.abort();
  };
  proc.on('SIGINT', stop);
  proc.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      proc.off('SIGINT', stop);
      proc.off('SIGTERM', stop);
    },
  };
}
