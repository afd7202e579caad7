/** Run the real CLI as a subprocess (node + the bin script), as users do. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SESSIONIZER_BIN = fileURLToPath(new URL('../../services/sessionizer/bin/sessionizer.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment for a CLI run: ours, without settings that would leak in from the caller. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'] };
  return { ...env, ...extra };
}

/**
 * The one spawn of the CLI (node + the bin script, from the repository root), stdout and stderr
 * piped: `startCli` and the service launcher (`service.ts`) use it, and so do the benchmarks.
 * stdin is a pipe only when `stdin` is set: with a pipe for stdin the bin runs the CLI in a child
 * of its own (the embedded engine would read the pipe as INSERT data), and a SIGKILL to the
 * spawned process would orphan that child. `inheritEnv` passes the caller's environment on (the
 * benchmarks'); tests start from `cliEnv`.
 */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
  {
    inheritEnv = false,
    stdin = false,
    wrap,
  }: {
    inheritEnv?: boolean;
    stdin?: boolean;
    /** Runs node through another command (the benchmarks' memory cgroup: test/bench/cgroup.ts). */
    wrap?: (command: string, args: readonly string[]) => [string, string[]];
  } = {},
): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const options = { cwd: REPO_ROOT, env: inheritEnv ? { ...process.env, ...env } : cliEnv(env) };
  const [command, argv] = (wrap ?? ((c: string, a: readonly string[]): [string, string[]] => [c, [...a]]))(process.execPath, [
    SESSIONIZER_BIN,
    ...args,
  ]);
  return stdin
    ? spawn(command, argv, { ...options, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string | Buffer,
): ChildProcessByStdio<Writable | null, Readable, Readable> & { result: Promise<CliResult> } {
  const child = spawnCli(args, env, { stdin: input !== undefined });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin?.end(input);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
  return Object.assign(child, { result });
}

export async function runCli(args: readonly string[], env: Record<string, string> = {}, input?: string | Buffer): Promise<CliResult> {
  return startCli(args, env, input).result;
}

export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
