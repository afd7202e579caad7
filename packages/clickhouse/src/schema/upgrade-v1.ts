/**
 * The upgrade of a schema-0001 `sessions_raw` (argMin/argMax states) to a raw table of the new
 * state layout, in place, without losing or doubling a session. Two phases, each idempotent and
 * resumable; the state of the database says what is done, never a flag alone:
 *
 * Phase A, `prepare` (old consumers may keep writing):
 *   1. CREATE the new raw table under a temporary name (`sessions_raw_next`), and a *bridge*
 *      materialized view from the old input table into it, so that every old partial written
 *      from now on also lands in the new layout.
 *   2. Barrier: wait until no INSERT into the old input table that started before the bridge
 *      existed is still running (system.processes; clusterAllReplicas in cluster mode). After
 *      it, every old partial is in the old raw table or passes through the bridge.
 *   3. Copy the old raw table partition by partition: INSERT … SELECT of v1SessionsSql (states
 *      read back as keys and values, every state checked to rebuild byte for byte), recorded
 *      per partition in `schema_upgrade_v1`. A crash mid-copy re-copies the partition: rows may
 *      be written twice, sessions never change, because every new state (min/max of (key,
 *      value), uniqExact of uuids) is idempotent: a duplicate row merges to the same session.
 * Phase B, cut-over (old consumers stopped; one still running cannot do harm):
 *   4. RENAME the old input table away (`session_partials_in_v1`): an old instance still
 *      running gets UNKNOWN_TABLE (not retried), so it commits nothing past the cut-over and its
 *      events are read again by the new release.
 *   5. Compare the two tables session by session (a fingerprint of every value 0001 kept):
 *      they must be equal, else it stops here.
 *   6. DROP the old materialized view and the bridge; EXCHANGE the raw tables; RENAME the old
 *      one to `sessions_raw_v1`, kept as a backup (drop it when satisfied; docs/operations.md);
 *      count the sessions of both.
 * The release's own migrations then create the new input table, view and `sessions` view.
 *
 * Cluster mode: DDL carries ON CLUSTER; renames and the exchange act on the `_local` tables; the
 * copy reads and writes the Distributed tables (both sharded by cityHash64(session_id)), so it
 * streams through the node migrate is connected to; the Distributed `sessions_raw` is re-created
 * over the new local table. Only the emitted SQL is tested here, not a running cluster.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { names, type SchemaContext } from './ddl.js';
import { v1SessionsSql } from './v1-states.js';

/** What the new layout is: supplied by the release that adopts it (upgrade-v1-target.ts). */
export interface UpgradeTarget {
  /** CREATE TABLE IF NOT EXISTS of the new raw table as `table` (its Keeper path named after `zkName` in cluster mode). */
  createRawSql(ctx: SchemaContext, table: string, zkName: string): string;
  /**
   * SELECT list over one v1SessionsSql row giving the new raw table's columns, in order and by
   * name; `v1_distinct_id` is 0001's distinct_id (so that a column may be called distinct_id).
   */
  readonly fromV1Session: string;
  /** The same over one 0001 session_partials_in row (the bridge: a materialized view maps by name). */
  readonly fromV1Partial: string;
  /**
   * A SELECT over a new raw table `source`, one row per session, of what both layouts keep
   * exactly; `v1ComparableSql` gives the same columns from a v1SessionsSql read. The cut-over
   * compares the two, session by session.
   */
  comparableSql(source: string): string;
  v1ComparableSql(v1Sessions: string): string;
}

export interface UpgradeNames {
  readonly next: string;
  readonly nextLocal: string;
  readonly bridge: string;
  readonly oldInputLocal: string;
  readonly oldInputRenamed: string;
  readonly backupLocal: string;
  readonly progress: string;
}

export function upgradeNames(ctx: SchemaContext): UpgradeNames {
  const n = names(ctx);
  const local = ctx.cluster === undefined ? '' : '_local';
  return {
    next: `${n.db}.sessions_raw_next`,
    nextLocal: `${n.db}.sessions_raw_next${local}`,
    bridge: `${n.db}.sessions_raw_bridge_mv`,
    oldInputLocal: n.inputLocal,
    oldInputRenamed: `${n.db}.session_partials_in_v1${local}`,
    backupLocal: `${n.db}.sessions_raw_v1${local}`,
    progress: `${n.db}.schema_upgrade_v1`,
  };
}

function engine(ctx: SchemaContext, kind: 'AggregatingMergeTree' | 'ReplacingMergeTree', table: string): string {
  if (ctx.cluster === undefined) return `${kind}()`;
  return `Replicated${kind}('/clickhouse/tables/{shard}/${ctx.database}/${table}', '{replica}')`;
}

/** Phase A's DDL, in order; each statement is idempotent. */
export function prepareSql(ctx: SchemaContext, target: UpgradeTarget): string[] {
  const n = names(ctx);
  const u = upgradeNames(ctx);
  const out = [
    `CREATE TABLE IF NOT EXISTS ${u.progress}${n.onCluster} (
  step String,
  partition String,
  sessions UInt64,
  at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ${engine(ctx, 'ReplacingMergeTree', 'schema_upgrade_v1')}
ORDER BY (step, partition)`,
    target.createRawSql(ctx, u.nextLocal, `sessions_raw_next${ctx.cluster === undefined ? '' : '_local'}`),
  ];
  if (ctx.cluster !== undefined) {
    out.push(`CREATE TABLE IF NOT EXISTS ${u.next}${n.onCluster} AS ${u.nextLocal}
ENGINE = Distributed(${ctx.cluster}, ${n.db}, sessions_raw_next_local, cityHash64(session_id))`);
  }
  out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${u.bridge}${n.onCluster} TO ${u.nextLocal} AS
SELECT
  ${target.fromV1Partial}
FROM (SELECT *, distinct_id AS v1_distinct_id FROM ${u.oldInputLocal})`);
  return out;
}

/** The copy of one partition (an `_partition_id` of the old raw table). */
export function copyPartitionSql(ctx: SchemaContext, target: UpgradeTarget, partition: string): string {
  const n = names(ctx);
  const u = upgradeNames(ctx);
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(partition)) throw new Error(`unexpected partition id '${partition}'`);
  return `INSERT INTO ${u.next}
SELECT
  ${target.fromV1Session}
FROM
(
  SELECT *,
    distinct_id AS v1_distinct_id,
    throwIf(empty_states > 0, 'a 0001 state without a value (never written by sessionizer): migration stopped') AS _no_empty,
    throwIf(exact = 0, 'a 0001 state does not rebuild from its key and value: migration stopped') AS _exact
  FROM (${v1SessionsSql({ source: n.raw, where: `_partition_id = '${partition}'` })})
)`;
}

/** Phase B's DDL, in order (the checks between them are in cutOver). */
export function cutOverSql(ctx: SchemaContext): {
  renameInput: string;
  drops: string[];
  exchange: string;
  backup: string;
  distributed: string[];
} {
  const n = names(ctx);
  const u = upgradeNames(ctx);
  const distributed =
    ctx.cluster === undefined
      ? []
      : [
          `DROP TABLE IF EXISTS ${u.next}${n.onCluster} SYNC`,
          `DROP TABLE IF EXISTS ${n.raw}${n.onCluster} SYNC`,
          `CREATE TABLE IF NOT EXISTS ${n.raw}${n.onCluster} AS ${n.rawLocal}
ENGINE = Distributed(${ctx.cluster}, ${n.db}, sessions_raw_local, cityHash64(session_id))`,
        ];
  return {
    renameInput: `RENAME TABLE ${u.oldInputLocal} TO ${u.oldInputRenamed}${n.onCluster}`,
    drops: [`DROP VIEW IF EXISTS ${n.mv}${n.onCluster} SYNC`, `DROP VIEW IF EXISTS ${u.bridge}${n.onCluster} SYNC`],
    exchange: `EXCHANGE TABLES ${n.rawLocal} AND ${u.nextLocal}${n.onCluster}`,
    backup: `RENAME TABLE ${u.nextLocal} TO ${u.backupLocal}${n.onCluster}`,
    distributed,
  };
}

export interface UpgradeReport {
  readonly database: string;
  readonly steps: readonly string[];
  /** Partitions copied in this run, with the sessions each holds in the new table. */
  readonly copied: readonly { readonly partition: string; readonly sessions: number }[];
  /** Sessions in the old raw table (the backup after the cut-over) and in the new one. */
  readonly sessionsBefore?: number;
  readonly sessionsAfter?: number;
  readonly rowsBefore?: number;
  readonly rowsAfter?: number;
  readonly backup?: string;
}

export interface UpgradeOptions {
  readonly log?: (message: string) => void;
  /** 'prepare' runs phase A only; 'all' (default) both phases. */
  readonly phase?: 'prepare' | 'all';
  /** Called after the bridge exists and before the barrier (tests write old partials here). */
  readonly afterBridge?: () => Promise<void>;
  /** Called after the copy and before the cut-over (tests write old partials here: only the bridge carries them). */
  readonly afterCopy?: () => Promise<void>;
  /** Bound on the barrier's wait for old inserts (default 10 minutes). */
  readonly barrierTimeoutMs?: number;
}

export class UpgradeError extends Error {
  override readonly name = 'UpgradeError';
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function tableExists(client: ClickHouseClient, qualified: string): Promise<boolean> {
  const [db, table] = qualified.split('.') as [string, string];
  const r = await rows<{ n: number }>(
    client,
    `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name = '${table}' SETTINGS output_format_json_quote_64bit_integers = 0`,
  );
  return (r[0]?.n ?? 0) > 0;
}

/** Whether a raw table still holds 0001 states (its `entry` is an argMin state). */
async function isV1Raw(client: ClickHouseClient, qualified: string): Promise<boolean> {
  const [db, table] = qualified.split('.') as [string, string];
  const r = await rows<{ type: string }>(
    client,
    `SELECT type FROM system.columns WHERE database = '${db}' AND table = '${table}' AND name = 'entry'`,
  );
  return r[0]?.type.startsWith('AggregateFunction(argMin') ?? false;
}

async function count(client: ClickHouseClient, query: string): Promise<number> {
  const r = await rows<{ n: number }>(client, `${query} SETTINGS output_format_json_quote_64bit_integers = 0`);
  return r[0]?.n ?? 0;
}

const sessionsIn = (table: string): string => `SELECT uniqExact(team_id, session_id) AS n FROM ${table}`;

/**
 * An order-independent fingerprint of a per-session read: the session count and the (wrapping)
 * sum of a hash of each session's values. Equal fingerprints of the 0001 table and the new one
 * mean every session kept every value; it needs no join, so no memory beyond the GROUP BY.
 */
export function fingerprintSql(comparable: string): string {
  return `SELECT count() AS sessions, toString(sum(sipHash64(toString(tuple(*))))) AS hash FROM (${comparable})
SETTINGS output_format_json_quote_64bit_integers = 0`;
}

/** Upgrade a 0001 database (see the module comment). Running it again after success does nothing. */
export async function upgradeFromV1(
  client: ClickHouseClient,
  ctx: SchemaContext,
  target: UpgradeTarget,
  options: UpgradeOptions = {},
): Promise<UpgradeReport> {
  const log = options.log ?? (() => undefined);
  const n = names(ctx);
  const u = upgradeNames(ctx);
  const steps: string[] = [];
  const copied: { partition: string; sessions: number }[] = [];
  const step = (message: string): void => {
    steps.push(message);
    log(`migrate: ${message}`);
  };

  if (await tableExists(client, u.progress)) {
    if ((await count(client, `SELECT count() AS n FROM ${u.progress} WHERE step = 'cut-over'`)) > 0) {
      return { database: n.db, steps: [`already upgraded; the 0001 data is kept as ${u.backupLocal}`], copied, backup: u.backupLocal };
    }
  }
  const rawIsV1 = (await tableExists(client, n.rawLocal)) && (await isV1Raw(client, n.rawLocal));
  const nextExists = await tableExists(client, u.nextLocal);
  if (!rawIsV1 && !nextExists && !(await tableExists(client, u.backupLocal))) {
    return { database: n.db, steps: ['no 0001 sessions_raw: nothing to upgrade'], copied };
  }

  if (rawIsV1) {
    // Phase A: the new table, the bridge (while the old input table exists), the copy.
    const writersMayRun = await tableExists(client, u.oldInputLocal);
    const ddl = prepareSql(ctx, target);
    for (const query of writersMayRun ? ddl : ddl.slice(0, -1)) await client.command({ query });
    step(`created ${u.nextLocal}${writersMayRun ? ` and the bridge ${u.bridge} from ${u.oldInputLocal}` : ''}`);
    if (writersMayRun) {
      if ((await count(client, `SELECT count() AS n FROM ${u.progress} WHERE step = 'bridge'`)) === 0) {
        await client.command({ query: `INSERT INTO ${u.progress} (step, partition, sessions) VALUES ('bridge', '', 0)` });
      }
      await options.afterBridge?.();
      await barrier(client, ctx, options.barrierTimeoutMs ?? 600_000);
      step('no insert older than the bridge is still running');
    }
    const done = new Set(
      (await rows<{ partition: string }>(client, `SELECT partition FROM ${u.progress} FINAL WHERE step = 'copy'`)).map((r) => r.partition),
    );
    const partitions = (await rows<{ p: string }>(client, `SELECT DISTINCT _partition_id AS p FROM ${n.raw} ORDER BY p`)).map((r) => r.p);
    for (const p of partitions) {
      if (done.has(p)) continue;
      await client.command({ query: copyPartitionSql(ctx, target, p) });
      const sessions = await count(client, `${sessionsIn(u.next)} WHERE _partition_id = '${p}'`);
      await client.command({ query: `INSERT INTO ${u.progress} (step, partition, sessions) VALUES ('copy', '${p}', ${sessions})` });
      copied.push({ partition: p, sessions });
      step(`copied partition ${p} of ${n.raw}: ${sessions} sessions`);
    }
    step(`copy complete: ${partitions.length} partition(s), ${partitions.length - copied.length} of them copied by an earlier run`);
    await options.afterCopy?.();
    if (options.phase === 'prepare') {
      const sessionsBefore = await count(client, sessionsIn(n.raw));
      const sessionsAfter = await count(client, sessionsIn(u.next));
      return { database: n.db, steps, copied, sessionsBefore, sessionsAfter };
    }
    // Phase B: stop old writers, compare, then swap.
    const cut = cutOverSql(ctx);
    if (writersMayRun) {
      await client.command({ query: cut.renameInput });
      step(`renamed ${u.oldInputLocal} to ${u.oldInputRenamed}: an old instance still running cannot write any more`);
    }
    const [v1, next] = [
      await fingerprint(client, target.v1ComparableSql(v1SessionsSql({ source: n.raw }))),
      await fingerprint(client, target.comparableSql(u.next)),
    ];
    if (v1.sessions !== next.sessions || v1.hash !== next.hash) {
      throw new UpgradeError(
        `${u.next} holds ${next.sessions} sessions, ${n.raw} ${v1.sessions}` +
          `${v1.sessions === next.sessions ? ', and their values differ' : ''}: the cut-over stopped before changing anything ` +
          `but the name of ${u.oldInputRenamed} (rename it back to resume writing with the old release)`,
      );
    }
    step(`compared: each of the ${v1.sessions} sessions has the same values in ${u.next} as in ${n.raw} (fingerprint ${v1.hash})`);
    for (const query of cut.drops) await client.command({ query });
    await client.command({ query: cut.exchange });
    step(`dropped ${n.mv} and ${u.bridge}; exchanged ${n.rawLocal} and ${u.nextLocal}`);
  }
  // After the exchange the temporary name holds the 0001 data: keep it as the backup.
  const cut = cutOverSql(ctx);
  if ((await tableExists(client, u.nextLocal)) && (await isV1Raw(client, u.nextLocal))) {
    await client.command({ query: cut.backup });
    step(`kept the 0001 data as ${u.backupLocal}`);
  }
  for (const query of cut.distributed) await client.command({ query });
  const backupRead = ctx.cluster === undefined ? u.backupLocal : `cluster(${ctx.cluster}, ${u.backupLocal})`;
  const sessionsBefore = await count(client, sessionsIn(backupRead));
  const sessionsAfter = await count(client, sessionsIn(n.raw));
  const rowsBefore = await count(client, `SELECT count() AS n FROM ${backupRead}`);
  const rowsAfter = await count(client, `SELECT count() AS n FROM ${n.raw}`);
  if (sessionsBefore !== sessionsAfter) {
    throw new UpgradeError(`the upgraded ${n.raw} holds ${sessionsAfter} sessions, the 0001 backup ${u.backupLocal} ${sessionsBefore}`);
  }
  await client.command({ query: `INSERT INTO ${u.progress} (step, partition, sessions) VALUES ('cut-over', '', ${sessionsAfter})` });
  step(`sessions: ${sessionsBefore} in the 0001 table (${rowsBefore} rows), ${sessionsAfter} in the new one (${rowsAfter} rows)`);
  return { database: n.db, steps, copied, sessionsBefore, sessionsAfter, rowsBefore, rowsAfter, backup: u.backupLocal };
}

async function fingerprint(client: ClickHouseClient, comparable: string): Promise<{ sessions: number; hash: string }> {
  const [r] = await rows<{ sessions: number; hash: string }>(client, fingerprintSql(comparable));
  return r ?? { sessions: 0, hash: '0' };
}

/** Wait until no INSERT into the old input table that started before the bridge is running. */
async function barrier(client: ClickHouseClient, ctx: SchemaContext, timeoutMs: number): Promise<void> {
  const u = upgradeNames(ctx);
  const processes = ctx.cluster === undefined ? 'system.processes' : `clusterAllReplicas(${ctx.cluster}, system.processes)`;
  // 'session_partials_in' matches the Distributed input (on the node the sink talks to) and the
  // _local one (the inserts it forwards to each shard).
  const table = 'session_partials_in';
  const query = `SELECT count() AS n FROM ${processes}
WHERE query_kind = 'Insert' AND positionCaseInsensitive(query, '${table}') > 0
  AND now64(3) - toIntervalMillisecond(toUInt64(elapsed * 1000)) <= (SELECT min(at) FROM ${u.progress} WHERE step = 'bridge')`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await count(client, query)) === 0) return;
    if (Date.now() > deadline)
      throw new UpgradeError(`inserts into ${u.oldInputLocal} older than the bridge still run after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
