/** `sessionizer migrate`: apply the schema migrations; applying twice is a no-op. */
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate, type MigrationReport, type SchemaContext } from '@sessionizer/clickhouse';

export async function runMigrate(client: ClickHouseClient, schema: SchemaContext): Promise<MigrationReport> {
  return migrate(client, schema);
}

export function formatMigrationReport(r: MigrationReport): string {
  const applied = r.applied.length === 0 ? 'nothing to apply' : `applied ${r.applied.join(', ')}`;
  return `migrations on ${r.database}: ${applied}${r.unchanged.length === 0 ? '' : `; up to date: ${r.unchanged.join(', ')}`}\n`;
}
