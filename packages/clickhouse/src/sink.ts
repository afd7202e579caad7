/**
 * The ClickHouse sink: session partials → inserts into `session_partials_in` (rows.ts).
 *
 * `write()` resolves only when every row is durably in ClickHouse; that resolution is the
 * source's permission to commit offsets (end-to-end acknowledgement). It splits large writes
 * into inserts of bounded rows and bytes, sent in order with one in flight while the next is
 * serialised, retries transient failures with exponential backoff
 * and full jitter, and never retries bad-data errors. Re-inserting a partial after an insert
 * whose outcome was unknown is harmless: merging partial states is idempotent.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { SessionState } from '@sessionizer/core';
import { COMMON_SETTINGS } from './client.js';
import { classify, type SinkError } from './errors.js';
import { PartialRowBinaryEncoder } from './row-binary.js';
import { partialInsertSql, toPartialRow, type PartialFormat, type PartialRow } from './rows.js';
import { names, type SchemaContext } from './schema/ddl.js';
import { DEFAULT_RETRY, retry, type RetryPolicy } from './retry.js';

export interface SinkOptions {
  readonly schema: SchemaContext;
  /**
   * The rows' format (rows.ts): RowBinaryWithNamesAndTypes on the embedded engine (`schema.embedded`), else
   * JSONCompactEachRow. Tests and benchmarks pass it to compare the two.
   */
  readonly format?: PartialFormat;
  /**
   * A write goes as up to `insertsPerWrite` INSERTs (default 4) of at least `minRowsPerInsert` rows
   * (default 5 000) and at most `maxRowsPerInsert` (default 50 000) and `maxBytesPerInsert`, one in
   * flight and the next built meanwhile, in the states' order (the buffer drains its sessions in
   * the order they first arrived, so the oldest get visible first).
   */
  readonly insertsPerWrite?: number;
  readonly minRowsPerInsert?: number;
  readonly maxRowsPerInsert?: number;
  readonly maxBytesPerInsert?: number;
  /**
   * Rows serialised between two yields to the event loop while an INSERT is in flight (default
   * 1 000): the chunk being built is not needed before that INSERT ends, so the consumer's
   * batches get the main thread in between.
   */
  readonly yieldEveryRows?: number;
  /**
   * Rows serialised between two yields while no INSERT is in flight (default 10 000): the
   * engine is idle until this chunk is built (the write's first chunk, or one the previous
   * INSERT finished before), so building it comes before the consumer's batches.
   */
  readonly idleYieldEveryRows?: number;
  /** How to yield to the event loop (default: setImmediate; tests pass their own). */
  readonly yieldToEventLoop?: () => Promise<void>;
  readonly retry?: RetryPolicy;
  /** Called before each retry: for logs, metrics and readiness. */
  readonly onRetry?: (error: SinkError, attempt: number, delayMs: number) => void;
  /** Randomness for jitter (tests pass a fixed one). */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface WriteStats {
  readonly rows: number;
  /** Bytes of the INSERTs' data: RowBinary bytes, or JSON text length (UTF-16 units). */
  readonly bytes: number;
  readonly inserts: number;
  readonly attempts: number;
  readonly durationMs: number;
  /** Building the rows (RowBinary or JSON text; JavaScript, main thread); overlaps insertMs when there are several INSERTs. */
  readonly serialiseMs?: number;
  /** From each INSERT's start to its end, summed (retries and their backoff included). */
  readonly insertMs?: number;
}

export interface SessionSink {
  write(states: readonly SessionState[], signal?: AbortSignal): Promise<WriteStats>;
}

/**
 * Per-call settings that cancel the client's defaults (undefined = not sent, on both transports).
 * The embedded transport (chdb/connection) sends each setting as a `SET k = v;` statement in
 * front of the INSERT and its inlined rows, and the engine then pays for every such statement
 * in proportion to the size of the whole text (BENCHMARKS.md, "Where a flush's time goes").
 * partialInsertSql carries what the insert needs.
 */
export const INSERT_CALL_SETTINGS: Readonly<Record<string, undefined>> = Object.fromEntries(
  Object.keys(COMMON_SETTINGS).map((k) => [k, undefined]),
);

/**
 * How a write is split. A flush of ~20 000 rows (the freshness bench's) goes as 4 INSERTs, so that
 * the first rows are visible before the whole flush is written and serialising overlaps
 * inserting; at most 4 per flush in the usual range (up to 200 000 rows), so that the parts
 * created stay ~1 per second per instance at FLUSH_INTERVAL_MS 5 000; at least 5 000 rows each,
 * so that an INSERT's fixed cost stays small (BENCHMARKS.md, freshness).
 */
export const DEFAULT_INSERT_SPLIT = { insertsPerWrite: 4, minRowsPerInsert: 5_000, maxRowsPerInsert: 50_000 } as const;

/** Rows per INSERT for a write of `rows`: rows / inserts, within [min, max]. */
export function rowsPerInsert(
  rows: number,
  split: { insertsPerWrite: number; minRowsPerInsert: number; maxRowsPerInsert: number },
): number {
  const max = Math.max(1, split.maxRowsPerInsert);
  return Math.min(max, Math.max(1, split.minRowsPerInsert, Math.ceil(rows / Math.max(1, split.insertsPerWrite))));
}

export class ClickHouseSessionSink implements SessionSink {
  readonly #client: ClickHouseClient;
  readonly #table: string;
  readonly #insertSql: string;
  readonly #split: { insertsPerWrite: number; minRowsPerInsert: number; maxRowsPerInsert: number };
  readonly #maxBytes: number;
  readonly #yieldEveryRows: number;
  readonly #idleYieldEveryRows: number;
  readonly #yield: () => Promise<void>;
  readonly #retry: RetryPolicy;
  readonly #options: SinkOptions;
  readonly #format: PartialFormat;
  /** RowBinary: the encoder and its buffer, reused by every write (one write at a time). */
  readonly #encoder: PartialRowBinaryEncoder | undefined;
  #encoderBusy = false;

  constructor(client: ClickHouseClient, options: SinkOptions) {
    this.#client = client;
    this.#table = names(options.schema).input;
    this.#format = options.format ?? (options.schema.embedded === true ? 'RowBinaryWithNamesAndTypes' : 'JSONCompactEachRow');
    this.#insertSql = partialInsertSql(this.#table, {
      distributed: options.schema.cluster !== undefined,
      embedded: options.schema.embedded === true,
      format: this.#format,
    });
    this.#encoder = this.#format === 'RowBinaryWithNamesAndTypes' ? new PartialRowBinaryEncoder() : undefined;
    this.#split = {
      insertsPerWrite: options.insertsPerWrite ?? DEFAULT_INSERT_SPLIT.insertsPerWrite,
      // a caller that bounds the rows (tests) gets chunks of at most that many
      minRowsPerInsert: options.minRowsPerInsert ?? Math.min(DEFAULT_INSERT_SPLIT.minRowsPerInsert, options.maxRowsPerInsert ?? Infinity),
      maxRowsPerInsert: options.maxRowsPerInsert ?? DEFAULT_INSERT_SPLIT.maxRowsPerInsert,
    };
    this.#maxBytes = options.maxBytesPerInsert ?? 64 * 1024 * 1024;
    this.#yieldEveryRows = Math.max(1, options.yieldEveryRows ?? 1_000);
    this.#idleYieldEveryRows = Math.max(1, options.idleYieldEveryRows ?? 10_000);
    this.#yield = options.yieldToEventLoop ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#options = options;
  }

  /**
   * Serialises the states chunk by chunk and inserts the chunks in order, one INSERT in flight:
   * chunk k+1 is built while chunk k's INSERT runs (on the embedded engine the INSERT runs off
   * the main thread). While an INSERT is in flight the building yields to the event loop every
   * `yieldEveryRows` rows, so that the consumer's I/O and batches are not held up; while none is
   * (the first chunk, which holds the states that waited longest, or a chunk the previous INSERT
   * finished before), only every `idleYieldEveryRows`, so that the engine does not wait for the
   * consumer's batches (BENCHMARKS.md, freshness). Resolves when every chunk is in; on a
   * failure, no later chunk is sent and the error is the write's.
   */
  async write(states: readonly SessionState[], signal?: AbortSignal): Promise<WriteStats> {
    const started = performance.now();
    let bytes = 0;
    let inserts = 0;
    let attempts = 0;
    let insertMs = 0;
    let serialiseMs = 0;
    const maxRows = rowsPerInsert(states.length, this.#split);
    let inflight: Promise<void> | undefined;
    /** An INSERT is running (the chunk being built is not awaited yet). */
    const engine = { inserting: false };
    const send = (body: ChunkBody): Promise<void> => {
      const t = performance.now();
      engine.inserting = true;
      const p = this.#insertWithRetry(body, signal).then(
        (n) => {
          engine.inserting = false;
          attempts += n;
          inserts += 1;
          bytes += body.bytes;
          insertMs += performance.now() - t;
        },
        (err: unknown) => {
          engine.inserting = false;
          throw err;
        },
      );
      // awaited below (before the next chunk is sent, or at the end); until then a failure is held, not unhandled
      p.catch(() => undefined);
      return p;
    };
    // the sink's encoder (its buffer grown to the usual chunk), or a new one for a write that overlaps another
    const encoder =
      this.#format === 'RowBinaryWithNamesAndTypes' ? (this.#encoderBusy ? new PartialRowBinaryEncoder() : this.#encoder) : undefined;
    const owns = encoder !== undefined && encoder === this.#encoder;
    if (owns) this.#encoderBusy = true;
    const chunk: ChunkBuilder = encoder === undefined ? new JsonChunk() : new RowBinaryChunk(encoder);
    let sliceStart = performance.now();
    /** Rows serialised since the last yield. */
    let sinceYield = 0;
    try {
      for (let i = 0; i < states.length; i += 1) {
        const state = states[i] as SessionState;
        chunk.add(state);
        if (chunk.rows > 1 && (chunk.rows > maxRows || chunk.bytes > this.#maxBytes)) {
          // the chunk without the row just added goes; that row starts the next one
          const body = chunk.takeAllButLast();
          serialiseMs += performance.now() - sliceStart;
          if (inflight !== undefined) await inflight;
          inflight = send(body);
          sliceStart = performance.now();
        }
        sinceYield += 1;
        if (sinceYield >= (engine.inserting ? this.#yieldEveryRows : this.#idleYieldEveryRows) && i + 1 < states.length) {
          sinceYield = 0;
          serialiseMs += performance.now() - sliceStart;
          await this.#yield();
          signal?.throwIfAborted();
          sliceStart = performance.now();
        }
      }
      serialiseMs += performance.now() - sliceStart;
      if (inflight !== undefined) await inflight;
      if (chunk.rows > 0) await send(chunk.takeAll());
    } finally {
      chunk.reset();
      if (owns) this.#encoderBusy = false;
    }
    return { rows: states.length, bytes, inserts, attempts, durationMs: performance.now() - started, serialiseMs, insertMs };
  }

  /** Insert one chunk (pre-serialised rows); returns the attempts it took. */
  async #insertWithRetry(chunk: ChunkBody, signal?: AbortSignal): Promise<number> {
    const body = chunk.data;
    const { attempts } = await retry(
      async () => {
        // exec with the text as the stream's one chunk: the rows are already JSON text, and
        // insert() would serialise them a second time. An object-mode stream hands the string
        // itself on: the embedded transport joins the body's chunks into one string (the SQL
        // text it runs), and a byte stream would encode it to a Buffer only to decode it back
        // (~4% of the service's JavaScript time in a profile); the HTTP transport writes strings
        // to the request as UTF-8. RowBinary: the Buffer, which the embedded transport escapes into
        // the string literal of an `INSERT … SELECT * FROM format(…)` and hands to chDB's raw
        // insert (client.ts, binaryInsertLiteral: inline binary data would end at a "\n\n").
        const result = await this.#client.exec({
          query: this.#insertSql,
          values: Readable.from([body], { objectMode: true }),
          clickhouse_settings: INSERT_CALL_SETTINGS,
          ...(signal === undefined ? {} : { abort_signal: signal }),
        });
        result.stream.destroy();
      },
      {
        policy: this.#retry,
        classify: (err) => {
          const error = classify(err, `insert of ${chunk.rows} session partials into ${this.#table}`);
          return error.retriable ? { retry: error } : { fail: error };
        },
        ...(this.#options.onRetry === undefined ? {} : { onRetry: this.#options.onRetry }),
        ...(signal === undefined ? {} : { signal }),
        ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
        ...(this.#options.sleep === undefined ? {} : { sleep: this.#options.sleep }),
      },
    );
    return attempts;
  }
}

/** One INSERT's data. */
interface ChunkBody {
  readonly data: string | Buffer;
  readonly rows: number;
  readonly bytes: number;
}

/** The chunk being built: rows are added one by one; a take hands them over and starts the next chunk. */
interface ChunkBuilder {
  readonly rows: number;
  /** Bytes of the chunk so far (JSON: text length in UTF-16 units, with the newlines). */
  readonly bytes: number;
  /** Adds a row; returns its bytes. */
  add(state: SessionState): number;
  takeAll(): ChunkBody;
  /** All rows but the last added, which stays as the next chunk's first. */
  takeAllButLast(): ChunkBody;
  reset(): void;
}

class JsonChunk implements ChunkBuilder {
  #lines: string[] = [];
  bytes = 0;
  get rows(): number {
    return this.#lines.length;
  }
  add(state: SessionState): number {
    const line = JSON.stringify(toPartialRow(state));
    this.#lines.push(line);
    this.bytes += line.length + 1;
    return line.length + 1;
  }
  takeAll(): ChunkBody {
    const body = { data: this.#lines.join('\n') + '\n', rows: this.#lines.length, bytes: this.bytes };
    this.reset();
    return body;
  }
  takeAllButLast(): ChunkBody {
    const last = this.#lines.pop() as string;
    const body = this.takeAll();
    this.#lines.push(last);
    this.bytes = last.length + 1;
    return { ...body, bytes: body.bytes - (last.length + 1) };
  }
  reset(): void {
    this.#lines = [];
    this.bytes = 0;
  }
}

/**
 * RowBinary rows in the encoder's reused buffer; a take copies the chunk's bytes out (the buffer
 * goes on to the next chunk while this one's INSERT runs, and an INSERT's retries send the same
 * bytes again).
 */
class RowBinaryChunk implements ChunkBuilder {
  readonly #encoder: PartialRowBinaryEncoder;
  rows = 0;
  #lastStart = 0;
  /** Each chunk starts with RowBinaryWithNamesAndTypes's header (the column names and types). */
  readonly #headerBytes: number;
  constructor(encoder: PartialRowBinaryEncoder) {
    this.#encoder = encoder;
    encoder.writer.off = 0;
    this.#headerBytes = encoder.header();
  }
  get bytes(): number {
    return this.#encoder.writer.off;
  }
  add(state: SessionState): number {
    this.#lastStart = this.#encoder.writer.off;
    const n = this.#encoder.encode(state);
    this.rows += 1;
    return n;
  }
  takeAll(): ChunkBody {
    const w = this.#encoder.writer;
    const body = { data: w.copy(0, w.off), rows: this.rows, bytes: w.off };
    this.reset();
    return body;
  }
  takeAllButLast(): ChunkBody {
    const w = this.#encoder.writer;
    const body = { data: w.copy(0, this.#lastStart), rows: this.rows - 1, bytes: this.#lastStart };
    // the last row moves to just after the header
    w.buf.copyWithin(this.#headerBytes, this.#lastStart, w.off);
    w.off = this.#headerBytes + (w.off - this.#lastStart);
    this.rows = 1;
    this.#lastStart = this.#headerBytes;
    return body;
  }
  reset(): void {
    this.#encoder.writer.off = this.#headerBytes;
    this.rows = 0;
    this.#lastStart = this.#headerBytes;
  }
}

export type { PartialRow };
