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
import {
  createDatabaseSql,
  createMigrationsTableSql,
  createPartialStateTablesSql,
  names,
  sessionsViewSql,
  type SchemaContext,
} from './ddl.js';

export interface Migration {
  /** Versioned: '0001', '0002', …; repeatable: 'R__<name>'. */
  readonly version: string;
  readonly name: string;
  readonly repeatable: boolean;
  statements(ctx: SchemaContext): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  { version: '0001', name: 'partial-state tables', repeatable: false, statements: createPartialStateTablesSql },
  { version: 'R__sessions_view', name: 'sessions view', repeatable: true, statements: (ctx) => [sessionsViewSql(ctx)] },
];

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export interface MigrationReport {
  readonly database: string;
  readonly applied: readonly string[];
  readonly unchanged: readonly string[];
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
  options: { migrations?: readonly Migration[]; log?: (message: string) => void } = {},
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
  return { database: n.db, applied, unchanged };
}
