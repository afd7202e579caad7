/**
 * @sessionizer/clickhouse: the client factory (HTTP or embedded chDB), migrations and the schema
 * upgrade, the session sink and the server session store, read-only queries, and the one retry
 * helper (backoff with full jitter, abortable).
 */
export {
  type ClickHouseHandle,
  type ClickHouseOptions,
  COMMON_SETTINGS,
  createClickHouse,
  EmbeddedClickHouseLockedError,
} from './client.js';
export { SinkError } from './errors.js';
export { parseAstDump, queryReadOnly, ReadOnlyRefusal, refusalOf } from './read-only.js';
export { PARTIAL_COLUMNS, partialInsertSql, toPartialRow } from './rows.js';
export { retry, type RetryOptions, type RetryPolicy, sleep } from './retry.js';
export { ClickHouseSessionSink, INSERT_CALL_SETTINGS, type SessionSink, type SinkOptions, type WriteStats } from './sink.js';
export { type ChannelSqlColumns, channelTypeSql } from './schema/channel-sql.js';
export { createDatabaseSql, createMigrationsTableSql, names, type SchemaContext } from './schema/ddl.js';
export { createPartialStateTablesV1Sql } from './schema/ddl-v1.js';
export { EMBEDDED_RAW_TABLE_SETTINGS } from './schema/merge-settings.js';
export {
  checksum,
  migrate,
  type Migration,
  MigrationError,
  type MigrationReport,
  MIGRATIONS,
  V1_SCHEMA_VERSION,
} from './schema/migrate.js';
export { V1_TYPES, v1SessionsSql } from './schema/v1-states.js';
export { upgradeFromV1, upgradeNames } from './schema/upgrade-v1.js';
export { UPGRADE_TO_0002 } from './schema/upgrade-v1-target.js';
export { ClickHouseServerSessionStore, type ServerSessionStore, type StateWrite, type StoreOptions } from './server-session-store.js';
