/**
 * @sessionizer/clickhouse/testing: what only the tests, fuzzers and benchmarks reach into: table
 * names, the raw insert rows (JSON and RowBinary) and settings, the DDL and checksums to build a v1 database by hand,
 * the v1 upgrade's parts and the parser under the read-only check. A development entry point:
 * production code never imports it (scripts/boundaries.ts).
 */
export { binaryInsertLiteral, chdbRawInsert, COMMON_SETTINGS } from './client.js';
export { classify } from './errors.js';
export { PartialRowBinaryEncoder, parseChType, RowBinaryWriter, showChType } from './row-binary.js';
export { parseAstDump, refusalOf } from './read-only.js';
export { PARTIAL_COLUMNS, partialInsertSql, toPartialRow } from './rows.js';
export { PARTIAL_COLUMN_TYPES } from './schema/ddl.js';
export { DEFAULT_INSERT_SPLIT, INSERT_CALL_SETTINGS, rowsPerInsert } from './sink.js';
export { type ChannelSqlColumns, channelTypeSql } from './schema/channel-sql.js';
export { createDatabaseSql, createMigrationsTableSql, names } from './schema/ddl.js';
export { createPartialStateTablesV1Sql } from './schema/ddl-v1.js';
export { EMBEDDED_RAW_TABLE_SETTINGS } from './schema/merge-settings.js';
export { checksum, MIGRATIONS, V1_SCHEMA_VERSION } from './schema/migrate.js';
export { V1_TYPES, v1SessionsSql } from './schema/v1-states.js';
export { upgradeFromV1, upgradeNames } from './schema/upgrade-v1.js';
export { UPGRADE_TO_0002 } from './schema/upgrade-v1-target.js';
