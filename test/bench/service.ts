/** `sessionizer run` as a subprocess for the benchmarks: the same settings in every bench, through the tests' one spawn of the CLI. */
import type { ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { REPO_ROOT, SESSIONIZER_BIN, spawnCli } from '../support/cli.js';

export const ROOT = REPO_ROOT;
export const BIN = SESSIONIZER_BIN;

export interface ServiceSpawn {
  readonly brokers: string;
  readonly topic: string;
  readonly group: string;
  readonly dataDir: string;
  /** METRICS_PORT, on 127.0.0.1. */
  readonly port: number;
  readonly logLevel: string;
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The node flags the image runs the service with (`ENV NODE_OPTIONS=…` in the checkout's
 * Dockerfile; empty when it sets none), so that the benchmarks measure the service as deployed.
 */
export function deployedNodeOptions(root: string = ROOT): string {
  let dockerfile: string;
  try {
    dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  } catch {
    return '';
  }
  const value = /^ENV\s+NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1]?.trim() ?? '';
  return value.replace(/^"(.*)"$/, '$1');
}

/** NODE_OPTIONS for a service spawned from `root`: the caller's, then the image's. */
export function serviceNodeOptions(root: string = ROOT): string {
  return [process.env['NODE_OPTIONS'], deployedNodeOptions(root)].filter((o) => o !== undefined && o !== '').join(' ');
}

/** Spawns the service with the caller's environment, the image's node flags and these settings; its stderr piped (stdout discarded). */
export function spawnService(o: ServiceSpawn): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const child = spawnCli(
    ['run'],
    {
      KAFKA_BROKERS: o.brokers,
      KAFKA_TOPICS: o.topic,
      KAFKA_GROUP_ID: o.group,
      SESSIONIZER_DATA_DIR: o.dataDir,
      METRICS_PORT: String(o.port),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: o.logLevel,
      NODE_OPTIONS: serviceNodeOptions(),
      ...o.extra,
    },
    { inheritEnv: true },
  );
  child.stdout.resume();
  return child;
}
