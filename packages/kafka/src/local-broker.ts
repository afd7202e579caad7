/**
 * Where a Kafka broker comes from when the caller has none: `sessionizer demo` and the tests'
 * global setup both use this. Order: KAFKA_BROKERS if set; a testcontainers broker if the
 * package is installed and a Docker engine answers; the native broker from infra/kafka/ (Java 17
 * + Maven). testcontainers is a development dependency, loaded only here and only when present:
 * a production install (npm ci --omit=dev, the image) does not have it, and the demo then goes
 * straight to the native broker. When none works the error names every attempt and what to
 * install, so nothing silently skips.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBrokers, probeBrokers } from './brokers.js';

const execFileAsync = promisify(execFile);

export type KafkaSource = 'env' | 'testcontainers' | 'native';

export interface ProvisionedKafka {
  readonly brokers: string[];
  readonly source: KafkaSource;
  /** What was used, for logs: e.g. "native broker (infra/kafka) on 127.0.0.1:40123". */
  readonly description: string;
  /** Stops what provisionKafka started; a no-op for brokers given by the caller. */
  stop(): Promise<void>;
}

export interface ProvisionOptions {
  /** Value of KAFKA_BROKERS; when set it is the only candidate (a typo must not fall through). */
  readonly brokers?: string | undefined;
  /** Try testcontainers (default true). */
  readonly docker?: boolean;
  /** Try the native broker from infra/kafka (default true). */
  readonly native?: boolean;
  /** Directory holding start.sh/stop.sh (default: this repo's infra/kafka). */
  readonly infraDir?: string;
  /** Docker image for the testcontainers broker. */
  readonly image?: string;
  readonly probeTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

export interface ProvisionAttempt {
  readonly source: KafkaSource;
  readonly detail: string;
}

export class KafkaUnavailableError extends Error {
  readonly attempts: readonly ProvisionAttempt[];
  constructor(attempts: readonly ProvisionAttempt[]) {
    const lines = attempts.map((a) => `  - ${a.source}: ${a.detail}`).join('\n');
    super(
      `No Kafka broker available. Tried:\n${lines}\n` +
        'Fix one of: set KAFKA_BROKERS=host:port to a running broker; start a Docker engine ' +
        '(testcontainers runs apache/kafka); or install Java 17 and Maven ' +
        '(Debian: apt-get install -y openjdk-17-jdk-headless maven) so infra/kafka/start.sh can run the broker natively.',
    );
    this.name = 'KafkaUnavailableError';
    this.attempts = attempts;
  }
}

export const DEFAULT_INFRA_DIR = fileURLToPath(new URL('../../../infra/kafka/', import.meta.url));
export const DEFAULT_KAFKA_IMAGE = 'apache/kafka:4.1.1';

function message(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n').slice(0, 6).join(' | ');
  return String(err);
}

/** A free TCP port on loopback (closed again before returning; good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });
}

export async function provisionKafka(options: ProvisionOptions = {}): Promise<ProvisionedKafka> {
  const log = options.log ?? (() => undefined);
  const timeout = options.probeTimeoutMs ?? 10_000;
  const attempts: ProvisionAttempt[] = [];

  if (options.brokers !== undefined && options.brokers.trim() !== '') {
    try {
      const brokers = parseBrokers(options.brokers);
      await probeBrokers(brokers, timeout);
      return { brokers, source: 'env', description: `KAFKA_BROKERS=${brokers.join(',')}`, stop: () => Promise.resolve() };
    } catch (err) {
      attempts.push({ source: 'env', detail: `KAFKA_BROKERS=${options.brokers} is not reachable: ${message(err)}` });
      throw new KafkaUnavailableError(attempts);
    }
  }
  attempts.push({ source: 'env', detail: 'KAFKA_BROKERS is not set' });

  if (options.docker !== false) {
    try {
      const started = await startTestcontainersBroker(options.image ?? DEFAULT_KAFKA_IMAGE, timeout);
      log(`kafka: ${started.description}`);
      return started;
    } catch (err) {
      attempts.push({
        source: 'testcontainers',
        detail: notInstalled(err)
          ? 'not installed (a development dependency: `npm ci` installs it, a production install does not)'
          : `no Docker engine answered (${message(err)})`,
      });
    }
  } else {
    attempts.push({ source: 'testcontainers', detail: 'disabled' });
  }

  if (options.native !== false) {
    try {
      const started = await startNativeBroker(options.infraDir ?? DEFAULT_INFRA_DIR, timeout, log);
      log(`kafka: ${started.description}`);
      return started;
    } catch (err) {
      attempts.push({ source: 'native', detail: `infra/kafka/start.sh failed: ${message(err)}` });
    }
  } else {
    attempts.push({ source: 'native', detail: 'disabled' });
  }
  throw new KafkaUnavailableError(attempts);
}

/** Whether loading a package failed because it is not installed. */
function notInstalled(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function startTestcontainersBroker(image: string, timeout: number): Promise<ProvisionedKafka> {
  // Not a dependency of this package: present in development installs only.
  const tc = await import('testcontainers');
  // Fails fast (no engine → throws) before any image pull is attempted.
  await tc.getContainerRuntimeClient();
  // Kafka advertises host:port to clients, so bind the same port number on both sides.
  const port = await freePort();
  const container = await new tc.GenericContainer(image)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const brokers = [`127.0.0.1:${port}`];
  await probeBrokers(brokers, timeout);
  return {
    brokers,
    source: 'testcontainers',
    description: `testcontainers ${image} on ${brokers[0] ?? ''}`,
    stop: async () => {
      await container.stop();
    },
  };
}

async function startNativeBroker(infraDir: string, timeout: number, log: (message: string) => void): Promise<ProvisionedKafka> {
  const port = await freePort();
  const controllerPort = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-kafka-'));
  const args = ['--port', String(port), '--controller-port', String(controllerPort), '--data-dir', dataDir];
  log(`kafka: starting the native broker (infra/kafka/start.sh) on 127.0.0.1:${port}, data in ${dataDir}`);
  try {
    await execFileAsync('bash', [join(infraDir, 'start.sh'), ...args], { timeout: 600_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(stderr.trim().split('\n').slice(-3).join(' | ') || message(err));
  }
  const brokers = [`127.0.0.1:${port}`];
  await probeBrokers(brokers, timeout);
  return {
    brokers,
    source: 'native',
    description: `native broker (infra/kafka) on ${brokers[0] ?? ''}, data in ${dataDir}`,
    stop: async () => {
      await execFileAsync('bash', [join(infraDir, 'stop.sh'), ...args], { timeout: 120_000 });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
