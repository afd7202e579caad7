/**
 * Readiness (/readyz and the ready gauge): in the consumer group, in contact with the brokers,
 * writes working, and the consumer running. Each party reports what it knows here directly:
 * the source its contacts and assignments (`watch`), the sink and the dead-letter queue their
 * failed and successful writes, the consumer loop its state and whether fetching is paused.
 */
import type { EventSource } from '@sessionizer/kafka';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';

export type ConsumerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ReadinessOptions {
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Not ready when no exchange with the brokers succeeded for this long. */
  readonly kafkaSilenceMs: number;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class Readiness {
  readonly #o: ReadinessOptions;
  #state: ConsumerState = 'starting';
  #joined = false;
  #writeHealthy = true;
  /** Why writes fail, while they do. */
  #writeError: string | undefined;
  #lastContact: number | undefined;
  #inContact = false;
  #paused = false;

  constructor(options: ReadinessOptions) {
    this.#o = options;
  }

  /** Listen to the source: an assignment is joining the group, and every exchange is contact. */
  watch(source: EventSource): void {
    source.onRebalance((e) => {
      if (e.phase !== 'assigned') return;
      this.#joined = true;
      this.#lastContact = this.#o.now();
      this.check();
      this.#publish();
    });
    source.onContact(() => {
      this.#lastContact = this.#o.now();
      this.check();
    });
  }

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
      why.push(`no successful exchange with Kafka for ${this.kafkaContactAgeMs ?? 0} ms (limit ${this.#o.kafkaSilenceMs} ms)`);
    }
    if (this.#paused) why.push('fetching paused: the buffer is full until a flush succeeds');
    return why;
  }

  /** Milliseconds since the last successful exchange with the brokers; null before the first. */
  get kafkaContactAgeMs(): number | null {
    return this.#lastContact === undefined ? null : Math.round(this.#o.now() - this.#lastContact);
  }

  /** The consumer loop's state. */
  consumerState(state: ConsumerState): void {
    this.#state = state;
    this.#publish();
  }

  paused(paused: boolean): void {
    this.#paused = paused;
  }

  /** A write (`what`: ClickHouse, dead-letter) failed and is being retried. */
  writeFailed(what: string, error: unknown): void {
    // the message of the latest failure, short (a ClickHouse exception: code, type, text)
    this.#writeError = `${what}: ${(error instanceof Error ? error.message : String(error)).slice(0, 300)}`;
    this.#setWriteHealthy(false, what);
  }

  writeSucceeded(): void {
    this.#writeError = undefined;
    this.#setWriteHealthy(true, '');
  }

  /** Logs and publishes a change of broker contact (called on each tick and each contact). */
  check(): void {
    const fresh = this.#contactFresh();
    if (fresh === this.#inContact) return;
    this.#inContact = fresh;
    if (fresh) this.#o.log.info('in contact with Kafka');
    else
      this.#o.log.warn('no successful exchange with Kafka: not ready', {
        silentMs: this.kafkaContactAgeMs,
        limitMs: this.#o.kafkaSilenceMs,
      });
    this.#publish();
  }

  #contactFresh(): boolean {
    return this.#lastContact !== undefined && this.#o.now() - this.#lastContact <= this.#o.kafkaSilenceMs;
  }

  #setWriteHealthy(value: boolean, what: string): void {
    if (this.#writeHealthy === value) return;
    this.#writeHealthy = value;
    if (value) this.#o.log.info('writes recovered');
    else this.#o.log.warn(`${what} writes failing; retrying`);
    this.#publish();
  }

  #publish(): void {
    this.#o.metrics.ready.set(this.ready ? 1 : 0);
  }
}
