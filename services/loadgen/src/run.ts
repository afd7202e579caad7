/**
 * The produce loop: messages from the generator → rate limiter → batches → sink, with at most
 * a few sends in flight. I/O-free apart from the sink it is given, so tests drive it with a fake
 * sink and a fake clock.
 */
import type { GeneratedMessage, MessageKind } from '@sessionizer/generator';
import { Batcher, InFlight, RECORD_OVERHEAD_BYTES, type Batch, type BatcherOptions } from './batcher.js';
import type { Clock } from './clock.js';
import type { TokenBucket } from './rate-limiter.js';

export interface Sink {
  send(batch: Batch): Promise<void>;
  close(): Promise<void>;
}

export interface ProduceStats {
  readonly events: number;
  readonly bytes: number;
  readonly byKind: Readonly<Record<MessageKind, number>>;
  /** Messages handed to the sink and acknowledged by it. */
  readonly acknowledged: number;
  readonly elapsedMs: number;
}

export interface ProduceOptions {
  readonly messages: Iterable<GeneratedMessage>;
  readonly sink: Sink;
  readonly clock: Clock;
  readonly limiter?: TokenBucket | undefined;
  readonly batch?: BatcherOptions;
  /** Sends in flight at once (default 1: the sink sees batches one at a time, in order). */
  readonly inFlight?: number;
  /** Called after each batch is handed over (and once at the end, with `done`). */
  readonly onProgress?: (stats: ProduceStats, done: boolean) => void;
  /** Stop early (Ctrl-C): what was generated so far is still sent. */
  readonly signal?: AbortSignal | undefined;
  /** UTF-8 length of a value. */
  readonly byteLength: (value: string) => number;
}

/** Sleep only when the limiter asks for at least this long (shorter waits carry over). */
const MIN_SLEEP_MS = 4;

export async function produce(o: ProduceOptions): Promise<ProduceStats> {
  const batcher = new Batcher(o.batch);
  const inFlight = new InFlight(o.inFlight ?? 1);
  const started = o.clock.now();
  const byKind: Record<MessageKind, number> = { event: 0, duplicate: 0, invalid: 0, no_session_id: 0 };
  let events = 0;
  let bytes = 0;
  let acknowledged = 0;
  const stats = (): ProduceStats => ({ events, bytes, byKind: { ...byKind }, acknowledged, elapsedMs: o.clock.now() - started });

  const ship = async (batch: Batch | undefined): Promise<void> => {
    if (batch === undefined) return;
    await inFlight.submit(async () => {
      await o.sink.send(batch);
      acknowledged += batch.messages.length;
    });
    o.onProgress?.(stats(), false);
  };

  const aborted = (): boolean => o.signal?.aborted === true;
  for (const m of o.messages) {
    if (aborted()) break;
    if (o.limiter !== undefined) {
      const wait = o.limiter.reserve(1);
      if (wait > MIN_SLEEP_MS) {
        // Do not hold a partial batch while sleeping past its linger time.
        if (batcher.due(o.clock.now() + wait)) await ship(batcher.flush());
        await o.clock.sleep(wait);
        if (aborted()) break;
      }
    }
    const size = o.byteLength(m.value);
    events++;
    bytes += size;
    byKind[m.kind]++;
    // the batch limit is on what the broker sees: key, value and record overhead
    await ship(batcher.add({ key: m.key, value: m.value }, size + o.byteLength(m.key) + RECORD_OVERHEAD_BYTES, o.clock.now()));
  }
  await ship(batcher.flush());
  await inFlight.drain();
  const final = stats();
  o.onProgress?.(final, true);
  return final;
}
