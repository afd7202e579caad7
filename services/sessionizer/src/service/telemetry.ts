/**
 * What the consumer loop tells the outside about the stream: the per-batch counters
 * (received = aggregated + excluded + invalid), consumer lag per owned partition, write
 * retries, and logs of invalid messages that have nowhere to go — a few in full per reason,
 * then a summary at most once a minute.
 */
import type { SinkError } from '@sessionizer/clickhouse';
import type { Rejected } from '@sessionizer/core';
import type { SourceRecord, TopicPartition } from '@sessionizer/kafka';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

const DETAILED_INVALID_LOGS = 3;
const SUMMARY_EVERY_MS = 60_000;

export interface TelemetryOptions {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

export class Telemetry {
  readonly #o: TelemetryOptions;
  /** Partitions whose lag this instance published (`topic \0 partition`). */
  readonly #lagSeries = new Set<string>();
  readonly #invalidLogged = new Map<string, number>();
  readonly #invalidSuppressed = new Map<string, number>();
  #lastInvalidSummary = 0;

  constructor(options: TelemetryOptions) {
    this.#o = options;
  }

  /** The counters of one batch, and its partition's lag after it. */
  batch(topic: string, partition: number, received: number, aggregated: number, lagAfter: number): void {
    const { metrics } = this.#o;
    metrics.received.inc({ topic }, received);
    metrics.aggregated.inc(aggregated);
    metrics.consumerLag.set({ topic, partition: String(partition) }, lagAfter);
    this.#lagSeries.add(`${topic}\u0000${partition}`);
  }

  warnings(warnings: readonly string[]): void {
    for (const w of warnings) this.#o.metrics.warnings.inc({ warning: w });
  }

  /** A rejected record: counted by reason; logged (rate-limited) when it is invalid and not dead-lettered. */
  rejected(record: SourceRecord, r: Rejected, deadLettered: boolean): void {
    const { metrics, log } = this.#o;
    if (r.action === 'dlq') metrics.invalid.inc({ reason: r.reason });
    else metrics.excluded.inc({ reason: r.reason });
    if (deadLettered || r.action !== 'dlq') return;
    const seen = (this.#invalidLogged.get(r.reason) ?? 0) + 1;
    this.#invalidLogged.set(r.reason, seen);
    if (seen <= DETAILED_INVALID_LOGS) {
      log.warn('invalid message (no dead-letter topic configured)', {
        reason: r.reason,
        message: r.message,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        ...(seen === DETAILED_INVALID_LOGS ? { note: 'further ones of this reason are summarised once a minute' } : {}),
      });
    } else {
      this.#invalidSuppressed.set(r.reason, (this.#invalidSuppressed.get(r.reason) ?? 0) + 1);
    }
  }

  /** Log the invalid messages not logged in full since the last summary (at most once a minute unless forced). */
  summarise(force = false): void {
    const now = this.#o.now();
    if (this.#invalidSuppressed.size === 0 || (!force && now - this.#lastInvalidSummary < SUMMARY_EVERY_MS)) return;
    this.#lastInvalidSummary = now;
    this.#o.log.warn('invalid messages not dead-lettered (no dead-letter topic configured)', {
      byReason: Object.fromEntries(this.#invalidSuppressed),
    });
    this.#invalidSuppressed.clear();
  }

  /**
   * The lag of a partition is published by its owner. After a rebalance, drop the series of the
   * partitions that moved away, or their last value would stay beside the new owner's for ever
   * (and a sum over instances would count it twice).
   */
  forgetLag(assignment: readonly TopicPartition[]): void {
    const owned = new Set(assignment.map((tp) => `${tp.topic}\u0000${tp.partition}`));
    for (const k of this.#lagSeries) {
      if (owned.has(k)) continue;
      const [topic = '', partition = ''] = k.split('\u0000');
      this.#o.metrics.consumerLag.remove({ topic, partition });
      this.#lagSeries.delete(k);
    }
  }
}

/** What the sink calls before each retry: counted by ClickHouse code, and writes are failing (not ready). */
export function reportWriteRetry(metrics: Metrics, readiness: Readiness, error: SinkError): void {
  metrics.writeRetries.inc({ code: error.code ?? 'network' });
  readiness.writeFailed('ClickHouse', error);
}
