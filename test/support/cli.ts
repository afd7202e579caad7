/** Run the real CLI as a subprocess (node + the bin script), as users do. */
import { spawn, type ChildProcess } from 'node:child_process';
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

export function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string | Buffer,
): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [SESSIONIZER_BIN, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(env),
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
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
