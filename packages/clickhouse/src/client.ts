/**
 * One @clickhouse/client code path for both transports: a ClickHouse server over HTTP when a
 * URL is configured, otherwise the real ClickHouse engine embedded in-process through chDB
 * (`chdb/connection`). Everything above this file only sees a ClickHouseClient.
 *
 * The embedded engine locks its data directory: one process at a time. A second process gets
 * EmbeddedClickHouseLockedError, whose message says how to read instead. Within the process,
 * `readSession()` opens another chDB connection on the same directory: a query waits behind
 * whatever runs on its own connection (an insert), not behind other connections' work.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { createClient, parseError, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export interface ClickHouseOptions {
  /** HTTP(S) URL of a ClickHouse server; when absent the embedded engine is used. */
  readonly url?: string | undefined;
  /** CLICKHOUSE_USER and CLICKHOUSE_PASSWORD; unset, the client's own defaults apply. */
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** Data directory of the embedded engine (ignored with a URL). */
  readonly dataDir: string;
  /** Session default database; our own SQL always qualifies names, this is for ad-hoc SQL. */
  readonly database?: string | undefined;
  readonly requestTimeoutMs?: number | undefined;
}

export type Transport = 'http' | 'embedded';

/**
 * chdb/connection is typed against @clickhouse/client-common, of which @clickhouse/client 1.23
 * bundles its own copy: the declarations are identical, but TypeScript treats the two copies'
 * classes as distinct types. The cast bridges exactly that and nothing else.
 */
type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface ClickHouseHandle {
  readonly client: ClickHouseClient;
  readonly transport: Transport;
  /** Human-readable target, for logs: the URL (without password) or the data directory. */
  readonly target: string;
  /**
   * A handle for reads that must not wait behind this handle's writes: on the embedded engine a
   * new chDB connection to the same data directory (its own session: settings such as `USE`
   * are its own), on a server a handle on the same client (the server runs requests side by
   * side). Its owner closes it, before this handle.
   */
  readSession(): ClickHouseHandle;
  close(): Promise<void>;
}

/** Settings that make both transports answer the same way. */
export const COMMON_SETTINGS: ClickHouseSettings = {
  // The HTTP server quotes (U)Int64 in JSON by default and chDB does not; pick one.
  output_format_json_quote_64bit_integers: 0,
  date_time_output_format: 'simple',
  output_format_json_escape_forward_slashes: 0,
  // An insert returns once its rows are in the table: the sink's success is the permission to
  // commit offsets. (chDB defaults to async_insert=1, with which every insert also fails as soon
  // as the process's stdin is a pipe or a file: "both inlined and external data".)
  async_insert: 0,
};

export class EmbeddedClickHouseLockedError extends Error {
  readonly dataDir: string;
  readonly holderPid: number | undefined;
  constructor(dataDir: string, cause: unknown, holderPid?: number) {
    super(
      `the embedded ClickHouse data directory ${dataDir} is in use by another process${holderPid === undefined ? '' : ` (pid ${holderPid})`} ` +
        '(a running `sessionizer run`?). The embedded engine allows one process per directory. ' +
        '`sessionizer query` reads through a running `sessionizer run` by itself (its loopback /query endpoint); ' +
        'otherwise stop that process first, or use a ClickHouse server (CLICKHOUSE_URL), which has no such limit.',
      { cause },
    );
    this.name = 'EmbeddedClickHouseLockedError';
    this.dataDir = dataDir;
    this.holderPid = holderPid;
  }
}

/**
 * The pid of another live process holding the embedded engine's directory, if any. chDB's
 * error for a held directory carries no code (the lock message only goes to stderr), but
 * the holder writes `<dir>/status` with its PID while it runs.
 */
export function embeddedHolder(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/PID:\s*(\d+)/.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive but not ours to signal
    return (err as { code?: string }).code === 'EPERM' ? pid : undefined;
  }
}

export function createClickHouse(options: ClickHouseOptions): ClickHouseHandle {
  const common = {
    clickhouse_settings: COMMON_SETTINGS,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    application: 'sessionizer',
  };
  if (options.url !== undefined && options.url !== '') {
    const client = createClient({
      ...common,
      url: options.url,
      ...(options.user === undefined ? {} : { username: options.user }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.database === undefined ? {} : { database: options.database }),
    });
    const shown = new URL(options.url);
    shown.password = '';
    const target = shown.toString();
    const shared: ClickHouseHandle = {
      client,
      transport: 'http',
      target,
      readSession: () => shared,
      close: () => Promise.resolve(),
    };
    return { client, transport: 'http', target, readSession: () => shared, close: () => client.close() };
  }

  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dataDir });
  } catch (err) {
    const holder = embeddedHolder(dataDir);
    if (holder !== undefined || (err instanceof Error && /Cannot lock file|already running/.test(err.message))) {
      throw new EmbeddedClickHouseLockedError(dataDir, err, holder);
    }
    throw err;
  }
  const embedded = (conn: ReturnType<typeof createChdbConnection>): ClickHouseHandle => {
    const client = createClient({ ...common, connection: withBinaryInserts(conn, dataDir) as unknown as ClientConnection });
    return {
      client,
      transport: 'embedded',
      target: `embedded chDB at ${dataDir}`,
      // chDB allows several connections to the one directory bound in this process
      readSession: () => embedded(createChdbConnection({ path: dataDir })),
      close: () => client.close(),
    };
  };
  return embedded(connection);
}

// ---------------------------------------------------------------------------------------------
// Binary INSERTs on the embedded engine

/**
 * An INSERT whose data is RowBinaryWithNamesAndTypes (the sink's rows on the embedded engine):
 * `INSERT INTO <table> [SETTINGS …] FORMAT RowBinaryWithNamesAndTypes`.
 */
const BINARY_INSERT = /^(INSERT\s+INTO\s[\s\S]*?)\s+FORMAT\s+(RowBinaryWithNamesAndTypes)$/;

/** The largest statement the binary-insert connection parses: the data is in it, as a string literal. */
const BINARY_MAX_QUERY_SIZE = 2 ** 31;

interface ChdbNative {
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<{ rowsWritten?: number; bytesWritten?: number; elapsed?: number }>;
  QueryAsyncConnection(connection: unknown, sql: string, format: string): Promise<unknown>;
}
interface ChdbSession {
  readonly connection: unknown;
  close(): void;
}

/**
 * chDB's native raw insert, which takes a statement's text as two arguments, a string and a
 * Buffer, and runs them as one statement (chdb_query_n: with lengths, so any bytes, NUL included).
 * chDB 3.4.0 (package-lock.json) has it as `InsertRawAsyncConnection` on its native addon, reached
 * through chDB's own loader (`dist/loader.js`; no public entry point: its `session.insert({ values,
 * format })` admits text formats only). `test/integration/partial-insert.test.ts` fails when a chDB
 * upgrade changes this.
 */
export function chdbRawInsert(): { native: ChdbNative; Session: new (path: string) => ChdbSession; version: string } {
  const require = createRequire(import.meta.url);
  const chdbRequire = createRequire(require.resolve('chdb'));
  const loader = chdbRequire('./dist/loader.js') as { loadNative(): Partial<ChdbNative> };
  const native = loader.loadNative();
  const version = (chdbRequire('./package.json') as { version: string }).version;
  if (typeof native.InsertRawAsyncConnection !== 'function' || typeof native.QueryAsyncConnection !== 'function') {
    throw new Error(
      `chDB ${version}'s native addon has no InsertRawAsyncConnection/QueryAsyncConnection: binary inserts on the embedded engine need them (packages/clickhouse/src/client.ts)`,
    );
  }
  const { Session } = chdbRequire('./index.js') as { Session: new (path: string) => ChdbSession };
  return { native: native as ChdbNative, Session, version };
}

/** The bytes a ClickHouse string literal escapes with a backslash: `'` and `\`. */
const QUOTE = 0x27;
const BACKSLASH = 0x5c;

/** How many times `byte` occurs in `data` (Buffer.indexOf: native scans, no JavaScript loop per byte). */
function countByte(data: Buffer, byte: number): number {
  let n = 0;
  for (let i = data.indexOf(byte); i !== -1; i = data.indexOf(byte, i + 1)) n += 1;
  return n;
}

/**
 * The end of a binary INSERT's statement after `format(<format>,`: ` '<data>')`, `data` as the body
 * of a ClickHouse string literal: `\` and `'` escaped with a backslash, every other byte as it is
 * (NUL, newlines, bytes that are no UTF-8: the lexer takes them). Built in one output buffer of the
 * exact size: a count of the two bytes, then the runs between them copied (`Buffer.copy`) with a
 * backslash before each. Both steps find the bytes with `Buffer.indexOf`, which scans natively: the
 * bytes are rare in the encoder's rows (~0.6 per ~830-byte row of generated states), so the main
 * thread spends ~0.3 µs per row here instead of ~3.4 µs for a JavaScript loop per byte
 * (BENCHMARKS.md, *Escaping the embedded engine's binary literal*). `withBinaryInserts` sends it;
 * test/bench/hot-path.ts measures it.
 */
export function binaryInsertLiteral(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + countByte(data, QUOTE) + countByte(data, BACKSLASH) + 4);
  out[0] = 0x20; // ' '
  out[1] = QUOTE;
  let o = 2;
  let from = 0;
  let q = data.indexOf(QUOTE);
  let b = data.indexOf(BACKSLASH);
  while (q !== -1 || b !== -1) {
    let at: number;
    if (b === -1 || (q !== -1 && q < b)) {
      at = q;
      q = data.indexOf(QUOTE, q + 1);
    } else {
      at = b;
      b = data.indexOf(BACKSLASH, b + 1);
    }
    o += data.copy(out, o, from, at);
    out[o] = BACKSLASH;
    o += 1;
    // the byte itself starts the next run
    from = at;
  }
  o += data.copy(out, o, from, data.length);
  out[o] = QUOTE;
  out[o + 1] = 0x29; // ')'
  if (o + 2 !== out.length) throw new Error(`binaryInsertLiteral: wrote ${o + 2} of ${out.length} bytes`);
  return out;
}

type Conn = ReturnType<typeof createChdbConnection>;
type ExecParams = Parameters<Conn['exec']>[0];

/**
 * The chDB connection, with `exec` of an `INSERT … FORMAT RowBinaryWithNamesAndTypes` with values
 * run as `INSERT … SELECT * FROM format(RowBinaryWithNamesAndTypes, '<the data>')`.
 *
 * Why not the INSERT with the data after it, as the JSON rows go: chDB runs a statement's text in
 * the engine's multi-statement mode, where the data of an `INSERT … FORMAT X` ends at the first
 * empty line ("\n\n"); what follows is read as the next statement. JSON rows never hold two
 * newlines in a row; binary rows do (a string's bytes, a length of 10 followed by a string that
 * starts with one, an Int64 or UUID byte pair 0x0a 0x0a: measured 2026-12-02, every such INSERT
 * fails with CANNOT_READ_ALL_DATA; BENCHMARKS.md, *Binary partials on the embedded engine*). In a
 * string literal the bytes are just bytes (the `format` table function reads the structure from
 * the data's header).
 *
 * The statement goes through chDB's native raw insert (chdbRawInsert: the SQL text as a string,
 * the literal as a Buffer, never decoded to a JavaScript string) on a chDB connection of its own
 * to the same directory (opened on the first such INSERT; chDB allows several per directory, as
 * readSession() uses), whose max_query_size is raised for the literal. One such INSERT runs at a
 * time, and close() waits for the one in flight before closing it (chDB must not release a
 * connection with a query running on it). The statement carries its settings (rows.ts
 * partialInsertSql): per-call settings that are set are refused. The abort signal is checked
 * before the INSERT starts; once started, it runs to its end, as chDB's own inserts do. Errors
 * are the engine's, as ClickHouseError (code and type), like the other statements'.
 */
function withBinaryInserts(conn: Conn, dataDir: string): Conn {
  let raw: { native: ChdbNative; session: ChdbSession } | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const engineError = (err: unknown): Error => {
    const message = err instanceof Error ? err.message : String(err);
    const mapped = parseError(message);
    if (mapped !== err) (mapped as Error & { cause?: unknown }).cause = err;
    return mapped;
  };
  const binaryExec = async (params: ExecParams, statement: string, format: string): Promise<Awaited<ReturnType<Conn['exec']>>> => {
    const set = Object.entries(params.clickhouse_settings ?? {}).filter(([, v]) => v !== undefined);
    if (set.length > 0) {
      throw new Error(
        `a binary INSERT on the embedded engine takes its settings in its SETTINGS clause, not per call (${set.map(([k]) => k).join(', ')})`,
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of params.values as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array)) throw new Error(`a binary INSERT's data must be bytes, got ${typeof chunk}`);
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    const literal = binaryInsertLiteral(data);
    const run = async (): Promise<{ rowsWritten?: number; bytesWritten?: number; elapsed?: number }> => {
      params.abort_signal?.throwIfAborted();
      if (raw === undefined) {
        const { native, Session } = chdbRawInsert();
        const session = new Session(dataDir);
        try {
          await native.QueryAsyncConnection(session.connection, `SET max_query_size = ${BINARY_MAX_QUERY_SIZE}`, 'CSV');
        } catch (err) {
          session.close();
          throw engineError(err);
        }
        raw = { native, session };
      }
      try {
        return await raw.native.InsertRawAsyncConnection(
          raw.session.connection,
          `${statement} SELECT * FROM format(${format},`,
          literal,
          false,
        );
      } catch (err) {
        throw engineError(err);
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    const r = await result;
    const rows = String(r.rowsWritten ?? 0);
    const bytes = String(r.bytesWritten ?? data.length);
    return {
      stream: Readable.from([]),
      query_id: params.query_id ?? randomUUID(),
      response_headers: {},
      http_status_code: 200,
      summary: {
        read_rows: rows,
        read_bytes: bytes,
        written_rows: rows,
        written_bytes: bytes,
        result_rows: '0',
        result_bytes: '0',
        total_rows_to_read: '0',
        elapsed_ns: String(Math.round((r.elapsed ?? 0) * 1e9)),
      },
    };
  };
  return new Proxy(conn, {
    get(target, prop) {
      if (prop === 'exec') {
        return (params: ExecParams) => {
          const m = params.values === undefined ? null : BINARY_INSERT.exec(params.query.trim());
          return m === null ? target.exec(params) : binaryExec(params, m[1] as string, m[2] as string);
        };
      }
      if (prop === 'close') {
        return async () => {
          await queue;
          raw?.session.close();
          raw = undefined;
          await target.close();
        };
      }
      // the target as `this`: ChdbConnection keeps its state in private fields
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
