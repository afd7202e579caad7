/**
 * A broker of its own with SASL_SSL only (infra/kafka/start.sh --sasl-ssl): TLS with a
 * certificate signed by a CA made with keytool, a SCRAM-SHA-512 user and a PLAIN user with
 * random passwords, on free ports and a temporary data directory. Also a second CA that signed
 * nothing the broker has (for the untrusted-certificate case).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKafkaClient } from '@sessionizer/kafka';
import { DEFAULT_INFRA_DIR, freePort } from '@sessionizer/kafka/testing';

const run = promisify(execFile);

export interface SaslUser {
  readonly mechanism: 'scram-sha-512' | 'plain';
  readonly username: string;
  readonly password: string;
}

export interface SecureBroker {
  readonly brokers: string;
  readonly caFile: string;
  /** A CA the broker's certificate was not signed by. */
  readonly untrustedCaFile: string;
  readonly scram: SaslUser;
  readonly plain: SaslUser;
  /** ms each step took: certificates + broker start, the untrusted CA. */
  readonly timings: { readonly startMs: number; readonly untrustedCaMs: number };
  /** A kafkajs client as the given user (admin, producer, consumer). */
  client(user: SaslUser): ReturnType<typeof createKafkaClient>;
  serverLog(lines?: number): Promise<string>;
  destroy(): Promise<void>;
}

async function script(name: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await run('bash', [join(DEFAULT_INFRA_DIR, name), ...args], { timeout: 300_000, env });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${name} failed: ${stderr.trim().split('\n').slice(-8).join(' | ')}`);
  }
}

export async function startSecureBroker(): Promise<SecureBroker> {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-tls-kafka-'));
  const args = ['--port', String(port), '--controller-port', String(controllerPort), '--data-dir', dataDir];
  const password = (): string => randomBytes(12).toString('hex');
  const scram: SaslUser = { mechanism: 'scram-sha-512', username: 'sessionizer-scram', password: password() };
  const plain: SaslUser = { mechanism: 'plain', username: 'sessionizer-plain', password: password() };
  const t0 = Date.now();
  const out = await script('start.sh', [...args, '--sasl-ssl'], {
    ...process.env,
    KAFKA_SCRAM_USERS: `${scram.username}:${scram.password}`,
    KAFKA_PLAIN_USERS: `${plain.username}:${plain.password}`,
  });
  const startMs = Date.now() - t0;
  const caFile = /^KAFKA_SSL_CA_FILE=(.*)$/m.exec(out)?.[1];
  if (caFile === undefined) throw new Error(`start.sh --sasl-ssl printed no KAFKA_SSL_CA_FILE: ${out}`);
  const t1 = Date.now();
  const otherDir = join(dataDir, 'untrusted-ca');
  await script('certs.sh', ['--ca-only', otherDir]);
  const untrustedCaMs = Date.now() - t1;
  const brokers = `127.0.0.1:${port}`;
  return {
    brokers,
    caFile,
    untrustedCaFile: join(otherDir, 'ca.pem'),
    scram,
    plain,
    timings: { startMs, untrustedCaMs },
    client: (user) => createKafkaClient({ brokers, clientId: 'sessionizer-test', ssl: true, sslCaFile: caFile, sasl: user }),
    serverLog: async (lines = 40) => {
      const text = await readFile(join(dataDir, 'server.log'), 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
    destroy: async () => {
      await script('stop.sh', args).catch(() => '');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every form a secret could be printed in: as is, URL-encoded, in a Basic auth header. */
export function secretForms(secret: string, username?: string): string[] {
  const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
  if (username !== undefined) forms.push(Buffer.from(`${username}:${secret}`).toString('base64'));
  return [...new Set(forms)];
}
