/** Structured JSON logs, one object per line, to stderr (stdout carries command output). */
import type { LogLevel } from './config.js';

export type Fields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    const extra = value as unknown as Record<string, unknown>;
    return {
      name: value.name,
      message: value.message,
      ...(typeof extra['code'] === 'string' ? { code: extra['code'] } : {}),
      ...(typeof extra['retriable'] === 'boolean' ? { retriable: extra['retriable'] } : {}),
      ...(value.cause === undefined ? {} : { cause: errorFields(value.cause) }),
    };
  }
  return value;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Fields = {},
): Logger {
  const min = ORDER[level];
  const emit = (l: LogLevel, msg: string, fields?: Fields): void => {
    if (ORDER[l] < min) return;
    const record: Record<string, unknown> = { ts: new Date().toISOString(), level: l, msg, ...base };
    if (fields !== undefined) for (const [k, v] of Object.entries(fields)) record[k] = errorFields(v);
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (m, f) => {
      emit('debug', m, f);
    },
    info: (m, f) => {
      emit('info', m, f);
    },
    warn: (m, f) => {
      emit('warn', m, f);
    },
    error: (m, f) => {
      emit('error', m, f);
    },
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

/**
 * The parts that log. Each gets its logger from `componentLog`, so every line names the component
 * that wrote it (`"component":"sink"`): the service's adapters and stages, and the commands.
 */
export const COMPONENTS = [
  'service',
  'clickhouse',
  'migrate',
  'kafka',
  'readiness',
  'sink',
  'dead-letters',
  'server-sessions',
  'consumer',
  'telemetry',
  'http',
  'overview',
  'run',
  'dashboard',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** The logger of one component: every line it writes carries `component`. */
export function componentLog(log: Logger, component: Component): Logger {
  return log.child({ component });
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
