/** `sessionizer migrate`: apply the schema migrations; applying twice is a no-op. */
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate, type MigrationReport, type SchemaContext } from '@sessionizer/clickhouse';
import { openClickHouse, schemaOf } from '../wiring.js';
import { CLICKHOUSE, type Command } from './command.js';

export async function runMigrate(client: ClickHouseClient, schema: SchemaContext): Promise<MigrationReport> {
  return migrate(client, schema);
}

export function formatMigrationReport(r: MigrationReport): string {
  const applied = r.applied.length === 0 ? 'nothing to apply' : `applied ${r.applied.join(', ')}`;
  return `migrations on ${r.database}: ${applied}${r.unchanged.length === 0 ? '' : `; up to date: ${r.unchanged.join(', ')}`}\n`;
}

export const migrateCommand: Command = {
  summary: 'apply the ClickHouse schema migrations (idempotent)',
  usage: 'sessionizer migrate [options]',
  settings: [...CLICKHOUSE, 'bounceThreshold', 'bounceThresholdsByTeam', 'channelRulesFile'],
  options: {},
  optionsHelp: '',
  async run({ config, io }) {
    const ch = openClickHouse(config);
    try {
      io.stdout.write(formatMigrationReport(await runMigrate(ch.client, schemaOf(config))));
      return 0;
    } finally {
      await ch.close();
    }
  },
};
