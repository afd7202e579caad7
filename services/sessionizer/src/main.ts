/**
 * The CLI: parse the command line, load the configuration, dispatch to a command (`commands/`),
 * map errors to exit codes (2 for usage and configuration, 1 otherwise).
 */
import { parseArgs } from 'node:util';
import { EmbeddedClickHouseLockedError } from '@sessionizer/clickhouse';
import { ConfigError, loadConfig, settingFlags, settingsHelp } from './config.js';
import { UsageError, type Command, type Io } from './commands/command.js';
import { dashboardCommand } from './commands/dashboard.js';
import { demoCommand } from './commands/demo.js';
import { migrateCommand } from './commands/migrate.js';
import { queryCommand } from './commands/query.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';

export type { Io } from './commands/command.js';

const COMMANDS: Record<string, Command> = {
  migrate: migrateCommand,
  replay: replayCommand,
  run: runCommand,
  demo: demoCommand,
  dashboard: dashboardCommand,
  query: queryCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'sessionizer: streaming sessionization of PostHog events from Kafka into ClickHouse',
    '',
    'usage: sessionizer <command> [options]   (sessionizer <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Without --clickhouse/CLICKHOUSE_URL the embedded ClickHouse engine stores data in --data-dir',
    '(default ./.sessionizer); it allows one process at a time.',
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [
    c.usage,
    '',
    c.summary,
    '',
    ...(c.optionsHelp === '' ? [] : ['options:', c.optionsHelp, '']),
    'settings (flag, environment variable):',
    settingsHelp(c.settings),
    '  --help, -h               show this help',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`sessionizer: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...settingFlags(command.settings), ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values['help'] === true) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    const config = loadConfig(values, io.env);
    return await command.run({ config, values, positionals, io });
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr.write(`sessionizer ${name}: ${err.message}\n(see sessionizer ${name} --help)\n`);
      return 2;
    }
    if (err instanceof EmbeddedClickHouseLockedError) {
      io.stderr.write(`sessionizer ${name}: ${err.message}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`sessionizer ${name}: ${message}\n`);
    return 1;
  }
}
