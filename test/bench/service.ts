/** `sessionizer run` as a subprocess for the benchmarks: the same settings in every bench. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'services/sessionizer/bin/sessionizer.mjs');

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

/** Spawns the service with its stderr piped (stdout ignored). */
export function spawnService(o: ServiceSpawn): ChildProcessByStdio<null, null, Readable> {
  return spawn(process.execPath, [BIN, 'run'], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: o.brokers,
      KAFKA_TOPICS: o.topic,
      KAFKA_GROUP_ID: o.group,
      SESSIONIZER_DATA_DIR: o.dataDir,
      METRICS_PORT: String(o.port),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: o.logLevel,
      ...o.extra,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
