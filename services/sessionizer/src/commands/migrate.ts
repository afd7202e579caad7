/** `sessionizer migrate`: apply the schema migrations (carrying schema-0001 data over); applying twice is a no-op. */
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate, type MigrationReport, type SchemaContext } from '@sessionizer/clickhouse';
import { openClickHouse, schemaOf } from '../wiring.js';
import { CLICKHOUSE, type Command } from './command.js';

/** Carries a schema-0001 database over to the current schema (the service's own start refuses to). */
async function runMigrate(
  client: ClickHouseClient,
  schema: SchemaContext,
  log: (message: string) => void = () => undefined,
  prepareOnly = false,
): Promise<MigrationReport> {
  return migrate(client, schema, { upgradeV1: prepareOnly ? { phase: 'prepare' } : true, log });
}

function formatMigrationReport(r: MigrationReport): string {
  const applied = r.applied.length === 0 ? 'nothing to apply' : `applied ${r.applied.join(', ')}`;
  const u = r.upgrade;
  const upgrade =
    u === undefined
      ? ''
      : `schema 0001 data on ${r.database}: ${u.steps.at(-1) ?? ''}` +
        (u.sessionsBefore === undefined ? '' : ` (sessions: ${u.sessionsBefore} in 0001, ${u.sessionsAfter ?? 0} in the new table)`) +
        '\n';
  return `${upgrade}migrations on ${r.database}: ${applied}${r.unchanged.length === 0 ? '' : `; up to date: ${r.unchanged.join(', ')}`}\n`;
}

export const migrateCommand: Command = {
  summary: 'apply the ClickHouse schema migrations (idempotent); carry schema-0001 data over',
  usage: 'sessionizer migrate [--prepare] [options]',
  settings: [...CLICKHOUSE, 'bounceThresholdSeconds', 'bounceThresholdSecondsByTeam', 'channelRulesFile'],
  options: { prepare: { type: 'boolean' } },
  optionsHelp:
    '  --prepare                schema-0001 data: only copy it into the new table (old instances may keep writing);\n' +
    '                           run again without it, old instances stopped, to cut over (docs/operations.md)',
  async run({ config, values, io }) {
    const ch = openClickHouse(config);
    try {
      const log = (m: string): void => {
        io.stderr.write(`${m}\n`);
      };
      io.stdout.write(formatMigrationReport(await runMigrate(ch.client, schemaOf(config), log, values['prepare'] === true)));
      return 0;
    } finally {
      await ch.close();
    }
  },
};
