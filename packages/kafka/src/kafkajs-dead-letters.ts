/**
 * DeadLetterSink over a kafkajs producer: acks from all in-sync replicas. At-least-once: a
 * retried send may write a record twice, which a dead-letter topic tolerates.
 *
 * Dead letters must fit the broker: its message.max.bytes (~1 MB by default) bounds each record
 * batch, i.e. the records of one send to one partition. So sends are split by bytes, and a
 * record that cannot fit even alone (a source message near the limit plus our headers) is cut:
 * its value keeps the head, and the header `sessionizer-truncated-from` says the original size;
 * the source topic/partition/offset headers point at the whole message. A broker that still
 * says "too large" gets halved batches and halved values until they fit.
 */
import type { Kafka, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { DeadLetterRecord, DeadLetterSink } from './source.js';

const { Partitioners } = kafkajs;

/** Per send (and so per record batch): under the broker's default message.max.bytes. */
export const DEAD_LETTER_BATCH_BYTES = 900_000;
const RECORD_OVERHEAD = 100;

export function recordBytes(r: DeadLetterRecord): number {
  let n = RECORD_OVERHEAD + (r.value?.length ?? 0) + (r.key?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers)) n += k.length + v.length + 8;
  return n;
}

/** The record with its value cut so that the whole record takes at most `maxBytes`. */
export function cutRecord(r: DeadLetterRecord, maxBytes: number): DeadLetterRecord {
  const size = recordBytes(r);
  if (size <= maxBytes || r.value === null) return r;
  const original = String(r.value.length);
  const marker = 'sessionizer-truncated-from'.length + original.length + 8;
  const keep = Math.max(0, r.value.length - (size - maxBytes) - marker);
  return { ...r, value: r.value.subarray(0, keep), headers: { ...r.headers, 'sessionizer-truncated-from': original } };
}

/** Consecutive groups of records of at most `maxBytes` each (a bigger record goes alone). */
export function chunkByBytes(records: readonly DeadLetterRecord[], maxBytes: number): DeadLetterRecord[][] {
  const out: DeadLetterRecord[][] = [];
  let chunk: DeadLetterRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const b = recordBytes(r);
    if (chunk.length > 0 && bytes + b > maxBytes) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += b;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

function isTooLarge(err: unknown): boolean {
  for (let e = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const { type, code } = e as { type?: unknown; code?: unknown };
    if (type === 'MESSAGE_TOO_LARGE' || code === 10 || type === 'RECORD_LIST_TOO_LARGE' || code === 18) return true;
    if (e instanceof Error && /larger than the max message size/i.test(e.message)) return true;
  }
  return false;
}

export class KafkaJsDeadLetters implements DeadLetterSink {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #batchBytes: number;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka, topic: string, options: { batchBytes?: number } = {}) {
    this.#topic = topic;
    this.#batchBytes = options.batchBytes ?? DEAD_LETTER_BATCH_BYTES;
    this.#producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
  }

  async send(records: readonly DeadLetterRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.#connected ??= this.#producer.connect();
    await this.#connected;
    const fitted = records.map((r) => cutRecord(r, this.#batchBytes));
    for (const chunk of chunkByBytes(fitted, this.#batchBytes)) await this.#sendFitting(chunk);
  }

  /** Send, halving the batch (and then the value) while the broker says it is too large. */
  async #sendFitting(chunk: readonly DeadLetterRecord[]): Promise<void> {
    try {
      await this.#producer.send({
        topic: this.#topic,
        acks: -1,
        messages: chunk.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
      });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      const [only] = chunk;
      if (chunk.length === 1 && only !== undefined) {
        const size = recordBytes(only);
        if (only.value === null || only.value.length <= 1_024) throw err;
        await this.#sendFitting([cutRecord(only, Math.floor(size / 2))]);
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await this.#sendFitting(chunk.slice(0, half));
      await this.#sendFitting(chunk.slice(half));
    }
  }

  async disconnect(): Promise<void> {
    if (this.#connected !== undefined) await this.#producer.disconnect();
  }
}
