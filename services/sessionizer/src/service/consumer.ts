/**
 * The streaming main loop: Kafka batches → normalise → in-memory delta → flush → commit.
 *
 * INVARIANT (end-to-end acknowledgement): an offset is committed only after every message
 * before it has been durably written to ClickHouse, dead-lettered, or deliberately excluded.
 * A flush drains the buffer and snapshots the processed offsets in the same synchronous step,
 * writes, and only then commits that snapshot. Messages consumed while a flush runs go into
 * the next buffer and the next snapshot.
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
  SessionBuffer,
  type FlushPolicy,
  type FlushReason,
  type InputFormat,
  type NormalizeOptions,
  type Rejected,
} from '@sessionizer/core';
import { backoffDelay, sleep, type RetryPolicy, type SessionSink, type SinkError } from '@sessionizer/clickhouse';
import type { DeadLetterRecord, DeadLetterSink, EventSource, PartitionBatch, SourceRecord, TopicPartition } from '@sessionizer/kafka';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import { OffsetTracker } from './offsets.js';

export interface ConsumerOptions {
  readonly source: EventSource;
  readonly sink: SessionSink;
  /** undefined: invalid messages are counted and logged only. */
  readonly deadLetters: DeadLetterSink | undefined;
  /** Backoff between dead-letter write attempts (the sink's policy: full jitter, capped). */
  readonly deadLetterRetry: RetryPolicy;
  /** Randomness for the backoff's jitter (tests pass a fixed one). */
  readonly random?: () => number;
  readonly formats: ReadonlyMap<string, InputFormat>;
  readonly normalize: NormalizeOptions;
  readonly policy: FlushPolicy;
  readonly dlqExcluded: boolean;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** How often the flush timer looks at the clock. */
  readonly tickMs?: number;
  /** Not ready when no exchange with the brokers succeeded for this long (default 15 s). */
  readonly kafkaSilenceMs?: number;
  readonly now?: () => number;
}

export type ConsumerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

const MAX_HEADER_MESSAGE = 512;
const DETAILED_INVALID_LOGS = 3;

function sanitizeHeader(value: string): string {
  // Header values are bytes to Kafka; keep them short and on one printable line for the tools
  // that show them: C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').slice(0, MAX_HEADER_MESSAGE);
}

export class SessionConsumer {
  readonly #o: ConsumerOptions;
  readonly #now: () => number;
  readonly #silenceMs: number;
  readonly #offsets = new OffsetTracker();
  #buffer = new SessionBuffer();
  #dlq: DeadLetterRecord[] = [];
  #dlqBytes = 0;
  #dlqReasons: string[] = [];
  #lastFlush: number;
  #inflight: Promise<void> | undefined;
  #inflightSessions = 0;
  #inflightBytes = 0;
  #paused = false;
  #state: ConsumerState = 'starting';
  #joined = false;
  #writeHealthy = true;
  /** Why writes fail, while they do (for /readyz). */
  #writeError: string | undefined;
  #lastContact: number | undefined;
  #inContact = false;
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
    this.#now = options.now ?? (() => performance.now());
    this.#silenceMs = options.kafkaSilenceMs ?? 15_000;
    this.#lastFlush = this.#now();
    options.source.onRebalance((e) => {
      if (e.phase === 'rebalancing') {
        this.#o.log.info('rebalance signalled: flushing early');
        this.#trigger('rebalance');
      } else {
        this.#joined = true;
        this.#lastContact = this.#now();
        this.#offsets.retain(e.assignment);
        this.#forgetLag(e.assignment);
        this.#updateGauges();
        this.#o.log.info('partitions assigned', { assignment: e.assignment.map((tp) => `${tp.topic}/${tp.partition}`) });
        this.#checkContact();
        this.#updateReady();
      }
    });
    options.source.onFatal((e) => {
      this.#fail(e);
    });
    options.source.onContact(() => {
      this.#lastContact = this.#now();
      this.#checkContact();
    });
  }

  get state(): ConsumerState {
    return this.#state;
  }

  /** Ready: in the group and in contact with its brokers, writing to ClickHouse works, and not shutting down. */
  get ready(): boolean {
    return this.#state === 'running' && this.#joined && this.#writeHealthy && this.#contactFresh();
  }

  /** Why the instance is not ready, in words (empty when it is): /readyz shows them. */
  get notReadyBecause(): string[] {
    const why: string[] = [];
    if (this.#state !== 'running') why.push(`the consumer is ${this.#state}`);
    else if (!this.#joined) why.push('not in the consumer group yet');
    if (!this.#writeHealthy) why.push(`writes failing, retrying: ${this.#writeError ?? 'unknown error'}`);
    if (this.#state === 'running' && this.#joined && !this.#contactFresh()) {
      why.push(`no successful exchange with Kafka for ${this.kafkaContactAgeMs ?? 0} ms (limit ${this.#silenceMs} ms)`);
    }
    if (this.#paused) why.push('fetching paused: the buffer is full until a flush succeeds');
    return why;
  }

  /** Milliseconds since the last successful exchange with the brokers; null before the first. */
  get kafkaContactAgeMs(): number | null {
    return this.#lastContact === undefined ? null : Math.round(this.#now() - this.#lastContact);
  }

  #contactFresh(): boolean {
    return this.#lastContact !== undefined && this.#now() - this.#lastContact <= this.#silenceMs;
  }

  /** Logs and publishes a change of broker contact (checked on each tick and each contact). */
  #checkContact(): void {
    const fresh = this.#contactFresh();
    if (fresh === this.#inContact) return;
    this.#inContact = fresh;
    if (fresh) this.#o.log.info('in contact with Kafka');
    else this.#o.log.warn('no successful exchange with Kafka: not ready', { silentMs: this.kafkaContactAgeMs, limitMs: this.#silenceMs });
    this.#updateReady();
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
    if (this.#state === 'starting') this.#state = 'running';
    this.#updateReady();
  }

  // ---- ingestion: synchronous per batch, so a drain never splits a batch ----

  #onBatch(batch: PartitionBatch): Promise<boolean> {
    // Not processed, not resolved: the batch stays unread and uncommitted.
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'failed') return Promise.resolve(false);
    if (this.#overLimit()) {
      if (this.#inflight === undefined) {
        this.#trigger(this.#buffer.size >= this.#o.policy.maxSessions ? 'sessions' : 'bytes');
      } else {
        // Full, and the previous flush is still writing: take nothing more. kafkajs may already
        // hold batches of other partitions from the same fetch; deferring them keeps memory at
        // the limit plus one batch.
        this.#pause();
        return Promise.resolve(false);
      }
    }
    const { metrics } = this.#o;
    const format = this.#o.formats.get(batch.topic) ?? 'posthog-events';
    let last: SourceRecord | undefined;
    let aggregated = 0;
    for (const record of batch.records) {
      last = record;
      const result = decodeRecord(format, record.value, this.#o.normalize);
      if (result.ok) {
        this.#buffer.add(result.event);
        aggregated += 1;
        for (const w of result.warnings) metrics.warnings.inc({ warning: w });
      } else {
        this.#reject(record, format, result);
      }
    }
    metrics.received.inc({ topic: batch.topic }, batch.records.length);
    metrics.aggregated.inc(aggregated);
    if (last !== undefined) this.#offsets.processed(batch.topic, batch.partition, last.offset);
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, batch.lagAfter);
    this.#lagSeries.add(`${batch.topic}\u0000${batch.partition}`);
    this.#batches += 1;

    const due = flushReason(this.#o.policy, this.#buffer, this.#now() - this.#lastFlush);
    if (due !== null) this.#trigger(due);
    if (this.#overLimit() && this.#inflight !== undefined) this.#pause();
    this.#updateGauges();
    return Promise.resolve(true);
  }

  /**
   * The lag of a partition is published by its owner. After a rebalance, drop the series of the
   * partitions that moved away, or their last value would stay beside the new owner's for ever
   * (and a sum over instances would count it twice).
   */
  readonly #lagSeries = new Set<string>();

  #forgetLag(assignment: readonly TopicPartition[]): void {
    const owned = new Set(assignment.map((tp) => `${tp.topic}\u0000${tp.partition}`));
    for (const k of this.#lagSeries) {
      if (owned.has(k)) continue;
      const [topic = '', partition = ''] = k.split('\u0000');
      this.#o.metrics.consumerLag.remove({ topic, partition });
      this.#lagSeries.delete(k);
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#o.source.pause();
    this.#o.metrics.paused.set(1);
    this.#o.log.warn('buffer full while a flush is in flight: pausing fetch', { sessions: this.#buffer.size, bytes: this.#buffer.bytes });
  }

  #reject(record: SourceRecord, format: InputFormat, r: Rejected): void {
    const { metrics, log } = this.#o;
    if (r.action === 'dlq') metrics.invalid.inc({ reason: r.reason });
    else metrics.excluded.inc({ reason: r.reason });
    const deadLetter = r.action === 'dlq' || this.#o.dlqExcluded;
    if (deadLetter && this.#o.deadLetters !== undefined) {
      this.#dlq.push({
        key: record.key,
        value: record.value,
        headers: {
          'sessionizer-reason': r.reason,
          'sessionizer-message': sanitizeHeader(r.message),
          'sessionizer-source-topic': record.topic,
          'sessionizer-source-partition': String(record.partition),
          'sessionizer-source-offset': record.offset,
          'sessionizer-format': format,
        },
      });
      this.#dlqReasons.push(r.reason);
      this.#dlqBytes += (record.value?.length ?? 0) + (record.key?.length ?? 0) + 256;
    } else if (r.action === 'dlq') {
      // Counted in metrics always; logged in detail a few times per reason, then summarised.
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
  }

  readonly #invalidLogged = new Map<string, number>();
  readonly #invalidSuppressed = new Map<string, number>();
  #lastInvalidSummary = 0;

  #logSuppressed(force = false): void {
    const now = this.#now();
    if (this.#invalidSuppressed.size === 0 || (!force && now - this.#lastInvalidSummary < 60_000)) return;
    this.#lastInvalidSummary = now;
    this.#o.log.warn('invalid messages not dead-lettered (no dead-letter topic configured)', {
      byReason: Object.fromEntries(this.#invalidSuppressed),
    });
    this.#invalidSuppressed.clear();
  }

  #overLimit(): boolean {
    const p = this.#o.policy;
    return this.#buffer.size >= p.maxSessions || this.#buffer.bytes + this.#dlqBytes >= p.maxBytes;
  }

  #onTick(): void {
    if (this.#state !== 'running') return;
    this.#checkContact();
    this.#logSuppressed();
    const since = this.#now() - this.#lastFlush;
    const due = flushReason(
      this.#o.policy,
      { size: this.#buffer.size + this.#dlq.length, bytes: this.#buffer.bytes + this.#dlqBytes },
      since,
    );
    if (due !== null) this.#trigger(due);
    else if (since >= this.#o.policy.intervalMs && this.#offsets.snapshot(this.#o.source.assignment()).length > 0)
      this.#trigger('interval');
  }

  // ---- flushing ----

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
        if (this.#paused && !this.#overLimit() && this.#state === 'running') {
          this.#paused = false;
          this.#o.source.resume();
          this.#o.metrics.paused.set(0);
          this.#o.log.info('flush succeeded: resuming fetch');
        }
        this.#updateGauges();
        if (this.#state === 'running') {
          const due = flushReason(this.#o.policy, this.#buffer, this.#now() - this.#lastFlush);
          if (due !== null || this.#overLimit()) {
            this.#trigger(due ?? (this.#buffer.size >= this.#o.policy.maxSessions ? 'sessions' : 'bytes'));
          }
        }
      });
  }

  /** A method, not an inline check: these flags change while a flush awaits. */
  #mayCommit(): boolean {
    return !this.#lost && !this.#abort.signal.aborted;
  }

  async #flush(reason: FlushReason): Promise<void> {
    const { metrics, log } = this.#o;
    // After a lost flush or an abort, writing more is pointless and committing would be wrong.
    if (!this.#mayCommit()) return;
    // One synchronous step: what is drained and what may be committed afterwards.
    this.#inflightBytes = this.#buffer.bytes;
    const states = this.#buffer.drain();
    this.#inflightSessions = states.length;
    const dlq = this.#dlq;
    const dlqReasons = this.#dlqReasons;
    this.#dlq = [];
    this.#dlqReasons = [];
    this.#dlqBytes = 0;
    const offsets = this.#offsets.snapshot(this.#o.source.assignment());
    this.#lastFlush = this.#now();
    if (states.length === 0 && dlq.length === 0 && offsets.length === 0) return;
    const started = performance.now();

    const signal = this.#abort.signal;
    const [written] = await Promise.all([
      states.length === 0 ? undefined : this.#o.sink.write(states, signal),
      dlq.length === 0 ? undefined : this.#sendDeadLetters(dlq, signal),
    ]);
    this.#setWriteHealthy(true);
    if (written !== undefined) {
      metrics.rowsWritten.inc(written.rows);
      metrics.bytesWritten.inc(written.bytes);
    }
    for (const r of dlqReasons) metrics.deadLettered.inc({ reason: r });

    let committed = false;
    // Checked again after the awaits: a flush may have been lost or aborted meanwhile.
    if (offsets.length > 0 && this.#mayCommit()) {
      const t = performance.now();
      try {
        await this.#o.source.commit(offsets);
        this.#offsets.markCommitted(offsets);
        metrics.commits.inc({ outcome: 'ok' });
        metrics.commitDuration.observe((performance.now() - t) / 1000);
        metrics.lastCommit.set(Date.now() / 1000);
        committed = true;
      } catch (err) {
        // The data is written; the offsets stay uncommitted and the next flush commits them.
        // If the partitions moved, their new owner re-reads from the last commit: duplicates, harmless.
        metrics.commits.inc({ outcome: 'failed' });
        log.warn('offset commit failed; will retry with the next flush', { error: err, partitions: offsets.length });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.flushes.inc({ reason, outcome: 'ok' });
    metrics.flushDuration.observe(seconds);
    log.debug('flushed', { reason, sessions: states.length, deadLettered: dlq.length, committed, partitions: offsets.length, seconds });
  }

  async #sendDeadLetters(records: readonly DeadLetterRecord[], signal: AbortSignal): Promise<void> {
    const sink = this.#o.deadLetters;
    if (sink === undefined) return;
    for (let attempt = 1; ; attempt += 1) {
      signal.throwIfAborted();
      try {
        await sink.send(records);
        if (attempt > 1) this.#setWriteHealthy(true);
        return;
      } catch (err) {
        // A Kafka error that says retrying cannot help (authorisation, an invalid topic…) fails
        // the flush: nothing is committed and the process stops, rather than stalling for ever.
        if ((err as { retriable?: unknown }).retriable === false) {
          throw new Error(`dead-letter write failed and cannot be retried: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          });
        }
        this.#o.metrics.deadLetterRetries.inc();
        this.#setWriteHealthy(false, 'dead-letter', err);
        const delay = backoffDelay(attempt, this.#o.deadLetterRetry, this.#o.random ?? Math.random);
        this.#o.log.warn('dead-letter write failed, retrying', { error: err, attempt, delayMs: delay });
        // aborted by a shutdown that timed out, like the sink's own backoff
        await sleep(delay, signal);
      }
    }
  }

  /** Called by the sink before each retry. */
  onWriteRetry(error: SinkError): void {
    this.#o.metrics.writeRetries.inc({ code: error.code ?? 'network' });
    this.#setWriteHealthy(false, 'ClickHouse', error);
  }

  #setWriteHealthy(value: boolean, what = 'ClickHouse', error?: unknown): void {
    // the message of the latest failure, short (a ClickHouse exception: code, type, text)
    this.#writeError = value ? undefined : `${what}: ${(error instanceof Error ? error.message : String(error)).slice(0, 300)}`;
    if (this.#writeHealthy !== value) {
      this.#writeHealthy = value;
      this.#o.log[value ? 'info' : 'warn'](value ? 'writes recovered' : `${what} writes failing; retrying`);
      this.#updateReady();
    }
  }

  #updateGauges(): void {
    this.#o.metrics.uncommittedPartitions.set(this.#offsets.snapshot(this.#o.source.assignment()).length);
    this.#o.metrics.bufferedSessions.set(this.#buffer.size + this.#inflightSessions);
    this.#o.metrics.bufferedBytes.set(this.#buffer.bytes + this.#dlqBytes + this.#inflightBytes);
  }

  #updateReady(): void {
    this.#o.metrics.ready.set(this.ready ? 1 : 0);
  }

  #fail(error: Error): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#o.log.error('consumer loop failed; stopping without committing further', { error });
    this.#updateReady();
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
    this.#state = 'stopping';
    this.#updateReady();
    clearInterval(this.#timer);
    this.#logSuppressed(true);
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
      return this.#mayCommit() && this.#offsets.snapshot(this.#o.source.assignment()).length === 0;
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
    this.#state = 'stopped';
    this.#updateGauges();
    return clean && !failed && this.#failure === undefined;
  }
}
