/**
 * The consumer loop: admit batches (decode → assign server-side sessions → aggregate), keep one
 * flush in flight, pause and resume fetching, commit what was written, stop.
 *
 * INVARIANT (end-to-end acknowledgement): an offset is committed only after every message
 * before it has been durably written to ClickHouse, dead-lettered, or deliberately excluded.
 * A flush takes the aggregator's checkpoint (buffer, dead letters and the offsets they cover, in
 * one synchronous step; with server-side sessions also their changed state), writes it, and
 * only then commits its offsets (`aggregator.ts`). Messages
 * consumed while a flush runs go into the next checkpoint.
 *
 * INVARIANT (bounded memory): at most one flush is in flight; when the buffer reaches its
 * session or byte limit while one is, fetching pauses until the flush succeeds.
 *
 * Rebalances only trigger an early flush: correctness never depends on seeing them in time,
 * because replayed or foreign-written partials merge idempotently.
 */
import {
  decodeRecord,
  flushReason,
  type FlushPolicy,
  type FlushReason,
  type InputFormat,
  type Normalized,
  type NormalizeOptions,
} from '@sessionizer/core';
import type { SessionSink } from '@sessionizer/clickhouse';
import type { EventSource, PartitionBatch, SourceRecord } from '@sessionizer/kafka';
import { componentLog, type Logger } from '../log.js';
import { Aggregator, writeCheckpoint, type WrittenCheckpoint } from './aggregator.js';
import { deadLetterRecord, type DeadLetterQueue } from './dead-letter-queue.js';
import type { Metrics } from './metrics.js';
import type { ServerSessionStage } from './server-sessions.js';
import type { ConsumerState, Readiness } from './readiness.js';
import { Telemetry } from './telemetry.js';
import type { FlushGc } from './heap-gc.js';

export type { ConsumerState } from './readiness.js';

export interface ConsumerOptions {
  readonly source: EventSource;
  readonly sink: SessionSink;
  /** undefined: invalid messages are counted and logged only. */
  readonly deadLetters: DeadLetterQueue | undefined;
  readonly formats: ReadonlyMap<string, InputFormat>;
  readonly normalize: NormalizeOptions;
  /** Server-side sessions (SERVER_SESSIONS): given when normalize.serverSessions is. */
  readonly serverSessions?: ServerSessionStage | undefined;
  readonly policy: FlushPolicy;
  readonly dlqExcluded: boolean;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** How often the flush timer looks at the clock. */
  readonly tickMs?: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
  /** The full GC after a flush (FLUSH_GC_OLD_SPACE_MIB, heap-gc.ts); none when undefined. */
  readonly heapGc?: FlushGc | undefined;
}

export class SessionConsumer {
  readonly #o: ConsumerOptions;
  readonly #now: () => number;
  readonly #aggregator: Aggregator;
  readonly #telemetry: Telemetry;
  #lastFlush: number;
  #inflight: Promise<void> | undefined;
  #inflightSessions = 0;
  #inflightBytes = 0;
  #paused = false;
  #state: ConsumerState = 'starting';
  #timer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();
  #failure: Error | undefined;
  /**
   * Set once a drained buffer was not written (its flush failed or was aborted). The processed
   * offsets still cover its messages, so from then on nothing may be committed: those messages
   * must be re-read after a restart.
   */
  #lost = false;
  readonly #failureListeners: ((e: Error) => void)[] = [];
  #batches = 0;

  constructor(options: ConsumerOptions) {
    this.#o = options;
    this.#aggregator = new Aggregator({ serverSessions: options.serverSessions });
    this.#now = options.now ?? (() => performance.now());
    this.#telemetry = new Telemetry({ metrics: options.metrics, log: componentLog(options.log, 'telemetry'), now: this.#now });
    this.#lastFlush = this.#now();
    options.source.onRebalance((e) => {
      if (e.phase === 'rebalancing') {
        this.#o.log.info('rebalance signalled: flushing early');
        this.#trigger('rebalance');
      } else {
        this.#aggregator.retain(e.assignment);
        this.#telemetry.forgetLag(e.assignment);
        this.#updateGauges();
        this.#o.log.info('partitions assigned', { assignment: e.assignment.map((tp) => `${tp.topic}/${tp.partition}`) });
      }
    });
    options.source.onFatal((e) => {
      this.#fail(e);
    });
  }

  get state(): ConsumerState {
    return this.#state;
  }

  get healthy(): boolean {
    return this.#state !== 'failed';
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Called once if the loop fails (a bug, or a fatal client error): the process must exit. */
  onFailure(listener: (e: Error) => void): void {
    this.#failureListeners.push(listener);
  }

  async start(): Promise<void> {
    // The interval flush is only as punctual as this tick; checking the clock is cheap.
    const tick = this.#o.tickMs ?? Math.max(10, Math.min(100, Math.floor(this.#o.policy.intervalMs / 10)));
    this.#timer = setInterval(() => {
      this.#onTick();
    }, tick);
    this.#timer.unref();
    await this.#o.source.start((batch) => this.#onBatch(batch));
    if (this.#state === 'starting') this.#setState('running');
  }

  #setState(state: ConsumerState): void {
    this.#state = state;
    this.#o.readiness.consumerState(state);
  }

  // ---- admission: synchronous per batch, so a checkpoint never splits a batch ----

  #onBatch(batch: PartitionBatch): Promise<boolean> {
    // Not processed, not resolved: the batch stays unread and uncommitted.
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'failed') return Promise.resolve(false);
    if (this.#overLimit()) {
      if (this.#inflight === undefined) {
        this.#trigger(this.#aggregator.sessions >= this.#o.policy.maxSessions ? 'sessions' : 'bytes');
      } else {
        // Full, and the previous flush is still writing: take nothing more. kafkajs may already
        // hold batches of other partitions from the same fetch; deferring them keeps memory at
        // the limit plus one batch.
        this.#pause();
        return Promise.resolve(false);
      }
    }
    const format = this.#o.formats.get(batch.topic);
    // The source subscribes to the configured topics only; a batch from another is a bug, and
    // guessing its format (KAFKA_TOPICS's default) would aggregate it as if configured.
    if (format === undefined) return Promise.reject(new Error(`a batch from topic '${batch.topic}', which is not in KAFKA_TOPICS`));
    const stage = this.#o.serverSessions;
    if (stage?.persistent !== true) return Promise.resolve(this.#ingest(batch, format, undefined));
    // Server-side sessions: the keys' states are loaded before the batch is folded in (one
    // synchronous step again, so a checkpoint still never splits a batch).
    return stage
      .prepare(batch, (record) => this.#decode(record, format), this.#abort.signal)
      .then(
        (decoded) =>
          this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'failed'
            ? false
            : this.#ingest(batch, format, decoded),
        (err: unknown) => {
          // A state read that is not retriable (or aborted by a stop): the batch stays unread
          // and uncommitted; like a write that fails for good, it stops the consumer.
          if (!this.#abort.signal.aborted) this.#fail(err instanceof Error ? err : new Error(String(err)));
          return false;
        },
      );
  }

  #decode(record: SourceRecord, format: InputFormat): Normalized {
    return decodeRecord(format, record.value, this.#o.normalize);
  }

  /** Decode (unless `decoded` is given), assign server-side sessions, aggregate. */
  #ingest(batch: PartitionBatch, format: InputFormat, decoded: readonly Normalized[] | undefined): boolean {
    const dlq = this.#o.deadLetters;
    let aggregated = 0;
    for (const [i, record] of batch.records.entries()) {
      const result = decoded?.[i] ?? this.#decode(record, format);
      if (result.ok) {
        this.#aggregator.add(this.#o.serverSessions?.apply(batch.topic, batch.partition, result.event, record.key) ?? result.event);
        aggregated += 1;
        this.#telemetry.warnings(result.warnings);
      } else {
        const deadLettered = dlq !== undefined && (result.action === 'dlq' || this.#o.dlqExcluded);
        if (deadLettered) this.#aggregator.deadLetter(deadLetterRecord(record, format, result), result.reason);
        this.#telemetry.rejected(record, result, deadLettered);
      }
    }
    const last = batch.records.at(-1);
    if (last !== undefined) this.#aggregator.processed(batch.topic, batch.partition, last.offset);
    this.#telemetry.batch(batch.topic, batch.partition, batch.records.length, aggregated, batch.lagAfter);
    this.#batches += 1;

    const due = flushReason(this.#o.policy, this.#stateBuffered(), this.#now() - this.#lastFlush);
    if (due !== null) this.#trigger(due);
    if (this.#overLimit() && this.#inflight !== undefined) this.#pause();
    this.#updateGauges();
    return true;
  }

  /** The session states buffered, as the flush policy sees them. */
  #stateBuffered(): { size: number; bytes: number } {
    return { size: this.#aggregator.sessions, bytes: this.#aggregator.stateBytes };
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#o.source.pause();
    this.#o.metrics.paused.set(1);
    this.#o.readiness.paused(true);
    this.#o.log.warn('buffer full while a flush is in flight: pausing fetch', {
      sessions: this.#aggregator.sessions,
      bytes: this.#aggregator.stateBytes,
    });
  }

  #resume(): void {
    this.#paused = false;
    this.#o.source.resume();
    this.#o.metrics.paused.set(0);
    this.#o.readiness.paused(false);
    this.#o.log.info('flush succeeded: resuming fetch');
  }

  #overLimit(): boolean {
    const p = this.#o.policy;
    return this.#aggregator.sessions >= p.maxSessions || this.#aggregator.bytes >= p.maxBytes;
  }

  #onTick(): void {
    if (this.#state !== 'running') return;
    this.#o.readiness.check();
    this.#telemetry.summarise();
    const since = this.#now() - this.#lastFlush;
    const due = flushReason(
      this.#o.policy,
      { size: this.#aggregator.sessions + this.#aggregator.deadLetters, bytes: this.#aggregator.bytes },
      since,
    );
    if (due !== null) this.#trigger(due);
    else if (since >= this.#o.policy.intervalMs && this.#aggregator.uncommitted(this.#o.source.assignment()).length > 0)
      this.#trigger('interval');
  }

  // ---- flushing: one in flight ----

  #trigger(reason: FlushReason): void {
    if (this.#inflight !== undefined || this.#state === 'failed') return;
    this.#inflight = this.#flush(reason)
      .catch((err: unknown) => {
        this.#lost = true;
        if (this.#abort.signal.aborted) return;
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.#inflight = undefined;
        this.#inflightSessions = 0;
        this.#inflightBytes = 0;
        this.#collectGarbage();
        if (this.#paused && !this.#overLimit() && this.#state === 'running') this.#resume();
        this.#updateGauges();
        if (this.#state === 'running') {
          const due = flushReason(this.#o.policy, this.#stateBuffered(), this.#now() - this.#lastFlush);
          if (due !== null || this.#overLimit()) {
            this.#trigger(due ?? (this.#aggregator.sessions >= this.#o.policy.maxSessions ? 'sessions' : 'bytes'));
          }
        }
      });
  }

  /**
   * The flush's states are unreachable now (written or lost): the moment when V8's old space is
   * mostly garbage (heap-gc.ts).
   */
  #collectGarbage(): void {
    const outcome = this.#o.heapGc?.afterFlush();
    if (outcome !== undefined) {
      this.#o.log.debug('full GC after the flush', {
        oldSpaceBeforeMiB: Math.round(outcome.beforeBytes / 2 ** 20),
        oldSpaceAfterMiB: Math.round(outcome.afterBytes / 2 ** 20),
        ms: Math.round(outcome.ms),
      });
    }
  }

  /** A method, not an inline check: these flags change while a flush awaits. */
  #mayCommit(): boolean {
    return !this.#lost && !this.#abort.signal.aborted;
  }

  async #flush(reason: FlushReason): Promise<void> {
    const { metrics, log } = this.#o;
    // After a lost flush or an abort, writing more is pointless and committing would be wrong.
    if (!this.#mayCommit()) return;
    const checkpoint = this.#aggregator.checkpoint(this.#o.source.assignment());
    this.#inflightBytes = checkpoint.stateBytes;
    this.#inflightSessions = checkpoint.states.length;
    this.#lastFlush = this.#now();
    if (checkpoint.states.length === 0 && checkpoint.deadLetters.length === 0 && checkpoint.offsets.length === 0) return;
    const started = performance.now();

    const signal = this.#abort.signal;
    const dlq = this.#o.deadLetters;
    const { checkpoint: written, stats } = await writeCheckpoint(checkpoint, {
      states: (states) => this.#o.sink.write(states, signal),
      deadLetters: (records) => dlq?.send(records, signal) ?? Promise.resolve(),
      serverSessions: (changes) => this.#o.serverSessions?.write(changes, signal) ?? Promise.resolve(0),
    });
    this.#aggregator.written(written);
    this.#o.readiness.writeSucceeded();
    if (stats !== undefined) {
      metrics.rowsWritten.inc(stats.rows);
      metrics.bytesWritten.inc(stats.bytes);
    }
    for (const d of checkpoint.deadLetters) metrics.deadLettered.inc({ reason: d.reason });

    const writtenAt = performance.now();
    // Checked again after the awaits: a flush may have been lost or aborted meanwhile.
    const committed = written.offsets.length > 0 && this.#mayCommit() && (await this.#commit(written));
    const seconds = (performance.now() - started) / 1000;
    metrics.flushes.inc({ reason, outcome: 'ok' });
    metrics.flushDuration.observe(seconds);
    log.debug('flushed', {
      reason,
      sessions: checkpoint.states.length,
      deadLettered: checkpoint.deadLetters.length,
      committed,
      partitions: written.offsets.length,
      seconds,
      // where the flush's time went (BENCHMARKS.md, freshness): serialising and inserting the
      // states, then committing the offsets
      rows: stats?.rows ?? 0,
      inserts: stats?.inserts ?? 0,
      serialiseSeconds: (stats?.serialiseMs ?? 0) / 1000,
      insertSeconds: (stats?.insertMs ?? 0) / 1000,
      commitSeconds: (performance.now() - writtenAt) / 1000,
    });
  }

  /** Commit a written checkpoint's offsets; false (logged, retried by the next flush) when the commit fails. */
  async #commit(written: WrittenCheckpoint): Promise<boolean> {
    const { metrics, log } = this.#o;
    const t = performance.now();
    try {
      await this.#o.source.commit(written.offsets);
      this.#aggregator.committed(written);
      metrics.commits.inc({ outcome: 'ok' });
      metrics.commitDuration.observe((performance.now() - t) / 1000);
      metrics.lastCommit.set(Date.now() / 1000);
      return true;
    } catch (err) {
      // The data is written; the offsets stay uncommitted and the next flush commits them.
      // If the partitions moved, their new owner re-reads from the last commit: duplicates, harmless.
      metrics.commits.inc({ outcome: 'failed' });
      log.warn('offset commit failed; will retry with the next flush', { error: err, partitions: written.offsets.length });
      return false;
    }
  }

  #updateGauges(): void {
    this.#o.metrics.uncommittedPartitions.set(this.#aggregator.uncommitted(this.#o.source.assignment()).length);
    this.#o.metrics.bufferedSessions.set(this.#aggregator.sessions + this.#inflightSessions);
    this.#o.metrics.bufferedBytes.set(this.#aggregator.bytes + this.#inflightBytes);
  }

  #fail(error: Error): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#setState('failed');
    this.#failure = error;
    this.#o.log.error('consumer loop failed; stopping without committing further', { error });
    for (const l of this.#failureListeners) l(error);
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Batches handled so far (tests and the demo use it to wait). */
  get batches(): number {
    return this.#batches;
  }

  /**
   * Graceful stop: stop fetching, finish the flush in flight, flush and commit the rest, leave
   * the group. Resolves true when everything consumed was written and committed.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'stopped') return true;
    const failed = this.#state === 'failed';
    this.#setState('stopping');
    clearInterval(this.#timer);
    this.#telemetry.summarise(true);
    this.#o.source.pause();
    let clean = false;
    const timeout = new Promise<'timeout'>((resolve) => {
      setTimeout(() => {
        resolve('timeout');
      }, timeoutMs).unref();
    });
    const drain = (async () => {
      if (this.#inflight !== undefined) await this.#inflight;
      // the flush we waited for may have failed: then nothing more is written or committed
      if (failed || this.#failure !== undefined || this.#lost) return false;
      try {
        await this.#flush('shutdown');
      } catch (err) {
        this.#lost = true;
        throw err;
      }
      return this.#mayCommit() && this.#aggregator.uncommitted(this.#o.source.assignment()).length === 0;
    })();
    const outcome = await Promise.race([drain.catch((e: unknown) => e), timeout]);
    if (outcome === 'timeout') {
      this.#lost = true;
      this.#abort.abort(new Error('shutdown timed out'));
      this.#o.log.error('shutdown timed out: what was not written stays uncommitted and will be re-read', { timeoutMs });
    } else if (outcome instanceof Error) {
      this.#o.log.error('final flush failed: what was not written stays uncommitted and will be re-read', { error: outcome });
    } else {
      clean = outcome === true;
    }
    try {
      await this.#o.source.disconnect();
    } catch (err) {
      this.#o.log.warn('leaving the consumer group failed', { error: err });
    }
    await this.#o.deadLetters?.disconnect().catch(() => undefined);
    this.#setState('stopped');
    this.#updateGauges();
    return clean && !failed && this.#failure === undefined;
  }
}
