/**
 * The ClickHouse sink: session partials → inserts into `session_partials_in` (rows.ts).
 *
 * `write()` resolves only when every row is durably in ClickHouse; that resolution is the
 * source's permission to commit offsets (end-to-end acknowledgement). It splits large writes
 * into inserts of bounded rows and bytes, retries transient failures with exponential backoff
 * and full jitter, and never retries bad-data errors. Re-inserting a partial after an insert
 * whose outcome was unknown is harmless: merging partial states is idempotent.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { SessionState } from '@sessionizer/core';
import { COMMON_SETTINGS } from './client.js';
import { classify, type SinkError } from './errors.js';
import { partialInsertSql, toPartialRow, type PartialRow } from './rows.js';
import { names, type SchemaContext } from './schema/ddl.js';
import { DEFAULT_RETRY, retry, type RetryPolicy } from './retry.js';

export interface SinkOptions {
  readonly schema: SchemaContext;
  readonly maxRowsPerInsert?: number;
  readonly maxBytesPerInsert?: number;
  readonly retry?: RetryPolicy;
  /** Called before each retry: for logs, metrics and readiness. */
  readonly onRetry?: (error: SinkError, attempt: number, delayMs: number) => void;
  /** Randomness for jitter (tests pass a fixed one). */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface WriteStats {
  readonly rows: number;
  readonly bytes: number;
  readonly inserts: number;
  readonly attempts: number;
  readonly durationMs: number;
  /** Of durationMs: building the JSON text (JavaScript, main thread). */
  readonly serialiseMs?: number;
  /** Of durationMs: waiting for the INSERTs (retries and their backoff included). */
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

export class ClickHouseSessionSink implements SessionSink {
  readonly #client: ClickHouseClient;
  readonly #table: string;
  readonly #insertSql: string;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #retry: RetryPolicy;
  readonly #options: SinkOptions;

  constructor(client: ClickHouseClient, options: SinkOptions) {
    this.#client = client;
    this.#table = names(options.schema).input;
    this.#insertSql = partialInsertSql(this.#table, { distributed: options.schema.cluster !== undefined });
    this.#maxRows = options.maxRowsPerInsert ?? 50_000;
    this.#maxBytes = options.maxBytesPerInsert ?? 64 * 1024 * 1024;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#options = options;
  }

  async write(states: readonly SessionState[], signal?: AbortSignal): Promise<WriteStats> {
    const started = performance.now();
    let bytes = 0;
    let inserts = 0;
    let attempts = 0;
    let chunk: string[] = [];
    let chunkBytes = 0;
    let insertMs = 0;
    const flushChunk = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const t = performance.now();
      attempts += await this.#insertWithRetry(chunk, signal);
      insertMs += performance.now() - t;
      inserts += 1;
      bytes += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    for (const state of states) {
      const line = JSON.stringify(toPartialRow(state));
      if (chunk.length > 0 && (chunk.length >= this.#maxRows || chunkBytes + line.length + 1 > this.#maxBytes)) {
        await flushChunk();
      }
      chunk.push(line);
      chunkBytes += line.length + 1;
    }
    await flushChunk();
    const durationMs = performance.now() - started;
    return { rows: states.length, bytes, inserts, attempts, durationMs, serialiseMs: durationMs - insertMs, insertMs };
  }

  /** Insert one chunk (pre-serialised JSONCompactEachRow lines); returns the attempts it took. */
  async #insertWithRetry(lines: readonly string[], signal?: AbortSignal): Promise<number> {
    const body = lines.join('\n') + '\n';
    const { attempts } = await retry(
      async () => {
        // exec with the text as the stream's one chunk: the rows are already JSON text, and
        // insert() would serialise them a second time. An object-mode stream hands the string
        // itself on: the embedded transport joins the body's chunks into one string (the SQL
        // text it runs), and a byte stream would encode it to a Buffer only to decode it back
        // (~4% of the service's JavaScript time in a profile); the HTTP transport writes strings
        // to the request as UTF-8.
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
          const error = classify(err, `insert of ${lines.length} session partials into ${this.#table}`);
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

export type { PartialRow };
