export * from './client.js';
export * from './errors.js';
export * from './read-only.js';
export * from './rows.js';
export * from './sink.js';
export * from './schema/channel-sql.js';
export * from './schema/ddl.js';
export * from './schema/migrate.js';
