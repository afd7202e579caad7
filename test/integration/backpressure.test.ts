/**
 * ClickHouse down: the service retries with backoff, pauses fetching when its buffer is full,
 * commits nothing that is not written, keeps memory bounded, shows it on /readyz and in its
 * metrics, and recovers to the exact result when writes work again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { faults, faultyClient } from '../support/faults.js';
import { committedOffsets, createTopic, endOffsets, produce, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';
import { metricSum } from '../support/prometheus.js';
import { buildStream } from '../support/stream.js';

const metric = metricSum;

describe('backpressure during a ClickHouse outage', () => {
  const kafka = testKafka();
  let db: TestDatabase | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.consumer.stop(10_000);
    await service?.close();
    await db?.drop();
  });

  it('pauses with bounded memory, commits nothing unwritten, then recovers exactly', async () => {
    db = await testDatabase('outage');
    const topic = uniqueName('events');
    const group = uniqueName('group');
    const stream = buildStream({ seed: 41, sessions: 12_000, maxEventsPerSession: 4, duplicates: 200 });
    await createTopic(kafka, topic, 3);
    await produce(kafka, topic, stream.messages, 2_000);
    const maxBytes = 256 * 1024;
    const config = inProcessConfig(db.database, {
      topics: topic,
      'group-id': group,
      'flush-interval-ms': '200',
      'flush-max-sessions': '1000',
      'flush-max-bytes': String(maxBytes),
      'log-level': 'error',
    });
    const faulty = faultyClient(db.handle.client);
    service = await startInProcess(config, { log: createLogger('error'), clickhouse: { ...db.handle, client: faulty.client } });
    faulty.failInsertsUntilHealed(faults.connectionReset()); // after the migrations
    await service.consumer.start();
    const url = service.http.url;

    // the outage: wait until fetching is paused, then watch memory for a while
    await waitFor('fetching to pause', async () =>
      metric(await (await fetch(`${url}/metrics`)).text(), 'sessionizer_fetch_paused') === 1 ? true : undefined,
    );
    let maxBuffered = 0;
    let maxSessions = 0;
    for (let i = 0; i < 20; i += 1) {
      const text = await (await fetch(`${url}/metrics`)).text();
      maxBuffered = Math.max(maxBuffered, metric(text, 'sessionizer_buffered_bytes'));
      maxSessions = Math.max(maxSessions, metric(text, 'sessionizer_buffered_sessions'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const text = await (await fetch(`${url}/metrics`)).text();
    const received = metric(text, 'sessionizer_received_events_total');
    const retries = metric(text, 'sessionizer_clickhouse_write_retries_total');
    const ready = await fetch(`${url}/readyz`);
    const committed = await committedOffsets(kafka, group, topic);
    console.log(
      `outage: paused after ${received} of ${stream.messages.length} messages; buffered at most ${maxSessions} sessions / ${maxBuffered} bytes ` +
        `(limit ${maxBytes} bytes per buffer), ${retries} write retries, /readyz ${ready.status}`,
    );
    expect(ready.status).toBe(503);
    expect(retries).toBeGreaterThan(0);
    expect(received).toBeLessThan(stream.messages.length);
    // one buffer at its limit plus the drained one in flight, each over by at most one fetched
    // batch: here ~2,000 messages of new sessions, ~2.5 KB of state each since the catalog's 66
    // columns (bench:core; ~0.9 KB with the 24 columns before), so up to ~5 MiB a batch
    expect(maxBuffered).toBeLessThan(2 * maxBytes + 2 * 6 * 1024 * 1024);
    expect([...committed.values()].every((o) => Number(o) <= 0)).toBe(true);
    expect(await readSessions(db.handle.client, db.database)).toEqual([]);

    // recovery
    faulty.heal();
    const ends = await endOffsets(kafka, topic);
    await waitFor(
      'the stream to be committed after recovery',
      async () => {
        const c = await committedOffsets(kafka, group, topic);
        return [...ends].every(([p, end]) => c.get(p) === end) ? true : undefined;
      },
      120_000,
    );
    expect(await readSessions(db.handle.client, db.database)).toEqual(stream.expected);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(metric(await (await fetch(`${url}/metrics`)).text(), 'sessionizer_fetch_paused')).toBe(0);
  });
});
