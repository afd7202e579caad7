/**
 * A dedicated native Kafka broker (infra/kafka/start.sh) on fixed free ports, so a stop and a
 * start on the same data directory bring it back at the same address: what a broker restart
 * looks like to clients.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_INFRA_DIR, freePort } from '@sessionizer/kafka/testing';

const run = promisify(execFile);

export interface DedicatedBroker {
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  /** `127.0.0.1:port`. */
  readonly brokers: string;
  /** start.sh; resolves with the ms it took (until the broker accepts requests). */
  start(): Promise<number>;
  /** stop.sh (SIGTERM, a controlled shutdown); resolves with the ms it took. */
  stop(): Promise<number>;
  /** The last lines of the broker's server.log. */
  serverLog(lines?: number): Promise<string>;
  /** Stop it and remove its data. */
  destroy(): Promise<void>;
}

export async function dedicatedBroker(): Promise<DedicatedBroker> {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-faults-kafka-'));
  const args = ['--port', String(port), '--controller-port', String(controllerPort), '--data-dir', dataDir];
  const script = async (name: string): Promise<number> => {
    const t = Date.now();
    try {
      await run('bash', [join(DEFAULT_INFRA_DIR, name), ...args], { timeout: 300_000 });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`${name} failed: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    return Date.now() - t;
  };
  return {
    port,
    controllerPort,
    dataDir,
    brokers: `127.0.0.1:${port}`,
    start: () => script('start.sh'),
    stop: () => script('stop.sh'),
    serverLog: async (lines = 40) => {
      const text = await readFile(join(dataDir, 'server.log'), 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
    destroy: async () => {
      await script('stop.sh').catch(() => 0);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
