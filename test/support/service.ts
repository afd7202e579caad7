/**
 * The one service launcher of the tests: `sessionizer run` as a subprocess, through the CLI's one
 * spawn (`cli.ts`), with its logs and HTTP endpoint, and its graceful or forced stop.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { spawnCli } from './cli.js';
import { sleep } from './wait.js';

export interface ServiceProcess {
  readonly child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** Resolves with the HTTP endpoint once the service logged its configuration. */
  readonly url: Promise<string>;
  /** Resolves when the log says the consumer has partitions assigned. */
  readonly assigned: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const child = spawnCli(['run'], env);
  let stderr = '';
  let resolveUrl: (u: string) => void = () => undefined;
  let resolveAssigned: () => void = () => undefined;
  const url = new Promise<string>((r) => (resolveUrl = r));
  const assigned = new Promise<void>((r) => (resolveAssigned = r));
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = /"msg":"sessionizer configured".*?"http":"([^"]+)"/.exec(stderr);
    if (m?.[1] !== undefined) resolveUrl(m[1]);
    if (stderr.includes('"msg":"partitions assigned"')) resolveAssigned();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => stderr, url, assigned, exited };
}

export interface StopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The process was still alive `graceMs` after SIGTERM (it was then SIGKILLed). */
  readonly hung: boolean;
  /** From SIGTERM to exit (to the SIGKILL when it hung). */
  readonly ms: number;
}

/** SIGTERM, and SIGKILL after `graceMs` if the process has not exited by then. */
export async function stopGracefully(svc: ServiceProcess, graceMs: number): Promise<StopResult> {
  const t = Date.now();
  svc.child.kill('SIGTERM');
  const first = await Promise.race([svc.exited, sleep(graceMs).then(() => 'hung' as const)]);
  if (first !== 'hung') return { ...first, hung: false, ms: Date.now() - t };
  const ms = Date.now() - t;
  svc.child.kill('SIGKILL');
  const killed = await svc.exited;
  return { ...killed, hung: true, ms };
}

/** Error and warning lines of a service log, for the report and for failure messages. */
export function logProblems(stderr: string, max = 20): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'))
    .slice(-max);
}
