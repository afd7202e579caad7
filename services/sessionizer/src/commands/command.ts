/** What a CLI command is (its flags, settings and help, and its body), and the setting groups commands share. */
import type { Readable, Writable } from 'node:stream';
import type { ParseArgsConfig } from 'node:util';
import { settingsIn, type Config, type Env, type SettingName } from '../config.js';
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

// The setting groups of the table in config.ts, as the commands take them.
export const CLICKHOUSE = settingsIn('clickhouse');
export const MODEL = settingsIn('model');
export const FLUSH = settingsIn('flush');
export const SERVICE = settingsIn('kafka', 'clickhouse', 'model', 'flush', 'service');

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly settings: readonly SettingName[];
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly optionsHelp: string;
  run(args: { config: Config; values: Record<string, string | boolean | undefined>; positionals: string[]; io: Io }): Promise<number>;
}
