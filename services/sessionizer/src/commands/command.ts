/** What a CLI command is (its flags, settings and help, and its body), and the setting groups commands share. */
import type { Readable, Writable } from 'node:stream';
import type { ParseArgsConfig } from 'node:util';
import type { Config, Env, SettingName } from '../config.js';
import type { Signals } from './run.js';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Env;
  readonly stderrIsTty: boolean;
  /** `demo` keeps serving the overview when both stdout and stderr are terminals. */
  readonly stdoutIsTty?: boolean;
  readonly signals: Signals;
}

/** Bad usage: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const CLICKHOUSE: readonly SettingName[] = [
  'clickhouseUrl',
  'clickhouseUser',
  'clickhousePassword',
  'database',
  'dataDir',
  'cluster',
  'logLevel',
];
export const MODEL: readonly SettingName[] = [
  'bounceThreshold',
  'channelRulesFile',
  'sessionIdTolerance',
  'sessionIdClientTolerance',
  'maxMessageBytes',
  'tokenTeams',
];
export const FLUSH: readonly SettingName[] = ['flushInterval', 'flushMaxSessions', 'flushMaxBytes'];
export const KAFKA: readonly SettingName[] = [
  'brokers',
  'topics',
  'groupId',
  'clientId',
  'dlqTopic',
  'dlqExcluded',
  'fromBeginning',
  'saslMechanism',
  'saslUsername',
  'saslPassword',
  'ssl',
  'sslCaFile',
  'sslRejectUnauthorized',
  'sessionTimeout',
  'heartbeatInterval',
  'rebalanceTimeout',
  'readyKafkaSilence',
];
export const SERVICE: readonly SettingName[] = [
  ...KAFKA,
  ...CLICKHOUSE,
  ...MODEL,
  ...FLUSH,
  'retryMaxDelay',
  'metricsPort',
  'metricsHost',
  'shutdownTimeout',
];

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly settings: readonly SettingName[];
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly optionsHelp: string;
  run(args: { config: Config; values: Record<string, string | boolean | undefined>; positionals: string[]; io: Io }): Promise<number>;
}
