/**
 * The service as a process: SIGTERM mid-stream → exit 0, and exactly what it consumed is in
 * ClickHouse and committed; a restart finishes the stream; while it runs, `sessionizer query`
 * reads through its loopback endpoint, which refuses anything but reads.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalize, type Session } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { jsonLines, runCli, startCli } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';
import { committedOffsets, createTopic, endOffsets, produce, readTopic, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { buildStream } from '../support/stream.js';
import { SESSIONS_AS_ORACLE_SQL, sessionsInDir } from '../support/sessions.js';

const kafka = testKafka();
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function serviceEnv(topic: string, group: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    KAFKA_TOPICS: topic,
    KAFKA_GROUP_ID: group,
    KAFKA_DLQ_TOPIC: `${topic}_dlq`,
    SESSIONIZER_DATA_DIR: dataDir,
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    FLUSH_INTERVAL_MS: '200',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

describe('sessionizer run as a process', () => {
  it('SIGTERM mid-stream: exits 0, and everything it consumed is in ClickHouse and committed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-sigterm-'));
    dirs.push(dataDir);
    const topic = uniqueName('events');
    const group = uniqueName('group');
    const stream = buildStream({ seed: 31, sessions: 3000, maxEventsPerSession: 12, duplicates: 500, invalid: 20 });
    await createTopic(kafka, topic, 3);
    await produce(kafka, topic, stream.messages);

    // small fetches so that the stream takes many batches and SIGTERM lands mid-stream
    const child = startCli(['run'], serviceEnv(topic, group, dataDir, { FLUSH_MAX_SESSIONS: '500' }));
    await waitFor(
      'a first commit',
      async () => {
        const c = await committedOffsets(kafka, group, topic);
        return [...c.values()].some((o) => Number(o) > 0) ? true : undefined;
      },
      60_000,
      20,
    );
    const sent = Date.now();
    child.kill('SIGTERM');
    const result = await child.result;
    const seconds = (Date.now() - sent) / 1000;
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    expect(result.stderr).toContain('stopped cleanly');

    const committed = await committedOffsets(kafka, group, topic);
    const ends = await endOffsets(kafka, topic);
    const consumed = [...committed.values()].reduce((a, b) => a + Math.max(0, Number(b)), 0);
    const total = [...ends.values()].reduce((a, b) => a + Number(b), 0);
    console.log(`SIGTERM after the first commit: stopped in ${seconds.toFixed(2)} s having committed ${consumed} of ${total} messages`);

    // exactly the committed prefix of each partition is in ClickHouse
    const all = await readTopic(kafka, topic);
    const prefix = all.filter((m) => Number(m.offset) < Number(committed.get(m.partition) ?? 0));
    const accepted = prefix.flatMap((m) => {
      const r = normalize('posthog-events', m.value?.toString() ?? '', stream.normalizeOptions);
      return r.ok ? [r.event] : [];
    });
    expect(await sessionsInDir(dataDir)).toEqual(sessionize(accepted));

    // a restart picks up from the commit and finishes the stream exactly
    const again = startCli(['run'], serviceEnv(topic, group, dataDir));
    await waitFor(
      'the rest of the stream to be committed',
      async () => {
        const c = await committedOffsets(kafka, group, topic);
        return [...ends].every(([p, end]) => c.get(p) === end) ? true : undefined;
      },
      120_000,
    );
    again.kill('SIGTERM');
    expect((await again.result).code).toBe(0);
    expect(await sessionsInDir(dataDir)).toEqual(stream.expected);
  });

  it('while it runs, `sessionizer query` reads through its loopback endpoint, read-only', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-endpoint-'));
    dirs.push(dataDir);
    const topic = uniqueName('events');
    const group = uniqueName('group');
    const stream = buildStream({ seed: 32, sessions: 60, maxEventsPerSession: 6 });
    await createTopic(kafka, topic, 2);
    await produce(kafka, topic, stream.messages);
    const child = startCli(['run'], serviceEnv(topic, group, dataDir));
    // query only once the service holds the directory and has announced its endpoint
    await waitFor('the endpoint file', async () =>
      (await readFile(join(dataDir, 'sessionizer-endpoint.json'), 'utf8').catch(() => '')) === '' ? undefined : true,
    );
    let lastQuery = '';
    try {
      const rows = await waitFor('sessions readable through the running service', async () => {
        const r = await runCli(['query', SESSIONS_AS_ORACLE_SQL, '--data-dir', dataDir]);
        lastQuery = `exit ${r.code}: ${r.stderr.slice(-500)}`;
        const got = r.code === 0 ? jsonLines<Session>(r.stdout) : [];
        return got.length === stream.expected.length ? got : undefined;
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}; last query ${lastQuery}`);
      });
      expect(rows).toEqual(stream.expected);

      const drop = await runCli(['query', 'DROP TABLE sessions', '--data-dir', dataDir]);
      expect(drop.code).not.toBe(0);
      expect(drop.stderr).toContain('only read-only statements are allowed');
      const multi = await runCli(['query', 'SELECT 1; DROP TABLE sessions', '--data-dir', dataDir]);
      expect(multi.code).not.toBe(0);
      expect(multi.stderr).toContain('one statement at a time');
      const outfile = await runCli(['query', "SELECT 1 INTO OUTFILE '/tmp/x'", '--data-dir', dataDir]);
      expect(outfile.stderr).toContain('INTO OUTFILE and FORMAT are not allowed');
      // read-only by ClickHouse: table functions that reach files are refused, so is SETTINGS
      const file = await runCli(['query', "SELECT * FROM file('/etc/passwd', 'LineAsString')", '--data-dir', dataDir]);
      expect(file.code).toBe(2);
      expect(file.stderr).toContain('file() is not allowed here');
      expect(file.stdout).toBe('');
      const settings = await runCli(['query', 'SELECT * FROM (SELECT 1 SETTINGS readonly = 0)', '--data-dir', dataDir]);
      expect(settings.stderr).toContain('SETTINGS are not allowed here');
      const unknown = await runCli(['query', 'SELECT * FROM no_such_table', '--data-dir', dataDir]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('query failed: ');
      const count = await runCli(['query', 'SELECT count() AS n FROM sessions', '--data-dir', dataDir]);
      expect(jsonLines(count.stdout)).toEqual([{ n: stream.expected.length }]);
    } finally {
      child.kill('SIGTERM');
      const result = await child.result;
      expect(result.code, result.stderr.slice(-3000)).toBe(0);
    }
    // after the service stopped, the data directory opens directly again
    expect(await sessionsInDir(dataDir)).toEqual(stream.expected);
  });

  it('without a running service, a held directory gives a clear message', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-held-'));
    dirs.push(dataDir);
    // this test process holds the directory
    const { createChdbConnection } = await import('chdb/connection');
    const conn = createChdbConnection({ path: dataDir });
    try {
      const r = await runCli(['query', 'SELECT 1', '--data-dir', dataDir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the embedded ClickHouse data directory ${dataDir} is in use by another process (pid ${process.pid})`);
      expect(r.stderr).toContain('CLICKHOUSE_URL');
    } finally {
      await conn.close();
    }
  });
});
