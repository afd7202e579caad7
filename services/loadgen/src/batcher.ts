/**
 * Batching for the producer: messages go out in batches of at most `maxMessages` or `maxBytes`
 * (whichever comes first), a partial batch is flushed once it is `lingerMs` old, and at most
 * `max` sends are in flight at once.
 */
export interface KeyedMessage {
  readonly key: string;
  readonly value: string;
}

export interface Batch {
  readonly messages: readonly KeyedMessage[];
  readonly bytes: number;
}

export interface BatcherOptions {
  readonly maxMessages?: number;
  readonly maxBytes?: number;
  readonly lingerMs?: number;
}

/**
 * 1000 messages or 1 MiB, less a margin: a broker refuses a record batch (all of one send's
 * messages for one partition) over message.max.bytes, 1 MiB + 12 by default.
 */
const DEFAULT_BATCH = { maxMessages: 1_000, maxBytes: 1_000_000, lingerMs: 50 } as const;

/** Bytes a record adds besides its key and value in a Kafka record batch (varints), at most. */
export const RECORD_OVERHEAD_BYTES = 24;

export class Batcher {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly lingerMs: number;
  #messages: KeyedMessage[] = [];
  #bytes = 0;
  #startedAt = 0;

  constructor(options: BatcherOptions = {}) {
    this.maxMessages = options.maxMessages ?? DEFAULT_BATCH.maxMessages;
    this.maxBytes = options.maxBytes ?? DEFAULT_BATCH.maxBytes;
    this.lingerMs = options.lingerMs ?? DEFAULT_BATCH.lingerMs;
    if (!(this.maxMessages >= 1 && this.maxBytes >= 1)) throw new RangeError('a batch holds at least one message and one byte');
  }

  get pending(): number {
    return this.#messages.length;
  }

  /**
   * Adds a message of `bytes` bytes at time `now`. Returns a batch to send when one is complete:
   * the current one if this message would push it over maxBytes (the message starts the next),
   * or the current one with this message if it reaches maxMessages.
   */
  add(message: KeyedMessage, bytes: number, now = 0): Batch | undefined {
    let out: Batch | undefined;
    if (this.#messages.length > 0 && this.#bytes + bytes > this.maxBytes) out = this.flush();
    if (this.#messages.length === 0) this.#startedAt = now;
    this.#messages.push(message);
    this.#bytes += bytes;
    if (out === undefined && (this.#messages.length >= this.maxMessages || this.#bytes >= this.maxBytes)) out = this.flush();
    return out;
  }

  /** A partial batch has waited `lingerMs`. */
  due(now: number): boolean {
    return this.#messages.length > 0 && now - this.#startedAt >= this.lingerMs;
  }

  /** The pending messages as a batch (undefined when there are none). */
  flush(): Batch | undefined {
    if (this.#messages.length === 0) return undefined;
    const batch = { messages: this.#messages, bytes: this.#bytes };
    this.#messages = [];
    this.#bytes = 0;
    return batch;
  }
}

/** At most `max` tasks at once; the first failure is thrown by the next submit() or drain(). */
export class InFlight {
  readonly max: number;
  readonly #running = new Set<Promise<void>>();
  #error: { error: unknown } | undefined;
  #peak = 0;

  constructor(max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`in-flight limit must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Most tasks that ran at the same time. */
  get peak(): number {
    return this.#peak;
  }

  get size(): number {
    return this.#running.size;
  }

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.max) await Promise.race(this.#running);
    this.#throwIfFailed();
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.#error ??= { error };
      })
      .finally(() => {
        this.#running.delete(p);
      });
    this.#running.add(p);
    this.#peak = Math.max(this.#peak, this.#running.size);
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error.error;
  }
}
