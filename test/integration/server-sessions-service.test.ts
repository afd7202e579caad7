/**
 * Server-side sessions in `run`, against the real broker and the embedded engine: an instance
 * killed with its last flush unwritten and its offsets uncommitted (state rows may be ahead of
 * the commit), then two instances sharing the partitions (a rebalance), one of them stopping
 * (another rebalance): the sessions equal an uninterrupted run's — identical ids, nothing lost,
 * nothing doubled.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { faults, faultyClient } from '../support/faults.js';
import { account } from '../support/oracle.js';
import { createTopic, produce, testKafka, untilCommitted } from '../support/kafka.js';
import { metricSum } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { serverSessionOracle } from '../support/server-sessions-topic.js';
import { serverTraffic } from '../support/server-sessions.js';
import { readSessions } from '../support/sessions.js';
import { serialize } from '../support/stream.js';

const PARTITIONS = 4;

describe('server-side sessions through a kill and rebalances', () => {
  const kafka = testKafka();
  let db: TestDatabase | undefined;
  const services: Service[] = [];
  afterAll(async () => {
    for (const s of services) {
      if (s.consumer.state !== 'stopped') await s.consumer.stop(10_000);
      await s.close();
    }
    await db?.drop();
  });

  it('identical ids, lost 0, doubled 0', async () => {
    const database = await testDatabase('server_sessions_run');
    db = database;
    const topic = uniqueName('serversessions');
    const group = uniqueName('serversessions_group');
    await createTopic(kafka, topic, PARTITIONS);
    // keys as PostHog's: token:distinct_id, so all events of a distinct_id share a partition
    const events = serverTraffic(2026, 80, 40).map((e, i) => ({ ...e, event: i % 3 === 0 ? '$pageview' : e.event }));
    const messages = events.map((e) => ({
      key: `phc_test_team_${e.teamId}:${e.distinctId}`,
      value: serialize(e, 'posthog-events', { $lib: 'posthog-node', $current_url: `https://shop.example.com/${e.uuid.slice(-2)}` }),
    }));
    const third = Math.floor(messages.length / 3);
    await produce(kafka, topic, messages.slice(0, third));

    const log = createLogger('error');
    const start = async (name: string, faulty?: ReturnType<typeof faultyClient>): Promise<Service> => {
      const config = inProcessConfig(database.database, {
        topics: topic,
        'group-id': group,
        'client-id': name,
        'flush-interval-ms': '50',
        'flush-max-sessions': '40',
        'server-sessions': 'all',
        'log-level': 'error',
      });
      const service = await startInProcess(config, {
        log,
        clickhouse: faulty === undefined ? database.handle : { ...database.handle, client: faulty.client },
      });
      services.push(service);
      await service.consumer.start();
      return service;
    };

    // a: consumes the first third; then its writes fail while it reads the second third, and it
    // is killed (immediate abort): processed, unwritten, uncommitted
    const faultyA = faultyClient(database.handle.client);
    const a = await start('a', faultyA);
    await untilCommitted(kafka, group, topic, 120_000);
    faultyA.failInsertsUntilHealed(faults.connectionReset());
    await produce(kafka, topic, messages.slice(third, 2 * third));
    const received = async (svc: Service): Promise<number> =>
      metricSum(await svc.metrics.registry.metrics(), 'sessionizer_received_events_total');
    await waitFor('a to read into the second third', async () => ((await received(a)) > third ? true : undefined), 120_000);
    const aReceived = await received(a);
    expect(await a.consumer.stop(0)).toBe(false);

    // b and c share the partitions; the last third is produced meanwhile; c stops half-way
    const b = await start('b');
    const c = await start('c');
    await produce(kafka, topic, messages.slice(2 * third));
    await waitFor('b and c to consume', async () => ((await received(b)) > 0 && (await received(c)) > 0 ? true : undefined), 120_000);
    expect(await c.consumer.stop(30_000)).toBe(true);
    await untilCommitted(kafka, group, topic, 180_000, () => {
      if (b.consumer.failure !== undefined) throw b.consumer.failure;
    });
    expect(await b.consumer.stop(30_000)).toBe(true);

    const { expected, serverEvents } = await serverSessionOracle(kafka, topic, { serverSessions: () => true });
    expect(serverEvents).toBe(events.length);
    const actual = await readSessions(database.handle.client, database.database);
    const acc = account(actual, expected);
    const rules = await Promise.all(
      [b, c].map(async (s) => metricSum(await s.metrics.registry.metrics(), 'sessionizer_server_session_events_total')),
    );
    console.log(
      `server sessions: ${events.length} events, ${expected.length} sessions; a received ${aReceived} before its kill; ` +
        `b+c assigned ${rules.join('+')}; lost ${acc.lost}, doubled ${acc.doubled}, mismatched ${acc.mismatchedRows}`,
    );
    expect(acc).toMatchObject({ lost: 0, doubled: 0, mismatchedRows: 0 });
    expect(actual).toEqual(expected);
    expect(actual.every((s) => s.session_id_source === 'server')).toBe(true);
  });
});
