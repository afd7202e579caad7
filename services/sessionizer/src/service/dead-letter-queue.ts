/**
 * The dead-letter queue: what a rejected message becomes on the dead-letter topic (its original
 * key and bytes, headers saying why and where from), and writing a batch of them with the
 * shared retry (`@sessionizer/clickhouse` `retry`: backoff with full jitter up to the policy's
 * maximum delay, abortable) until it succeeds or the error says retrying cannot help.
 */
import { retry, type RetryPolicy } from '@sessionizer/clickhouse';
import type { InputFormat, Rejected } from '@sessionizer/core';
import type { DeadLetterRecord, DeadLetterSink, SourceRecord } from '@sessionizer/kafka';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

const MAX_HEADER_MESSAGE = 512;

function sanitizeHeader(value: string): string {
  // Header values are bytes to Kafka; keep them short and on one printable line for the tools
  // that show them: C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').slice(0, MAX_HEADER_MESSAGE);
}

/** The dead letter of a rejected record: its key and original bytes, and headers for the reason and the source. */
export function deadLetterRecord(record: SourceRecord, format: InputFormat, rejected: Rejected): DeadLetterRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      'sessionizer-reason': rejected.reason,
      'sessionizer-message': sanitizeHeader(rejected.message),
      'sessionizer-source-topic': record.topic,
      'sessionizer-source-partition': String(record.partition),
      'sessionizer-source-offset': record.offset,
      'sessionizer-format': format,
    },
  };
}

export interface DeadLetterQueueOptions {
  readonly sink: DeadLetterSink;
  readonly retry: RetryPolicy;
  /** Randomness for the backoff's jitter (tests pass a fixed one). */
  readonly random: () => number;
  /** The wait between attempts, rejecting when the signal aborts (`sleep` of the retry helper; tests record it). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class DeadLetterQueue {
  readonly #o: DeadLetterQueueOptions;

  constructor(options: DeadLetterQueueOptions) {
    this.#o = options;
  }

  /** Resolves once the records are written; rejects when aborted or when retrying cannot help. */
  async send(records: readonly DeadLetterRecord[], signal: AbortSignal): Promise<void> {
    const { attempts } = await retry(() => this.#o.sink.send(records), {
      policy: this.#o.retry,
      // A Kafka error that says retrying cannot help (authorisation, an invalid topic…) fails
      // the flush: nothing is committed and the process stops, rather than stalling for ever.
      classify: (err) =>
        (err as { retriable?: unknown }).retriable === false
          ? {
              fail: new Error(`dead-letter write failed and cannot be retried: ${err instanceof Error ? err.message : String(err)}`, {
                cause: err,
              }),
            }
          : { retry: err },
      onRetry: (err, attempt, delayMs) => {
        this.#o.metrics.deadLetterRetries.inc();
        this.#o.readiness.writeFailed('dead-letter', err);
        this.#o.log.warn('dead-letter write failed, retrying', { error: err, attempt, delayMs });
      },
      // aborted by a shutdown that timed out, like the sink's own backoff
      signal,
      random: this.#o.random,
      sleep: this.#o.sleep,
    });
    if (attempts > 1) this.#o.readiness.writeSucceeded();
  }

  disconnect(): Promise<void> {
    return this.#o.sink.disconnect();
  }
}
