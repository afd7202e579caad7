/**
 * The service against the real broker and the embedded engine: shuffled events over several
 * partitions with duplicates and invalid messages → sessions equal the oracle exactly; the DLQ
 * holds exactly the invalid messages with their headers; committed offsets reach the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../services/sessionizer/src/config.js';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { committedOffsets, createTopic, endOffsets, produce, readTopic, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';
import { buildStream, type TestStream } from '../support/stream.js';
import { metricSum } from '../support/prometheus.js';

interface Setup {
  readonly topic: string;
  readonly dlq: string;
  readonly group: string;
  readonly config: Config;
}

function configFor(
  db: TestDatabase,
  s: { topic: string; format: string; dlq: string; group: string },
  extra: Record<string, string> = {},
): Config {
  return inProcessConfig(db.database, {
    topics: `${s.topic}:${s.format}`,
    'group-id': s.group,
    'dlq-topic': s.dlq,
    'data-dir': '/nonexistent-unused',
    'flush-interval-ms': '300',
    'token-teams': 'phc_test_team_1=1,phc_test_team_2=2,phc_test_team_3=3',
    'log-level': 'warn',
    ...extra,
  });
}

async function untilDone(kafka: Kafka, s: Setup, db: TestDatabase, stream: TestStream): Promise<void> {
  const ends = await endOffsets(kafka, s.topic);
  await waitFor('committed offsets to reach the end of every partition', async () => {
    const committed = await committedOffsets(kafka, s.group, s.topic);
    return [...ends].every(([p, end]) => committed.get(p) === end) ? true : undefined;
  });
  await waitFor('all sessions in ClickHouse', async () => {
    const rows = await readSessions(db.handle.client, db.database);
    return rows.length === stream.expected.length ? true : undefined;
  });
}

describe.each(['posthog-events', 'posthog-capture'] as const)('sessionizer run (%s)', (format) => {
  const kafka = testKafka();
  let db: TestDatabase;
  let setup: Setup;
  let stream: TestStream;
  let service: Service | undefined;
  const log = createLogger('warn');

  beforeAll(async () => {
    db = await testDatabase('service');
    const topic = uniqueName('events');
    setup = { topic, dlq: `${topic}_dlq`, group: uniqueName('group'), config: undefined as unknown as Config };
    setup = { ...setup, config: configFor(db, { ...setup, format }) };
    stream = buildStream({
      seed: format === 'posthog-events' ? 11 : 12,
      sessions: 300,
      maxEventsPerSession: 15,
      format,
      duplicates: 400,
      invalid: 40,
      noSessionId: 15,
    });
    await createTopic(kafka, topic, 4);
    await produce(kafka, topic, stream.messages);
  });
  afterAll(async () => {
    await service?.consumer.stop(10_000);
    await service?.close();
    await db.drop();
  });

  it('sessions equal the oracle, the DLQ holds exactly the invalid messages, offsets are committed to the end', async () => {
    service = await startInProcess(setup.config, { log, clickhouse: db.handle });
    await service.consumer.start();
    await untilDone(kafka, setup, db, stream);

    const actual = await readSessions(db.handle.client, db.database);
    console.log(
      `${format}: ${stream.messages.length} messages → ${actual.length} sessions (oracle ${stream.expected.length}), ${stream.invalid.length} invalid, ${stream.excluded.length} excluded`,
    );
    expect(actual).toEqual(stream.expected);

    const dead = await readTopic(kafka, setup.dlq);
    expect(dead.map((m) => m.value?.toString() ?? '').sort()).toEqual([...stream.invalid].sort());
    const sources = await endOffsets(kafka, setup.topic);
    for (const m of dead) {
      expect(m.headers['sessionizer-reason']).toMatch(/^(malformed_json|schema_invalid|timestamp_invalid|event_too_large|unknown_token)$/);
      expect(m.headers['sessionizer-source-topic']).toBe(setup.topic);
      const partition = Number(m.headers['sessionizer-source-partition']);
      const offset = Number(m.headers['sessionizer-source-offset']);
      expect(offset).toBeLessThan(Number(sources.get(partition)));
      expect(m.headers['sessionizer-format']).toBe(format);
      expect(m.headers['sessionizer-message']?.length).toBeGreaterThan(0);
    }

    // metrics add up: every message is aggregated, excluded or invalid
    const text = await (await fetch(`${service.http.url}/metrics`)).text();
    const sum = (name: string): number => metricSum(text, name);
    const received = sum('sessionizer_received_events_total');
    expect(received).toBe(stream.messages.length);
    expect(
      sum('sessionizer_aggregated_events_total') + sum('sessionizer_excluded_events_total') + sum('sessionizer_invalid_events_total'),
    ).toBe(received);
    expect(sum('sessionizer_dead_lettered_events_total')).toBe(stream.invalid.length);
    expect(sum('sessionizer_excluded_events_total')).toBe(stream.excluded.length);
    expect(text).toMatch(/sessionizer_consumer_lag_messages\{topic="[^"]+",partition="\d"\} 0/);
    expect(sum('sessionizer_last_commit_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(sum('sessionizer_written_rows_total')).toBeGreaterThan(0);
    expect(text).toContain('sessionizer_flush_duration_seconds_bucket');
    expect(text).toContain('sessionizer_buffered_sessions');

    const health = await fetch(`${service.http.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${service.http.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', state: 'running' });

    expect(await service.consumer.stop(10_000)).toBe(true);
    expect((await fetch(`${service.http.url}/readyz`)).status).toBe(503);
  });
});

describe('two instances in one group', () => {
  const kafka = testKafka();
  let db: TestDatabase;
  const services: Service[] = [];
  afterAll(async () => {
    for (const s of services) {
      await s.consumer.stop(10_000);
      await s.close();
    }
    await db.drop();
  });

  it('split the partitions and give exactly the oracle’s sessions', async () => {
    db = await testDatabase('scaleout');
    const topic = uniqueName('events');
    const setup = { topic, dlq: `${topic}_dlq`, group: uniqueName('group') };
    const stream = buildStream({ seed: 21, sessions: 400, maxEventsPerSession: 12, duplicates: 300, invalid: 10 });
    await createTopic(kafka, topic, 6);
    const log = createLogger('warn');
    for (let i = 0; i < 2; i += 1) {
      const s = await startInProcess(configFor(db, { ...setup, format: 'posthog-events' }, { 'client-id': `instance-${i}` }), {
        log,
        clickhouse: db.handle,
      });
      services.push(s);
      await s.consumer.start();
    }
    await produce(kafka, topic, stream.messages);
    await untilDone(kafka, { ...setup, config: undefined as unknown as Config }, db, stream);
    const counts = await Promise.all(
      services.map(async (s) =>
        Number(/sessionizer_received_events_total\{[^}]*\} (\d+)/.exec(await (await fetch(`${s.http.url}/metrics`)).text())?.[1] ?? 0),
      ),
    );
    console.log(`two instances received ${counts.join(' + ')} messages`);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(await readSessions(db.handle.client, db.database)).toEqual(stream.expected);
  });
});
