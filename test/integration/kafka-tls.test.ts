/**
 * Kafka over TLS with SASL against a real broker of its own (infra/kafka/start.sh --sasl-ssl:
 * certificates from keytool, a SCRAM-SHA-512 and a PLAIN user): `sessionizer run` as a process
 * consumes through each mechanism end to end (events in → sessions in ClickHouse = the oracle).
 * A wrong password, an untrusted CA, a plaintext client on the TLS port and a TLS client on a
 * plaintext port each end `sessionizer run` with a message that says what to fix and exit 1; the
 * wait for that exit is bounded (a hang fails the test). Nothing any run printed, nor /readyz or
 * /metrics, contains a password. Each run's time is printed (TLS-REPORT), never asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '@sessionizer/core';
import { groupProgress } from '@sessionizer/kafka';
import { jsonLines, runCli, startCli, type CliResult } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';
import { createTopic, produce } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { secretForms, startSecureBroker, type SaslUser, type SecureBroker } from '../support/secure-kafka.js';
import { buildStream } from '../support/stream.js';

/** The longest a failing start may take before we call it a hang. */
const EXIT_BOUND_MS = 60_000;
const CLICKHOUSE_PASSWORD = `ch-${Date.now().toString(36)}-pw`;

let broker: SecureBroker;
const dirs: string[] = [];
const report: Record<string, unknown> = {};

beforeAll(async () => {
  broker = await startSecureBroker();
  report['brokerStartMs'] = broker.timings.startMs;
  report['untrustedCaCertMs'] = broker.timings.untrustedCaMs;
}, 240_000);

afterAll(async () => {
  console.log(`TLS-REPORT ${JSON.stringify(report)}`);
  await broker.destroy();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sessionizer-tls-'));
  dirs.push(d);
  return d;
}

function env(user: SaslUser | undefined, extra: Record<string, string>): Record<string, string> {
  return {
    KAFKA_BROKERS: broker.brokers,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: broker.caFile,
    ...(user === undefined
      ? {}
      : { KAFKA_SASL_MECHANISM: user.mechanism, KAFKA_SASL_USERNAME: user.username, KAFKA_SASL_PASSWORD: user.password }),
    CLICKHOUSE_PASSWORD,
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    FLUSH_INTERVAL_MS: '200',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    ...extra,
  };
}

function expectNoSecrets(what: string, text: string): void {
  const secrets = [
    ...secretForms(broker.scram.password, broker.scram.username),
    ...secretForms(broker.plain.password, broker.plain.username),
    ...secretForms(CLICKHOUSE_PASSWORD, 'default'),
  ];
  for (const s of secrets) expect(text.includes(s), `${what} contains a password (${s.slice(0, 3)}…)`).toBe(false);
}

/** Run `sessionizer run` until it exits by itself; the bound is what tells a hang from a failure. */
async function runToFailure(name: string, e: Record<string, string>): Promise<CliResult> {
  const started = Date.now();
  const child = startCli(['run'], e);
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_BOUND_MS);
  const result = await child.result;
  clearTimeout(timer);
  report[`${name}Ms`] = Date.now() - started;
  expect(result.signal, `${name}: no exit within ${EXIT_BOUND_MS} ms (a hang); stderr: ${result.stderr.slice(-1500)}`).toBeNull();
  expectNoSecrets(name, result.stdout + result.stderr);
  return result;
}

describe('Kafka over TLS with SASL, against a real SASL_SSL broker', () => {
  it.each([
    ['SCRAM-SHA-512', 'scram'],
    ['PLAIN', 'plain'],
  ] as const)('%s: events in → sessions in ClickHouse equal the oracle; no password anywhere', async (_label, which) => {
    const user = broker[which];
    const admin = broker.client(user);
    const topic = uniqueName(`tls_${which}`);
    const group = uniqueName('tls_group');
    const stream = buildStream({ seed: which === 'scram' ? 51 : 52, sessions: 40, maxEventsPerSession: 5 });
    await createTopic(admin, topic, 2);
    await produce(admin, topic, stream.messages);
    const dir = await dataDir();
    const started = Date.now();
    const child = startCli(
      ['run'],
      env(user, { KAFKA_TOPICS: topic, KAFKA_GROUP_ID: group, SESSIONIZER_DATA_DIR: dir, LOG_LEVEL: 'debug' }),
    );
    let stderrSoFar = '';
    child.stderr.on('data', (d: Buffer) => (stderrSoFar += d.toString()));
    let endpointText = '';
    try {
      await waitFor(
        'everything committed',
        async () => {
          const { committed, end } = await groupProgress(admin, group, topic);
          return [...end].every(([p, e]) => (committed.get(p) ?? -1n) >= e) ? true : undefined;
        },
        90_000,
      );
      report[`${which}ConsumedMs`] = Date.now() - started;
      // what the service shows while it runs with the passwords
      const url = /"http":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderrSoFar)?.[1];
      expect(url, 'the service logged its HTTP address').toBeDefined();
      for (const path of ['/readyz', '/healthz', '/metrics']) endpointText += await (await fetch(`${url ?? ''}${path}`)).text();
      expect(endpointText).toContain('sessionizer_received_events_total');
    } finally {
      child.kill('SIGTERM');
    }
    const result = await child.result;
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    expectNoSecrets(`${which} run`, result.stdout + result.stderr + endpointText);
    const q = await runCli([
      'query',
      'SELECT * EXCEPT (max_inserted_at) FROM sessions ORDER BY team_id, toString(session_id)',
      '--data-dir',
      dir,
    ]);
    expect(q.code, q.stderr).toBe(0);
    expect(jsonLines<Session>(q.stdout)).toEqual(stream.expected);
  });

  it('a wrong password: a clear error and exit 1', async () => {
    const wrong = { ...broker.scram, password: `${broker.scram.password}x` };
    const r = await runToFailure('wrongPassword', env(wrong, { SESSIONIZER_DATA_DIR: await dataDir() }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Kafka SASL authentication failed as '${broker.scram.username}' (scram-sha-512)`);
    expect(r.stderr).toContain('Check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM');
    expect(r.stderr.includes(wrong.password)).toBe(false);
  });

  it('a CA that did not sign the broker certificate: a clear error and exit 1', async () => {
    const r = await runToFailure(
      'untrustedCa',
      env(broker.scram, { SESSIONIZER_DATA_DIR: await dataDir(), KAFKA_SSL_CA_FILE: broker.untrustedCaFile }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the TLS certificate of the Kafka broker at ${broker.brokers} is not trusted (SELF_SIGNED_CERT_IN_CHAIN)`);
    expect(r.stderr).toContain('KAFKA_SSL_CA_FILE');
  });

  it('a plaintext client on the TLS port: a clear error and exit 1', async () => {
    const r = await runToFailure('plaintextOnTls', env(broker.scram, { SESSIONIZER_DATA_DIR: await dataDir(), KAFKA_SSL: 'false' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the Kafka broker at ${broker.brokers} closed the connection before answering, 3 times: this port probably expects TLS (KAFKA_SSL=true)`,
    );
  });

  it('a TLS client on a plaintext port: a clear error and exit 1', async () => {
    const plaintext = kafkaBrokers()[0] ?? '';
    const r = await runToFailure('tlsOnPlaintext', env(broker.scram, { SESSIONIZER_DATA_DIR: await dataDir(), KAFKA_BROKERS: plaintext }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the Kafka broker at ${plaintext} hung up on the TLS handshake, 3 times: is this a plaintext port?`);
  });
});
