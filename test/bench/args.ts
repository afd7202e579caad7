/**
 * Command-line options of a bench script: `parseArgs` of node:util, plus `--help` (prints the
 * script's doc comment, which says how to run it, and exits 0) and a usage error instead of a
 * stack trace for an unknown or malformed option (exit 2).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The first doc comment of the file at `url`, without its comment markers. */
export function usage(url: string): string {
  const source = readFileSync(fileURLToPath(url), 'utf8');
  const m = /\/\*\*([\s\S]*?)\*\//.exec(source);
  if (m === null) return `${basename(fileURLToPath(url))}: no description\n`;
  const lines = (m[1] ?? '').split('\n').map((l) => l.replace(/^\s*\* ?/, '').trimEnd());
  while (lines[0] === '') lines.shift();
  while (lines.at(-1) === '') lines.pop();
  return `${lines.join('\n')}\n`;
}

/** `parseArgs(config)` for the script at `url` (pass `import.meta.url`), with --help and usage errors. */
export function benchArgs<const T extends ParseArgsConfig>(
  url: string,
  config: T,
  argv: readonly string[] = process.argv.slice(2),
): ReturnType<typeof parseArgs<T>> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage(url));
    process.exit(0);
  }
  try {
    return parseArgs<T>({ ...config, args: [...argv] });
  } catch (e) {
    process.stderr.write(`${basename(fileURLToPath(url))}: ${e instanceof Error ? e.message : String(e)}\n\n${usage(url)}`);
    process.exit(2);
  }
}
