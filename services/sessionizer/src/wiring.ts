/**
 * Configuration → adapters: the ClickHouse handle and schema context, and the normalisation
 * options, built the same way for every command and for the service.
 */
import {
  createClickHouse,
  EmbeddedClickHouseLockedError,
  retry,
  type ClickHouseHandle,
  type RetryPolicy,
  type SchemaContext,
  type ServerSessionStore,
} from '@sessionizer/clickhouse';
import { DEFAULT_LIMITS, type NormalizeOptions } from '@sessionizer/core';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './service/metrics.js';
import { misroutedReporter, ServerSessionStage, serverSessionTeams } from './service/server-sessions.js';

export function schemaOf(config: Config): SchemaContext {
  return {
    database: config.clickhouse.database,
    cluster: config.clickhouse.cluster,
    bounceThresholdSeconds: config.session.bounceThresholdSeconds,
    bounceThresholdSecondsByTeam: config.session.bounceThresholdSecondsByTeam,
    channelRules: config.session.channelRules,
    embedded: config.clickhouse.url === undefined || config.clickhouse.url === '',
  };
}

/**
 * How the service retries a failed write: the ClickHouse sink, the server session store and the
 * dead-letter topic back off alike (from 200 ms, full jitter) up to CLICKHOUSE_RETRY_MAX_DELAY_MS,
 * until the write succeeds, the error says retrying cannot help, or shutdown aborts it.
 */
export function writeRetryPolicy(config: Config): RetryPolicy {
  return { maxAttempts: Infinity, initialDelayMs: 200, maxDelayMs: config.clickhouse.retryMaxDelayMs };
}

export function openClickHouse(config: Config, database?: string): ClickHouseHandle {
  return createClickHouse({
    url: config.clickhouse.url,
    user: config.clickhouse.user,
    password: config.clickhouse.password,
    dataDir: config.clickhouse.dataDir,
    database,
  });
}

export function normalizeOptionsOf(config: Config): NormalizeOptions {
  const serverSessions = serverSessionTeams(config.session.serverSessions);
  return {
    ...(serverSessions === undefined ? {} : { serverSessions }),
    // the string bounds are the core's; only the message size is a setting
    limits: { ...DEFAULT_LIMITS, maxMessageBytes: config.session.maxMessageBytes },
    sessionIdToleranceMs: config.session.sessionIdToleranceMs,
    sessionIdClientToleranceMs: config.session.sessionIdClientToleranceMs,
    tokenTeams: config.session.tokenTeams,
  };
}

/**
 * The server-side session stage (SERVER_SESSIONS), undefined when off. `replay` has no store (a
 * file is one whole stream); the service passes its store, metrics and logger.
 */
export function serverSessionStageOf(
  config: Config,
  service?: { readonly metrics: Metrics; readonly log: Logger; readonly store: ServerSessionStore },
): ServerSessionStage | undefined {
  if (config.session.serverSessions === 'off') return undefined;
  if (service === undefined) return new ServerSessionStage({ idleMs: config.session.serverSessionIdleMs });
  const { metrics, log, store } = service;
  return new ServerSessionStage({
    idleMs: config.session.serverSessionIdleMs,
    store,
    onAssigned: (rule) => {
      metrics.serverSessionEvents.inc({ rule });
    },
    onMisrouted: misroutedReporter(
      (reason) => {
        metrics.serverSessionMisrouted.inc({ reason });
      },
      (message, fields) => {
        log.warn(message, fields);
      },
      () => performance.now(),
    ),
  });
}

/** What `openClickHouseWaiting` waits with; the defaults are the real ones (tests pass a fake clock). */
export interface OpenWaitingOptions {
  /** How long to wait for the directory before failing with the held-directory error. */
  readonly waitMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly open?: (config: Config) => ClickHouseHandle;
}

/**
 * Open ClickHouse; on the embedded engine, wait a while for a directory held by another process
 * (typically a short `sessionizer query` or `migrate`) instead of failing the service at once.
 */
export async function openClickHouseWaiting(config: Config, log: Logger, o: OpenWaitingOptions = {}): Promise<ClickHouseHandle> {
  const waitMs = o.waitMs ?? 30_000;
  const now = o.now ?? Date.now;
  const open = o.open ?? ((c: Config) => openClickHouse(c));
  const deadline = now() + waitMs;
  const { value } = await retry<ClickHouseHandle, EmbeddedClickHouseLockedError>(() => Promise.resolve().then(() => open(config)), {
    policy: { maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 2_000 },
    classify: (err) => (err instanceof EmbeddedClickHouseLockedError && now() <= deadline ? { retry: err } : { fail: err }),
    onRetry: (err, attempt) => {
      if (attempt === 1)
        log.warn('data directory held by another process; waiting for it', { dataDir: err.dataDir, pid: err.holderPid ?? null, waitMs });
    },
    sleep: o.sleep,
    random: o.random,
  });
  return value;
}
