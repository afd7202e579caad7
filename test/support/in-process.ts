/**
 * The service in the test's own process, through its own wiring (`startService`, as `sessionizer
 * run` does), on the run's broker: the in-process half of the launcher (`service.ts` is the
 * subprocess half; it stays free of vitest so that `npm run soak` can use it).
 */
import type { ClickHouseHandle } from '@sessionizer/clickhouse';
import { loadConfig, type Config } from '../../services/sessionizer/src/config.js';
import type { Logger } from '../../services/sessionizer/src/log.js';
import { startService, type Service } from '../../services/sessionizer/src/service/start.js';
import { kafkaBrokers } from './context.js';

/** The settings of an in-process service: the run's broker, this database, HTTP on an ephemeral loopback port, then `flags` (command-line names). */
export function inProcessConfig(database: string, flags: Readonly<Record<string, string>>): Config {
  return loadConfig({ brokers: kafkaBrokers().join(','), database, 'metrics-port': '0', 'metrics-host': '127.0.0.1', ...flags }, {});
}

/** Wire the service on the run's broker and this ClickHouse handle (which stays the caller's to close); the caller starts its consumer. */
export function startInProcess(config: Config, deps: { readonly log: Logger; readonly clickhouse: ClickHouseHandle }): Promise<Service> {
  return startService(config, { brokers: kafkaBrokers().join(','), log: deps.log, clickhouse: deps.clickhouse });
}
