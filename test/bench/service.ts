/** `sessionizer run` as a subprocess for the benchmarks: the same settings in every bench, through the tests' one spawn of the CLI. */
import { spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { REPO_ROOT, SESSIONIZER_BIN, spawnCli } from '../support/cli.js';
import type { MemoryCgroup } from './cgroup.js';

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
  /** Run it inside this memory cgroup (`--memory-limit`, cgroup.ts), as in the Deployment. */
  readonly cgroup?: MemoryCgroup | undefined;
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
    { inheritEnv: true, ...(o.cgroup === undefined ? {} : { wrap: o.cgroup.wrap.bind(o.cgroup) }) },
  );
  child.stdout.resume();
  return child;
}

/**
 * V8's heap limit (MiB) that node started with these flags, inside `cgroup` when given, gets:
 * node sizes it from the cgroup's memory limit unless `--max-old-space-size` is set.
 */
export function heapSizeLimitMiB(nodeOptions: string, nodeArgs: readonly string[] = [], cgroup?: MemoryCgroup): number {
  const args = [...nodeArgs, '-p', "Math.round(require('v8').getHeapStatistics().heap_size_limit / 2 ** 20)"];
  const [command, argv] = cgroup === undefined ? [process.execPath, args] : cgroup.wrap(process.execPath, args);
  const r = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  return Number(r.stdout.trim());
}
