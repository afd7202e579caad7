/**
 * Passwords never show: the CLI runs as a process with the ClickHouse and Kafka passwords set and
 * is made to fail every way we know — bad configuration, a ClickHouse URL with credentials that
 * nothing answers, a "ClickHouse" that refuses the credentials, SASL against a broker without it —
 * and runs for real once, serving /readyz, /healthz, /metrics and a failing /query. Everything it
 * printed (stdout, stderr logs at debug level, error messages, --help) and everything it served
 * is searched for each password, as is, URL-encoded and base64 (a Basic auth header).
 * (A wrong Kafka password against a real SASL_SSL broker, and runs through SCRAM and PLAIN with
 * /readyz and /metrics, are checked the same way in kafka-tls.test.ts.)
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@sessionizer/kafka/testing';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';
import { createTopic, produce, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { secretForms } from '../support/secure-kafka.js';
import { buildStream } from '../support/stream.js';

const CH_PASSWORD = `chpw-${Date.now().toString(36)}-7a1`;
const CH_URL_PASSWORD = `urlpw-${Date.now().toString(36)}-b2c`;
const KAFKA_PASSWORD = `kpw-${Date.now().toString(36)}-d3e`;
const SECRETS = [
  ...secretForms(CH_PASSWORD, 'default'),
  ...secretForms(CH_PASSWORD, 'reader'),
  ...secretForms(CH_URL_PASSWORD, 'reader'),
  ...secretForms(KAFKA_PASSWORD, 'svc'),
];

const dirs: string[] = [];
let refusing: Server;
const seenRequests: IncomingMessage[] = [];
let refusingUrl: string;

beforeAll(async () => {
  // Answers every request as a ClickHouse server does for wrong credentials (code 516, HTTP 401).
  refusing = createServer((req, res) => {
    seenRequests.push(req);
    req.resume();
    res.writeHead(401, { 'content-type': 'text/plain', 'x-clickhouse-exception-code': '516' });
    res.end(
      'Code: 516. DB::Exception: reader: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n',
    );
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => refusing.close(resolve));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sessionizer-secrets-'));
  dirs.push(d);
  return d;
}

const WITH_PASSWORDS = { CLICKHOUSE_PASSWORD: CH_PASSWORD, LOG_LEVEL: 'debug' };

function expectClean(what: string, text: string): void {
  for (const s of SECRETS) expect(text.includes(s), `${what} shows a password (${s.slice(0, 4)}…): ${text.slice(-600)}`).toBe(false);
}

function printed(r: CliResult): string {
  return r.stdout + r.stderr;
}

describe('passwords never appear in anything the CLI prints or serves', () => {
  it('--help of every command, with the passwords in the environment', async () => {
    const env = { ...WITH_PASSWORDS, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: KAFKA_PASSWORD };
    for (const args of [
      ['--help'],
      ['run', '--help'],
      ['query', '--help'],
      ['replay', '--help'],
      ['migrate', '--help'],
      ['demo', '--help'],
    ]) {
      const r = await runCli(args, env);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('sessionizer');
      expectClean(args.join(' '), printed(r));
    }
  });

  it.each([
    [
      'a malformed ClickHouse URL with credentials',
      { CLICKHOUSE_URL: `ftp://reader:${CH_URL_PASSWORD}@clickhouse:8123/` },
      'CLICKHOUSE_URL=',
    ],
    [
      'an unknown SASL mechanism',
      { KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: KAFKA_PASSWORD },
      'KAFKA_SASL_MECHANISM=',
    ],
    ['a SASL password without a mechanism', { KAFKA_SASL_PASSWORD: KAFKA_PASSWORD }, 'without KAFKA_SASL_MECHANISM'],
    [
      'a bad number next to the passwords',
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: KAFKA_PASSWORD, FLUSH_MAX_SESSIONS: 'many' },
      'FLUSH_MAX_SESSIONS',
    ],
    [
      'an unknown flag',
      { KAFKA_SASL_PASSWORD: KAFKA_PASSWORD, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' },
      "Unknown option '--nope'",
    ],
  ])('a configuration error: %s', async (_name, env, expected) => {
    const args = expected.startsWith('Unknown option') ? ['run', '--nope', '--clickhouse-password', CH_PASSWORD] : ['run'];
    const r = await runCli(args, { ...WITH_PASSWORDS, KAFKA_BROKERS: kafkaBrokers().join(','), ...env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(expected);
    expectClean('the configuration error', printed(r));
  });

  it('a ClickHouse URL with credentials where nothing listens: run, migrate and query fail cleanly', async () => {
    const url = `http://reader:${CH_URL_PASSWORD}@127.0.0.1:${await freePort()}/`;
    for (const args of [['run'], ['migrate'], ['query', 'SELECT 1']]) {
      const r = await runCli(args, {
        ...WITH_PASSWORDS,
        CLICKHOUSE_URL: url,
        CLICKHOUSE_USER: 'reader',
        KAFKA_BROKERS: kafkaBrokers().join(','),
      });
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
      expectClean(`${args[0] ?? ''} against a closed port`, printed(r));
    }
  });

  it('a ClickHouse that refuses the credentials: the error says so, the password only travels in the Authorization header', async () => {
    for (const args of [['run'], ['migrate'], ['query', 'SELECT 1']]) {
      const r = await runCli(args, {
        ...WITH_PASSWORDS,
        CLICKHOUSE_URL: refusingUrl,
        CLICKHOUSE_USER: 'reader',
        KAFKA_BROKERS: kafkaBrokers().join(','),
      });
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain('Authentication failed');
      expectClean(`${args[0] ?? ''} against refused credentials`, printed(r));
    }
    expect(seenRequests.length).toBeGreaterThan(0);
    for (const req of seenRequests) {
      expect(req.url ?? '').not.toContain(CH_PASSWORD);
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`reader:${CH_PASSWORD}`).toString('base64')}`);
    }
  });

  it('SASL against a broker that has none: a clear error, no password', async () => {
    const r = await runCli(['run'], {
      ...WITH_PASSWORDS,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: KAFKA_PASSWORD,
      SESSIONIZER_DATA_DIR: await dataDir(),
      METRICS_PORT: '0',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SASL|Kafka/);
    expectClean('SASL against a plaintext broker', printed(r));
  });

  it('a running service: logs, /readyz, /healthz, /metrics and a failing /query', async () => {
    const topic = uniqueName('secrets');
    const kafka = testKafka();
    const stream = buildStream({ seed: 61, sessions: 20, maxEventsPerSession: 4 });
    await createTopic(kafka, topic, 1);
    await produce(kafka, topic, stream.messages);
    const dir = await dataDir();
    const child = startCli(['run'], {
      ...WITH_PASSWORDS,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: uniqueName('secrets'),
      SESSIONIZER_DATA_DIR: dir,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: '200',
    });
    let served = '';
    try {
      const endpoint = await waitFor('the endpoint file', async () => {
        const text = await readFile(join(dir, 'sessionizer-endpoint.json'), 'utf8').catch(() => '');
        return text === '' ? undefined : (JSON.parse(text) as { url: string }).url;
      });
      for (const path of ['/readyz', '/healthz', '/metrics']) served += await (await fetch(`${endpoint}${path}`)).text();
      for (const sql of ['SELECT * FROM no_such_table', "SELECT * FROM file('/etc/passwd')", 'SELEC 1']) {
        served += await (await fetch(`${endpoint}/query`, { method: 'POST', body: sql })).text();
      }
      expect(served).toContain('sessionizer_received_events_total');
    } finally {
      child.kill('SIGTERM');
    }
    const r = await child.result;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    expectClean('the running service', printed(r) + served);
  });
});
