/**
 * Versioned, idempotent migrations, recorded in `<db>.schema_migrations`.
 *
 * - Versioned migrations run once, in order; each statement is itself idempotent
 *   (IF NOT EXISTS), so a crash between a statement and its record is harmless. A versioned
 *   migration whose text changed after it was applied is an error, never silently re-run.
 * - Repeatable migrations (the `sessions` view) run whenever their text changes, e.g. when the
 *   channel lists or the bounce threshold change; CREATE OR REPLACE makes that atomic.
 * Applying twice is a no-op.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { upgradeFromV1, type UpgradeOptions, type UpgradeReport } from './upgrade-v1.js';
import { UPGRADE_TO_0002 } from './upgrade-v1-target.js';
import {
  createDatabaseSql,
  createMigrationsTableSql,
  createPartialStateTablesSql,
  createServerSessionStateSql,
  names,
  sessionsViewSql,
  type SchemaContext,
} from './ddl.js';
import { embeddedMergeSettingsSql } from './merge-settings.js';

export interface Migration {
  /** Versioned: '0001', '0002', …; repeatable: 'R__<name>'. */
  readonly version: string;
  readonly name: string;
  readonly repeatable: boolean;
  statements(ctx: SchemaContext): string[];
}

/**
 * Schema versions: 0001 (ddl-v1.ts, frozen) kept argMin/argMax states of whole entry/exit
 * tuples; 0002 (ddl.ts) is the catalog's schema with SimpleAggregateFunction states. A fresh
 * database gets 0002 directly; a database that recorded 0001 needs its data carried over
 * (`V1_SCHEMA_VERSION`, see migrate()). 0003 adds server-side sessions' state table
 * (`server_session_state`), beside the partials. 0004 bounds the memory of `sessions_raw`'s merges
 * on the embedded engine (merge-settings.ts; no statements on a server).
 */
export const V1_SCHEMA_VERSION = '0001';
export const SCHEMA_VERSION = '0002';

export const MIGRATIONS: readonly Migration[] = [
  { version: SCHEMA_VERSION, name: 'catalog partial-state tables', repeatable: false, statements: createPartialStateTablesSql },
  { version: '0003', name: 'server session state', repeatable: false, statements: createServerSessionStateSql },
  { version: '0004', name: 'embedded merge memory', repeatable: false, statements: embeddedMergeSettingsSql },
  { version: 'R__sessions_view', name: 'sessions view', repeatable: true, statements: (ctx) => [sessionsViewSql(ctx)] },
];

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export interface MigrationReport {
  readonly database: string;
  readonly applied: readonly string[];
  readonly unchanged: readonly string[];
  /** What carrying schema-0001 data over did, when it ran. */
  readonly upgrade?: UpgradeReport;
}

export function checksum(statements: readonly string[]): string {
  return createHash('sha256').update(statements.join('\n;\n')).digest('hex').slice(0, 16);
}

/** Every statement migrate() would run on an empty database, in order (for review and tests). */
export function migrationSql(ctx: SchemaContext, migrations: readonly Migration[] = MIGRATIONS): string[] {
  return [createDatabaseSql(ctx), createMigrationsTableSql(ctx), ...migrations.flatMap((m) => m.statements(ctx))];
}

export async function migrate(
  client: ClickHouseClient,
  ctx: SchemaContext,
  options: {
    migrations?: readonly Migration[];
    log?: (message: string) => void;
    /** Carry a schema-0001 database over to 0002 (upgrade-v1.ts); `sessionizer migrate` sets it, the service does not. */
    upgradeV1?: boolean | UpgradeOptions;
  } = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? MIGRATIONS;
  const log = options.log ?? (() => undefined);
  const n = names(ctx);
  await client.command({ query: createDatabaseSql(ctx) });
  await client.command({ query: createMigrationsTableSql(ctx) });

  const rs = await client.query({
    query: `SELECT version, argMax(checksum, applied_at) AS checksum FROM ${n.migrations} GROUP BY version`,
    format: 'JSONEachRow',
  });
  const recorded = new Map((await rs.json<{ version: string; checksum: string }>()).map((r) => [r.version, r.checksum]));

  let upgrade: UpgradeReport | undefined;
  if (recorded.has(V1_SCHEMA_VERSION) && !recorded.has(SCHEMA_VERSION) && migrations === MIGRATIONS) {
    // Its tables have v1's columns under the names 0002 uses: creating 0002 would silently keep
    // them, and the new view would not read them. The data is carried over first, or nothing changes.
    if (options.upgradeV1 === undefined || options.upgradeV1 === false) {
      throw new MigrationError(
        `${n.db} holds sessions in schema v1 (migration ${V1_SCHEMA_VERSION}); this version writes schema ${SCHEMA_VERSION}. ` +
          `Nothing was changed. Run \`sessionizer migrate\` with this version to carry the v1 data over ` +
          `(docs/operations.md, "Upgrading data written by schema 0001").`,
      );
    }
    upgrade = await upgradeFromV1(client, ctx, UPGRADE_TO_0002, {
      log,
      ...(options.upgradeV1 === true ? {} : options.upgradeV1),
    });
    if (options.upgradeV1 !== true && options.upgradeV1.phase === 'prepare') {
      return { database: n.db, applied: [], unchanged: [], upgrade };
    }
  }
  const applied: string[] = [];
  const unchanged: string[] = [];
  for (const m of migrations) {
    const statements = m.statements(ctx);
    const sum = checksum(statements);
    const before = recorded.get(m.version);
    if (before === sum) {
      unchanged.push(m.version);
      continue;
    }
    if (before !== undefined && !m.repeatable) {
      throw new MigrationError(
        `migration ${m.version} (${m.name}) was changed after it was applied to ${n.db} ` +
          `(recorded checksum ${before}, now ${sum}); add a new migration instead of editing an applied one`,
      );
    }
    log(`migrate: applying ${m.version} (${m.name}) to ${n.db}`);
    for (const query of statements) await client.command({ query });
    await client.insert({
      table: n.migrations,
      values: [{ version: m.version, name: m.name, checksum: sum }],
      format: 'JSONEachRow',
    });
    applied.push(m.version);
  }
  return { database: n.db, applied, unchanged, ...(upgrade === undefined ? {} : { upgrade }) };
}
