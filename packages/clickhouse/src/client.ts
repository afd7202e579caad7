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
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
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
    const client = createClient({ ...common, connection: conn as unknown as ClientConnection });
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
