/**
 * Run SQL on someone else's behalf, read-only — enforced by ClickHouse, not by our reading of
 * the text. Anything that runs a user's SQL (the service's /query endpoint, the overview page)
 * goes through `queryReadOnly`.
 *
 * What was seen on the embedded engine (chDB 3.4, ClickHouse 26.7) decides the layers:
 * - `readonly=1` on the query refuses writes, DDL, `SETTINGS` changes and the table functions
 *   `file`, `url`, `s3`, `remote`, `executable`, `mysql`, `filesystem`…, but NOT: the scalar
 *   `file('/etc/passwd')`, a table function on the right of `IN` (`1 IN file(…)` read the file,
 *   and the error message quoted it), a subquery's own `SETTINGS readonly=0` (with the analyzer,
 *   a subquery's settings are not checked against the outer query's readonly), nor
 *   `INTO OUTFILE` (written by the embedded client layer, readonly or not).
 * - The embedded engine runs every statement of a multi-statement text, and its lexer knows
 *   more than any hand-written one (heredocs `$$…$$`, nested comments).
 *
 * So, in order, each step by ClickHouse itself:
 * 1. `formatQuerySingleLine({sql:String})`: the text is a query *parameter*, parsed by the
 *    engine as exactly one statement (more is a syntax error), never executed. Its answer, the
 *    canonical text (no comments, literals re-quoted), is what the next steps see and run.
 * 2. `SELECT explain FROM (EXPLAIN AST <canonical>)`: the engine refuses anything but a SELECT
 *    there, and any FORMAT or INTO OUTFILE. Its syntax tree is walked: no `SETTINGS` anywhere,
 *    no function that is a table function outside a small allowlist (numbers, values…) —
 *    wherever it stands, so `IN file(…)` and the scalar `file()` are caught too.
 * 3. `<canonical> FORMAT JSONEachRow SETTINGS readonly = 1, max_result_bytes, max_execution_time`:
 *    settings after FORMAT belong to the whole query (not to the last SELECT of a UNION).
 *
 * Never `clickhouse_settings: { readonly: 1 }` here: chdb/connection turns per-call settings into
 * `SET` statements on its one session, and `readonly=1` cannot be unset: the service's own
 * writes would fail from then on.
 */
import { randomUUID } from 'node:crypto';
import { ResultSet, type ClickHouseClient } from '@clickhouse/client';

/** The statement is not allowed here: the caller's mistake (HTTP 400), not a failure. */
export class ReadOnlyRefusal extends Error {
  override readonly name = 'ReadOnlyRefusal';
}

export interface ReadOnlyOptions {
  /** Query parameters (`{name:Type}` in the SQL): values never become SQL text. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** The engine stops a result past this many bytes (embedded: a result is held in memory whole). */
  readonly maxResultBytes?: number;
  readonly maxExecutionSeconds?: number;
  readonly abortSignal?: AbortSignal;
}

export const READ_ONLY_DEFAULTS = { maxResultBytes: 256 * 1024 ** 2, maxExecutionSeconds: 300 } as const;

/**
 * Table functions that read nothing but their arguments (or generate numbers). Every other
 * table function (the engine lists them in system.table_functions) is refused, so one that a
 * later engine adds is refused until someone decides otherwise.
 */
const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(
  [
    'numbers',
    'numbers_mt',
    'zeros',
    'zeros_mt',
    'generate_series',
    'generateSeries',
    'primes',
    'values',
    'SQLStandardValues',
    'null',
    'format',
    'view',
  ].map((n) => n.toLowerCase()),
);

/**
 * Refused even when the engine's list cannot be read (a server user without access to system
 * tables): every table function of ClickHouse 26.7 that reaches files, other servers or
 * processes, and the scalar functions that do (`file` reads a file, `catboostEvaluate` loads a
 * model from a path).
 */
const ALWAYS_REFUSED: ReadonlySet<string> = new Set(
  [
    'file',
    'fileCluster',
    'filesystem',
    'url',
    'urlCluster',
    's3',
    's3Cluster',
    'gcs',
    'oss',
    'cosn',
    'hdfs',
    'hdfsCluster',
    'azureBlobStorage',
    'azureBlobStorageCluster',
    'remote',
    'remoteSecure',
    'cluster',
    'clusterAllReplicas',
    'executable',
    'mysql',
    'postgresql',
    'mongodb',
    'redis',
    'sqlite',
    'jdbc',
    'odbc',
    'input',
    'dictionary',
    'merge',
    'loop',
    'iceberg',
    'icebergLocal',
    'icebergS3',
    'deltaLake',
    'deltaLakeLocal',
    'hudi',
    'paimon',
    'paimonLocal',
    'ytsaurus',
    'prometheusQuery',
    'prometheusQueryRange',
    'arrowFlight',
    'catboostEvaluate',
  ].map((n) => n.toLowerCase()),
);

const SETTINGS_REFUSED = 'SETTINGS are not allowed here (the query runs with readonly=1)';

/** One node of the engine's `EXPLAIN AST` dump. */
export interface AstNode {
  readonly kind: string;
  /** Function name, identifier, literal… whatever follows the kind on its line. */
  readonly name: string;
  readonly depth: number;
  readonly children: number;
}

/**
 * Parse the lines of `EXPLAIN AST` (one node per line, one space of indentation per level,
 * `(children N)` on nodes that have any). The dump must be a single well-formed tree: a name
 * with a line break in it (a quoted identifier) would show up as extra lines, so any
 * inconsistency refuses the statement rather than guessing.
 */
export function parseAstDump(lines: readonly string[]): AstNode[] {
  const nodes: AstNode[] = [];
  for (const line of lines) {
    const m = /^( *)([A-Za-z_]+)(.*?)(?: \(children (\d+)\))?$/.exec(line);
    if (m === null) throw new ReadOnlyRefusal('the statement could not be inspected (unexpected syntax tree)');
    nodes.push({ kind: m[2] ?? '', name: (m[3] ?? '').trim(), depth: (m[1] ?? '').length, children: Number(m[4] ?? 0) });
  }
  // Each node's children are exactly the following nodes one level deeper, up to the next node
  // at its own level or above.
  let i = 0;
  const walk = (depth: number): void => {
    const node = nodes[i];
    if (node === undefined || node.depth !== depth)
      throw new ReadOnlyRefusal('the statement could not be inspected (malformed syntax tree)');
    i += 1;
    for (let c = 0; c < node.children; c += 1) walk(depth + 1);
  };
  if (nodes.length === 0) throw new ReadOnlyRefusal('the statement could not be inspected (empty syntax tree)');
  walk(0);
  if (i !== nodes.length) throw new ReadOnlyRefusal('the statement could not be inspected (malformed syntax tree)');
  return nodes;
}

/** The reasons a parsed statement is refused; none means allowed. */
export function refusalOf(nodes: readonly AstNode[], tableFunctions: ReadonlySet<string>): string | undefined {
  const root = nodes[0];
  if (root === undefined || !/^Select(WithUnion|IntersectExcept)Query$/.test(root.kind)) {
    return `only read-only statements are allowed here: SELECT or WITH … SELECT (got ${root?.kind ?? 'nothing'})`;
  }
  for (const n of nodes) {
    if (n.kind === 'Set') return SETTINGS_REFUSED;
    if (n.kind === 'Function') {
      const name = /^\S*/.exec(n.name)?.[0] ?? '';
      const key = name.toLowerCase();
      if (ALWAYS_REFUSED.has(key) || (tableFunctions.has(key) && !ALLOWED_TABLE_FUNCTIONS.has(key))) {
        return `${name}() is not allowed here: functions that read files, URLs, other servers or processes are refused`;
      }
    }
  }
  return undefined;
}

const tableFunctionCache = new WeakMap<ClickHouseClient, Promise<ReadonlySet<string>>>();

/** The engine's table functions, lower-cased, read once per client (empty when not readable). */
function tableFunctionsOf(client: ClickHouseClient): Promise<ReadonlySet<string>> {
  let cached = tableFunctionCache.get(client);
  if (cached === undefined) {
    cached = (async () => {
      try {
        const rows = await jsonRows<{ name: string }>(client, 'SELECT name FROM system.table_functions');
        return new Set(rows.map((r) => r.name.toLowerCase()));
      } catch {
        tableFunctionCache.delete(client);
        return new Set<string>();
      }
    })();
    tableFunctionCache.set(client, cached);
  }
  return cached;
}

/**
 * Our own inspection queries, rows as objects; read-only too (`readonly = 2` where the engine
 * refuses level 1: it counts `EXPLAIN` in a subquery as a table function).
 */
async function jsonRows<T>(
  client: ClickHouseClient,
  query: string,
  { params, signal, readonly = 1 }: { params?: Readonly<Record<string, unknown>>; signal?: AbortSignal | undefined; readonly?: 1 | 2 } = {},
): Promise<T[]> {
  const rs = await client.exec({
    query: `${query}\nFORMAT JSONEachRow\nSETTINGS readonly = ${readonly}`,
    ...(params === undefined ? {} : { query_params: { ...params } }),
    ...(signal === undefined ? {} : { abort_signal: signal }),
  });
  const rows = await ResultSet.instance({
    stream: rs.stream,
    format: 'JSONEachRow',
    query_id: rs.query_id,
    log_error: () => undefined,
    response_headers: rs.response_headers,
  }).json<T>();
  return rows;
}

/** The name of the parameter that carries the SQL to the parser: not one a caller would pick. */
const SQL_PARAM = 'sessionizer_read_only_sql';

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim();
}

/**
 * Check `sql` with the engine's parser and return the canonical statement that
 * `queryReadOnly` runs. Throws `ReadOnlyRefusal` with the reason.
 */
export async function checkReadOnly(
  client: ClickHouseClient,
  sql: string,
  { params, signal }: { params?: Readonly<Record<string, unknown>> | undefined; signal?: AbortSignal | undefined } = {},
): Promise<string> {
  if (sql.trim() === '') throw new ReadOnlyRefusal('no SQL');
  let canonical: string;
  try {
    const [row] = await jsonRows<{ q: string }>(client, `SELECT formatQuerySingleLine({${SQL_PARAM}:String}) AS q`, {
      params: { [SQL_PARAM]: sql },
      signal,
    });
    canonical = row?.q ?? '';
  } catch (err) {
    const m = messageOf(err);
    if (/Multi-statements are not allowed/i.test(m)) throw new ReadOnlyRefusal('one statement at a time');
    if (/Empty query/i.test(m)) throw new ReadOnlyRefusal('no SQL');
    throw new ReadOnlyRefusal(m.replace(/\s*:\s*In scope SELECT formatQuerySingleLine[\s\S]*$/, ''));
  }
  if (canonical === '' || /[\r\n]/.test(canonical)) throw new ReadOnlyRefusal('the statement could not be inspected');
  let lines: string[];
  try {
    // placeholders ({name:Type}) need their values even to be explained
    const rows = await jsonRows<{ explain: string }>(client, `SELECT explain FROM (EXPLAIN AST ${canonical})`, {
      params,
      signal,
      readonly: 2,
    });
    lines = rows.map((r) => r.explain);
  } catch (err) {
    const m = messageOf(err);
    if (/supports only SELECT/i.test(m)) {
      const kind = /^[A-Za-z]+/.exec(canonical)?.[0]?.toUpperCase() ?? 'nothing';
      throw new ReadOnlyRefusal(`only read-only statements are allowed here: SELECT or WITH … SELECT (got ${kind})`);
    }
    if (/Cannot modify '.*' setting in readonly mode/i.test(m)) throw new ReadOnlyRefusal(SETTINGS_REFUSED);
    if (/output options/i.test(m)) throw new ReadOnlyRefusal('INTO OUTFILE and FORMAT are not allowed here (the output is JSONEachRow)');
    throw new ReadOnlyRefusal(m);
  }
  const refusal = refusalOf(parseAstDump(lines), await tableFunctionsOf(client));
  if (refusal !== undefined) throw new ReadOnlyRefusal(refusal);
  return canonical;
}

const queues = new WeakMap<ClickHouseClient, Promise<unknown>>();

/** One read-only query at a time per client (see `queryReadOnly`). */
function serialized<T>(client: ClickHouseClient, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve();
  const run = previous.then(task, task);
  queues.set(
    client,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * Run one user-supplied SELECT read-only: checked by the engine's parser (`checkReadOnly`), run
 * with `readonly=1` and bounds on result size and time. Rows come as JSONEachRow.
 * `ReadOnlyRefusal` when the statement is not allowed; ClickHouse's error when it fails.
 *
 * The embedded engine keeps the output of a query that failed midway (a result limit, a
 * timeout, `throwIf`) and hands it out at the front of the next query's result on the same
 * session (seen with chDB 3.4). So a failed run is followed at once by a throw-away query that
 * takes those leftovers, and read-only runs go one at a time, so that no reader receives
 * another's rows. The service's own statements are INSERTs, whose output nobody reads.
 */
export function queryReadOnly(client: ClickHouseClient, sql: string, options: ReadOnlyOptions = {}): Promise<ResultSet<'JSONEachRow'>> {
  const maxBytes = options.maxResultBytes ?? READ_ONLY_DEFAULTS.maxResultBytes;
  const maxSeconds = options.maxExecutionSeconds ?? READ_ONLY_DEFAULTS.maxExecutionSeconds;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || !Number.isSafeInteger(maxSeconds) || maxSeconds < 0) {
    return Promise.reject(new RangeError('maxResultBytes and maxExecutionSeconds must be non-negative integers'));
  }
  return serialized(client, async () => {
    const canonical = await checkReadOnly(client, sql, { params: options.params, signal: options.abortSignal });
    const query_id = randomUUID();
    let rs;
    try {
      rs = await client.exec({
        query: `${canonical}\nFORMAT JSONEachRow\nSETTINGS readonly = 1, max_result_bytes = ${maxBytes}, max_execution_time = ${maxSeconds}`,
        query_id,
        ...(options.params === undefined ? {} : { query_params: { ...options.params } }),
        ...(options.abortSignal === undefined ? {} : { abort_signal: options.abortSignal }),
      });
    } catch (err) {
      await drain(client);
      throw err;
    }
    return ResultSet.instance({
      stream: rs.stream,
      format: 'JSONEachRow',
      query_id,
      log_error: () => undefined,
      response_headers: rs.response_headers,
    });
  });
}

/** Take the leftovers of a failed query (embedded engine); harmless on a server. */
async function drain(client: ClickHouseClient): Promise<void> {
  try {
    const rs = await client.exec({ query: "SELECT 'drain' FORMAT TabSeparated SETTINGS readonly = 1" });
    rs.stream.resume();
    rs.stream.on('error', () => undefined);
  } catch {
    // nothing to take, or the engine is down: the next query will say so
  }
}
