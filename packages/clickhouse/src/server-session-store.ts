/**
 * Where server-side session state lives between runs (the store contract of
 * `@sessionizer/core` server-sessions/assigner.ts): `write` puts a flush's changed keys at the
 * flush's offset snapshot, before the offsets are committed; `load` reads keys back as their
 * rows with the greatest version ≤ the offset where consumption resumes.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { formatTimestamp, KeyFilter, serverSessionKey, type KeyRef, type StateChange } from '@sessionizer/core';
import { classify, type SinkError } from './errors.js';
import { names, type SchemaContext } from './schema/ddl.js';
import { DEFAULT_RETRY, retry, type RetryPolicy } from './retry.js';
import { INSERT_CALL_SETTINGS } from './sink.js';

/** The keys one flush changed on one source partition, and the partition's offset snapshot. */
export interface StateWrite {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume after the flush's events (decimal string, as Kafka offsets). */
  readonly version: string;
  readonly changes: readonly StateChange[];
}

export interface ServerSessionStore {
  write(writes: readonly StateWrite[], signal?: AbortSignal): Promise<{ rows: number; bytes: number }>;
  load(topic: string, partition: number, keys: readonly KeyRef[], maxVersion: string, signal?: AbortSignal): Promise<StateChange[]>;
  /**
   * A filter holding every `team_id:distinct_id` with a row for the partition (any version), for
   * skipping the reads of keys that have none. Optional: without it every key not in memory is read.
   */
  storedKeys?(topic: string, partition: number, signal?: AbortSignal): Promise<KeyFilter>;
}

/** A filter's room: twice the keys stored, so that a partition's new keys fit before a rebuild. */
export const storedKeysCapacity = (stored: number): number => Math.max(100_000, 2 * stored);

export interface StoreOptions {
  readonly schema: SchemaContext;
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: SinkError, attempt: number, delayMs: number) => void;
  readonly random?: () => number;
}

/** 64-bit integers come unquoted (COMMON_SETTINGS). */
interface LoadedRow {
  team_id: number;
  distinct_id: string;
  session_id: string;
  start_us: number;
  last_us: number;
}

export class ClickHouseServerSessionStore implements ServerSessionStore {
  readonly #client: ClickHouseClient;
  readonly #table: string;
  readonly #options: StoreOptions;

  constructor(client: ClickHouseClient, options: StoreOptions) {
    this.#client = client;
    this.#table = `${names(options.schema).db}.server_session_state`;
    this.#options = options;
  }

  async write(writes: readonly StateWrite[], signal?: AbortSignal): Promise<{ rows: number; bytes: number }> {
    const lines: string[] = [];
    for (const w of writes) {
      for (const c of w.changes) {
        lines.push(
          JSON.stringify([
            w.topic,
            w.partition,
            c.teamId,
            c.distinctId,
            w.version,
            c.state.sessionId,
            formatTimestamp(c.state.start),
            formatTimestamp(c.state.last),
          ]),
        );
      }
    }
    if (lines.length === 0) return { rows: 0, bytes: 0 };
    const body = `${lines.join('\n')}\n`;
    const foreground = this.#options.schema.cluster === undefined ? '' : ', distributed_foreground_insert = 1';
    await this.#retrying(`insert of ${lines.length} server session states into ${this.#table}`, signal, async () => {
      const result = await this.#client.exec({
        query: `INSERT INTO ${this.#table} (topic, partition, team_id, distinct_id, version, session_id, start_ts, last_ts) SETTINGS async_insert = 0${foreground} FORMAT JSONCompactEachRow`,
        values: Readable.from([body], { objectMode: false }),
        clickhouse_settings: INSERT_CALL_SETTINGS,
        ...(signal === undefined ? {} : { abort_signal: signal }),
      });
      result.stream.destroy();
    });
    return { rows: lines.length, bytes: body.length };
  }

  async load(topic: string, partition: number, keys: readonly KeyRef[], maxVersion: string, signal?: AbortSignal): Promise<StateChange[]> {
    if (keys.length === 0) return [];
    const teams = [...new Set(keys.map((k) => k.teamId))];
    const ids = [...new Set(keys.map((k) => k.distinctId))];
    const wanted = new Set(keys.map((k) => `${k.teamId}:${k.distinctId}`));
    const rows = await this.#retrying(`read of ${keys.length} server session states from ${this.#table}`, signal, async () => {
      const rs = await this.#client.query({
        query: `SELECT team_id, distinct_id,
  toString(argMax(session_id, version)) AS session_id,
  toUnixTimestamp64Micro(argMax(start_ts, version)) AS start_us,
  toUnixTimestamp64Micro(argMax(last_ts, version)) AS last_us
FROM ${this.#table}
WHERE topic = {topic:String} AND partition = {partition:UInt32} AND team_id IN {teams:Array(Int64)}
  AND distinct_id IN {ids:Array(String)} AND version <= {version:UInt64}
GROUP BY team_id, distinct_id`,
        query_params: { topic, partition, teams, ids, version: maxVersion },
        format: 'JSONEachRow',
        ...(signal === undefined ? {} : { abort_signal: signal }),
      });
      return rs.json<LoadedRow>();
    });
    return rows
      .filter((r) => wanted.has(`${r.team_id}:${r.distinct_id}`))
      .map((r) => ({
        teamId: r.team_id,
        distinctId: r.distinct_id,
        state: { sessionId: r.session_id, start: r.start_us, last: r.last_us },
      }));
  }

  async storedKeys(topic: string, partition: number, signal?: AbortSignal): Promise<KeyFilter> {
    const where = 'WHERE topic = {topic:String} AND partition = {partition:UInt32}';
    const abort = signal === undefined ? {} : { abort_signal: signal };
    return this.#retrying(`read of the stored keys of ${topic}/${partition} from ${this.#table}`, signal, async () => {
      const counted = await this.#client.query({
        query: `SELECT uniqExact(team_id, distinct_id) AS n FROM ${this.#table} ${where}`,
        query_params: { topic, partition },
        format: 'JSONEachRow',
        ...abort,
      });
      const [row] = await counted.json<{ n: number | string }>();
      const filter = new KeyFilter(storedKeysCapacity(Number(row?.n ?? 0)));
      // streamed: a partition may hold millions of keys, the filter ~1.2 bytes each
      const rs = await this.#client.query({
        query: `SELECT DISTINCT team_id, distinct_id FROM ${this.#table} ${where}`,
        query_params: { topic, partition },
        format: 'JSONCompactEachRow',
        ...abort,
      });
      for await (const rows of rs.stream<[number, string]>()) {
        for (const r of rows) {
          const [teamId, distinctId] = r.json();
          filter.add(serverSessionKey(teamId, distinctId));
        }
      }
      return filter;
    });
  }

  /** The shared retry helper (retry.ts), classified like the sink's inserts. */
  async #retrying<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    const { value } = await retry(run, {
      policy: this.#options.retry ?? DEFAULT_RETRY,
      classify: (err) => {
        const error = classify(err, what);
        return error.retriable ? { retry: error } : { fail: error };
      },
      ...(this.#options.onRetry === undefined ? {} : { onRetry: this.#options.onRetry }),
      ...(signal === undefined ? {} : { signal }),
      ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
    });
    return value;
  }
}
