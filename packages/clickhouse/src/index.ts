/**
 * @sessionizer/clickhouse: the client factory (HTTP or embedded chDB), migrations and the schema
 * upgrade, the session sink and the server session store, read-only queries, and the one retry
 * helper (backoff with full jitter, abortable). What only tests and benchmarks use is in
 * `@sessionizer/clickhouse/testing` (`testing.ts`).
 */
export { type ClickHouseHandle, type ClickHouseOptions, createClickHouse, EmbeddedClickHouseLockedError } from './client.js';
export { SinkError } from './errors.js';
export { queryReadOnly, ReadOnlyRefusal } from './read-only.js';
export { retry, type RetryOptions, type RetryPolicy, sleep } from './retry.js';
export { ClickHouseSessionSink, type SessionSink, type SinkOptions, type WriteStats } from './sink.js';
export { type SchemaContext } from './schema/ddl.js';
export { migrate, type Migration, MigrationError, type MigrationReport } from './schema/migrate.js';
export { ClickHouseServerSessionStore, type ServerSessionStore, type StateWrite, type StoreOptions } from './server-session-store.js';
