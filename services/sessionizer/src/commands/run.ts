/**
 * The service's lifecycle: start, serve until SIGTERM/SIGINT or a failure, then stop cleanly:
 * stop fetching, flush, commit, leave the group, within the shutdown timeout.
 */
import type { Logger } from '../log.js';
import type { SessionConsumer } from '../service/consumer.js';
import { componentLog, createLogger } from '../log.js';
import { startService } from '../service/start.js';
import { SERVICE, UsageError, type Command } from './command.js';

export interface Signals {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  removeListener(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

export interface RunOptions {
  readonly consumer: SessionConsumer;
  readonly log: Logger;
  readonly shutdownTimeoutMs: number;
  readonly signals: Signals;
  /** Resolving it also stops the service (the demo uses it). */
  readonly until?: Promise<unknown>;
  /** Runs after the consumer stopped, whatever happened (close HTTP, ClickHouse, files). */
  readonly cleanup: () => Promise<void>;
}

/** Resolves with the process exit code. */
export async function runUntilStopped(o: RunOptions): Promise<number> {
  let onSignal: (() => void) | undefined;
  let signalled = false;
  const stopRequested = new Promise<string>((resolve) => {
    // Stays installed until the end: a second Ctrl-C must not kill a flush in progress (the
    // shutdown timeout bounds how long stopping takes).
    onSignal = () => {
      if (signalled) {
        o.log.warn('already stopping; waiting for the final flush (bounded by the shutdown timeout)');
        return;
      }
      signalled = true;
      resolve('signal');
    };
    o.signals.on('SIGTERM', onSignal);
    o.signals.on('SIGINT', onSignal);
  });
  const failed = new Promise<string>((resolve) => {
    o.consumer.onFailure(() => {
      resolve('failure');
    });
  });
  let code = 1;
  try {
    // A signal during start-up (kafkajs may retry an unreachable broker for minutes) stops too.
    const starting = o.consumer.start().then(() => 'started');
    starting.catch(() => undefined); // observed by the race below; never an unhandled rejection
    const startup = await Promise.race([starting, failed, stopRequested]);
    if (startup === 'started') o.log.info('sessionizer running');
    const why = await Promise.race([stopRequested, failed, ...(o.until === undefined ? [] : [o.until.then(() => 'done')])]);
    o.log.info('stopping', { why, timeoutMs: o.shutdownTimeoutMs });
    const clean = await o.consumer.stop(o.shutdownTimeoutMs);
    code = why === 'failure' || o.consumer.failure !== undefined ? 1 : clean ? 0 : 1;
    o.log.info(code === 0 ? 'stopped cleanly: everything consumed is written and committed' : 'stopped with work left uncommitted', {
      exitCode: code,
    });
  } catch (err) {
    o.log.error('could not start', { error: err });
    await o.consumer.stop(Math.min(o.shutdownTimeoutMs, 10_000)).catch(() => false);
  } finally {
    if (onSignal !== undefined) {
      o.signals.removeListener('SIGTERM', onSignal);
      o.signals.removeListener('SIGINT', onSignal);
    }
    await o.cleanup().catch((err: unknown) => {
      o.log.warn('cleanup failed', { error: err });
    });
  }
  return code;
}

export const runCommand: Command = {
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
      log: componentLog(log, 'run'),
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      signals: io.signals,
      cleanup: () => service.close(),
    });
  },
};
