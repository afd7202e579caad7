/**
 * The dead-letter queue's retried write: it backs off up to CLICKHOUSE_RETRY_MAX_DELAY_MS (the
 * service's write retry policy) and stops waiting as soon as the stop signal aborts. The waits
 * are recorded by an injected sleep: nothing here depends on wall time.
 */
import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord, DeadLetterSink } from '@sessionizer/kafka';
import { loadConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { writeRetryPolicy } from '../wiring.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { Metrics } from './metrics.js';
import { Readiness } from './readiness.js';

const RECORD: DeadLetterRecord = { key: null, value: Buffer.from('{'), headers: { 'sessionizer-reason': 'invalid_json' } };

/** A dead-letter topic that fails the first `failures` sends with a retriable error. */
class FlakySink implements DeadLetterSink {
  sends = 0;
  readonly written: DeadLetterRecord[] = [];
  readonly #failures: number;
  constructor(failures: number) {
    this.#failures = failures;
  }
  send(records: readonly DeadLetterRecord[]): Promise<void> {
    this.sends += 1;
    if (this.sends <= this.#failures) return Promise.reject(Object.assign(new Error('broker not available'), { retriable: true }));
    this.written.push(...records);
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
}

function queue(sink: DeadLetterSink, env: Record<string, string>, sleep: (ms: number, signal?: AbortSignal) => Promise<void>) {
  const metrics = new Metrics(false);
  const readiness = new Readiness({ now: () => 0, kafkaSilenceMs: 15_000, metrics, log: silentLogger });
  const dlq = new DeadLetterQueue({
    sink,
    retry: writeRetryPolicy(loadConfig({}, env)),
    // Jitter pinned to its top: the n-th wait is exactly min(max, 200·2^(n-1)) ms.
    random: () => 1,
    sleep,
    readiness,
    metrics,
    log: silentLogger,
  });
  return { dlq, metrics, readiness };
}

describe('DeadLetterQueue', () => {
  it('backs off from 200 ms up to CLICKHOUSE_RETRY_MAX_DELAY_MS, then writes', async () => {
    const sink = new FlakySink(6);
    const waits: number[] = [];
    const { dlq, metrics } = queue(sink, { CLICKHOUSE_RETRY_MAX_DELAY_MS: '1000' }, (ms) => (waits.push(ms), Promise.resolve()));
    await dlq.send([RECORD], new AbortController().signal);
    expect(waits).toEqual([200, 400, 800, 1_000, 1_000, 1_000]);
    expect(sink.sends).toBe(7);
    expect(sink.written).toEqual([RECORD]);
    expect((await metrics.deadLetterRetries.get()).values[0]?.value).toBe(6);
  });

  it('uses the setting’s default maximum (5 s) when it is not set', async () => {
    const waits: number[] = [];
    const { dlq } = queue(new FlakySink(8), {}, (ms) => (waits.push(ms), Promise.resolve()));
    await dlq.send([RECORD], new AbortController().signal);
    expect(waits).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
  });

  it('stops waiting when the stop signal aborts, and writes nothing more', async () => {
    const sink = new FlakySink(Infinity);
    const stop = new AbortController();
    const waits: number[] = [];
    // A wait that only ends by abort, as the helper's sleep does: the test aborts during the second one.
    const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve, reject) => {
        waits.push(ms);
        if (waits.length < 2) {
          resolve();
          return;
        }
        signal?.addEventListener('abort', () => {
          reject(signal.reason as Error);
        });
        stop.abort(new Error('shutdown timed out'));
      });
    const { dlq, readiness } = queue(sink, {}, sleep);
    await expect(dlq.send([RECORD], stop.signal)).rejects.toThrow('shutdown timed out');
    expect(waits).toEqual([200, 400]);
    expect(sink.sends).toBe(2);
    expect(readiness.notReadyBecause.join(' ')).toMatch(/dead-letter/);
  });

  it('an already aborted signal sends nothing', async () => {
    const sink = new FlakySink(0);
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    const { dlq } = queue(sink, {}, () => Promise.resolve());
    await expect(dlq.send([RECORD], stop.signal)).rejects.toThrow('stopped');
    expect(sink.sends).toBe(0);
  });

  it('does not retry an error that says retrying cannot help', async () => {
    const sink: DeadLetterSink = {
      send: () => Promise.reject(Object.assign(new Error('TOPIC_AUTHORIZATION_FAILED'), { retriable: false })),
      disconnect: () => Promise.resolve(),
    };
    const waits: number[] = [];
    const { dlq } = queue(sink, {}, (ms) => (waits.push(ms), Promise.resolve()));
    await expect(dlq.send([RECORD], new AbortController().signal)).rejects.toThrow(/cannot be retried: TOPIC_AUTHORIZATION_FAILED/);
    expect(waits).toEqual([]);
  });
});
