/**
 * Rebalances while producing and consuming: 1 instance → 3 → one of them "killed" → back to 1.
 * The instances run in-process on one test database (the embedded engine allows one process
 * per data directory, so subprocesses would split the data across directories).
 *
 * The "kill": a Service exposes no Kafka client, so nothing public can drop its connections
 * without the consumer noticing. The least invasive stand-in with public APIs only: its
 * ClickHouse writes start failing (the fault-injecting wrapper it was started with), then
 * `consumer.stop(0)`: the flush in flight and the final flush are aborted at once, so the
 * instance dies with its buffer unwritten and its offsets uncommitted, and its consumer leaves
 * the group. What this does not cover: a member that vanishes without a LeaveGroup (its
 * partitions wait for the session timeout; crash.test.ts covers that with SIGKILL), and a kill
 * in the middle of a ClickHouse insert (inserts are atomic; a write that entered the engine
 * before the kill completes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { faults, faultyClient, type FaultyClient } from '../support/faults.js';
import { account, outcomeFields, topicOracle } from '../support/oracle.js';
import { faultReport, scaled } from '../support/scale.js';
import { retrying, sleep } from '../support/wait.js';
import { metricSum } from '../support/prometheus.js';
import { backgroundProducer, generated } from '../support/faults-producer.js';
import { committedOffsets, createTopic, testKafka, progress, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_129);
const EVENTS = scaled(30_000, 150_000);
const RATE = scaled(1_000, 2_500);
const PHASE_MS = scaled(5_000, 15_000);
const PARTITIONS = 6;

interface Instance {
  readonly name: string;
  readonly service: Service;
  readonly faulty: FaultyClient;
  startedAt: number;
  stoppedAt?: number;
  how?: 'killed' | 'stopped';
  cleanStop?: boolean;
}

describe('rebalance: scale 1 → 3, kill one, back to 1, while producing', () => {
  const kafka = testKafka();
  let db: TestDatabase | undefined;
  const instances: Instance[] = [];
  afterAll(async () => {
    for (const i of instances) {
      if (i.stoppedAt === undefined) await i.service.consumer.stop(10_000);
      await i.service.close();
    }
    await db?.drop();
  });

  it('exactly the oracle', async () => {
    const started = Date.now();
    const database = await testDatabase('faults_rebalance');
    db = database;
    const topic = uniqueName('rebalance');
    const dlq = `${topic}_dlq`;
    const group = uniqueName('rebalance_group');
    await retrying('create topics', async () => {
      await createTopic(kafka, topic, PARTITIONS);
      await createTopic(kafka, dlq, 1);
    });
    const log = createLogger('error');
    const start = async (name: string): Promise<Instance> => {
      const config = inProcessConfig(database.database, {
        topics: topic,
        'group-id': group,
        'dlq-topic': dlq,
        'client-id': name,
        'flush-interval-ms': '100',
        'flush-max-sessions': '300',
        'log-level': 'error',
      });
      const faulty = faultyClient(database.handle.client);
      const service = await startInProcess(config, { log, clickhouse: { ...database.handle, client: faulty.client } });
      const instance: Instance = { name, service, faulty, startedAt: Date.now() - started };
      instances.push(instance);
      await service.consumer.start();
      return instance;
    };
    const received = async (i: Instance): Promise<number> =>
      metricSum(await i.service.metrics.registry.metrics(), 'sessionizer_received_events_total');
    const failures = (): string[] =>
      instances.flatMap((i) => (i.service.consumer.failure === undefined ? [] : [`${i.name}: ${i.service.consumer.failure.message}`]));

    const producer = backgroundProducer(
      kafka,
      topic,
      generated({
        seed: SEED,
        events: EVENTS,
        activeSessions: 1_000,
        rates: { outOfOrder: 0.05, duplicates: 0.03, invalid: 0.01, noSessionId: 0.01 },
      }),
      { rate: RATE },
    );
    const timeline: { t: number; what: string; lag: number }[] = [];
    const mark = async (what: string): Promise<void> => {
      timeline.push({ t: Date.now() - started, what, lag: (await progress(kafka, group, topic)).lag });
    };

    // 1 instance
    const a = await start('a');
    await waitUntil(async () => (await received(a)) > 0, 60_000);
    await mark('a consuming');
    await sleep(PHASE_MS);

    // scale to 3
    const [b, c] = await Promise.all([start('b'), start('c')]);
    await waitUntil(async () => (await received(b)) > 0 && (await received(c)) > 0, 90_000);
    await mark('a, b, c consuming');
    await sleep(PHASE_MS);

    // kill b: writes fail from now on, then an immediate abort; it leaves the group unflushed
    const receivedByB = await received(b);
    b.faulty.failInsertsUntilHealed(faults.connectionReset());
    const killedAt = Date.now();
    await sleep(300);
    b.cleanStop = await b.service.consumer.stop(0);
    b.stoppedAt = Date.now() - started;
    b.how = 'killed';
    const bText = await b.service.metrics.registry.metrics();
    await mark('b killed');
    // recovery: the survivors take over b's partitions and commit on each of them
    const bPartitions = [...bText.matchAll(/sessionizer_consumer_lag_messages\{[^}]*partition="(\d+)"[^}]*\}/g)].map((m) => Number(m[1]));
    const committedAtKill = await committedOffsets(kafka, group, topic);
    await waitUntil(async () => {
      const now = await committedOffsets(kafka, group, topic);
      return bPartitions.every((p) => Number(now.get(p) ?? -1) > Number(committedAtKill.get(p) ?? -1));
    }, 120_000);
    const recoveryMs = Date.now() - killedAt;
    await mark(`b's partitions ${bPartitions.join(',')} committed again by the survivors`);
    await sleep(PHASE_MS);

    // back to 1: c stops gracefully
    c.cleanStop = await c.service.consumer.stop(30_000);
    c.stoppedAt = Date.now() - started;
    c.how = 'stopped';
    await mark('c stopped');

    const produced = await producer.done;
    const producedAt = Date.now();
    await untilCommitted(kafka, group, topic, 300_000, () => {
      if (failures().length > 0) throw new Error(failures().join('; '));
    });
    const drainMs = Date.now() - producedAt;
    await mark('a caught up');
    const aText = await a.service.metrics.registry.metrics();
    a.cleanStop = await a.service.consumer.stop(30_000);
    a.stoppedAt = Date.now() - started;
    a.how = 'stopped';

    const oracle = await topicOracle(kafka, topic);
    const actual = await readSessions(database.handle.client, database.database);
    const acc = account(actual, oracle.expected);
    const perInstance = await Promise.all(
      instances.map(async (i) => {
        const text = await i.service.metrics.registry.metrics();
        return {
          name: i.name,
          startedAtMs: i.startedAt,
          stoppedAtMs: i.stoppedAt,
          how: i.how,
          cleanStop: i.cleanStop,
          received: metricSum(text, 'sessionizer_received_events_total'),
          rowsWritten: metricSum(text, 'sessionizer_written_rows_total'),
          commitsOk: metricSum(text, 'sessionizer_offset_commits_total', { outcome: 'ok' }),
          commitsFailed: metricSum(text, 'sessionizer_offset_commits_total', { outcome: 'failed' }),
          rebalanceFlushes: metricSum(text, 'sessionizer_flushes_total', { reason: 'rebalance' }),
        };
      }),
    );
    const receivedTotal = perInstance.reduce((s, i) => s + i.received, 0);
    faultReport('rebalance', {
      seed: SEED,
      timeline,
      instances: perInstance,
      bReceivedAtKill: receivedByB,
      bWriteRetries: metricSum(bText, 'sessionizer_clickhouse_write_retries_total'),
      eventsIn: oracle.messages,
      producerAcknowledged: produced.sent,
      receivedByAllInstances: receivedTotal,
      replayed: receivedTotal - oracle.messages,
      ...outcomeFields(oracle, actual, acc),
      recoveryMs,
      drainAfterProducerMs: drainMs,
      aLag: metricSum(aText, 'sessionizer_consumer_lag_messages'),
      durationMs: Date.now() - started,
    });
    expect(failures()).toEqual([]);
    expect(b.cleanStop).toBe(false);
    expect(c.cleanStop).toBe(true);
    expect(a.cleanStop).toBe(true);
    expect(acc.lost).toBe(0);
    expect(acc.doubled).toBe(0);
    expect(actual).toEqual(oracle.expected);
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(200);
  }
}
