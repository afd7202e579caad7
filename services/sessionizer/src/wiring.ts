/**
 * Configuration → adapters: the ClickHouse handle and schema context, and the normalisation
 * options, built the same way for every command and for the service.
 */
import { createClickHouse, EmbeddedClickHouseLockedError, type ClickHouseHandle, type SchemaContext } from '@sessionizer/clickhouse';
import type { NormalizeOptions } from '@sessionizer/core';
import type { Config } from './config.js';
import type { Logger } from './log.js';

export function schemaOf(config: Config): SchemaContext {
  return {
    database: config.clickhouse.database,
    cluster: config.clickhouse.cluster,
    bounceThresholdSeconds: config.session.bounceThresholdSeconds,
    channelRules: config.session.channelRules,
  };
}

export function openClickHouse(config: Config, database?: string): ClickHouseHandle {
  return createClickHouse({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    dataDir: config.clickhouse.dataDir,
    database,
  });
}

export function normalizeOptionsOf(config: Config): NormalizeOptions {
  return {
    limits: { maxMessageBytes: config.session.maxMessageBytes, maxUrlLength: 8_192, maxFieldLength: 1_024 },
    sessionIdToleranceMs: config.session.sessionIdToleranceMs,
    sessionIdClientToleranceMs: config.session.sessionIdClientToleranceMs,
    tokenTeams: config.session.tokenTeams,
  };
}

/**
 * Open ClickHouse; on the embedded engine, wait a while for a directory held by another process
 * (typically a short `sessionizer query` or `migrate`) instead of failing the service at once.
 */
export async function openClickHouseWaiting(config: Config, log: Logger, waitMs = 30_000): Promise<ClickHouseHandle> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return openClickHouse(config);
    } catch (err) {
      if (!(err instanceof EmbeddedClickHouseLockedError) || Date.now() > deadline) throw err;
      if (attempt === 1)
        log.warn('data directory held by another process; waiting for it', { dataDir: err.dataDir, pid: err.holderPid ?? null, waitMs });
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * attempt)));
    }
  }
}
