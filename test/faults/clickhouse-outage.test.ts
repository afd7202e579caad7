/**
 * A sustained ClickHouse outage (every write fails, via the fault-injecting client wrapper)
 * while a producer keeps producing, with the service in-process: it pauses fetching, its
 * buffered bytes stay under a bound (from its own metrics), nothing is committed while writes
 * fail, /readyz and the gauges show the outage (recorded as a time series), and after recovery
 * the `sessions` view equals the oracle over the topic.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { faults, faultyClient } from '../support/faults.js';
import { account, outcomeFields, topicOracle } from '../support/oracle.js';
import { faultReport, scaled } from '../support/scale.js';
import { metricSum, scrape } from '../support/prometheus.js';
import { backgroundProducer, generated } from '../support/faults-producer.js';
import { committedOffsets, createTopic, endOffsets, testKafka, progress, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';
import { waitFor, retrying, sleep } from '../support/wait.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_128);
const OUTAGE_MS = scaled(12_000, 20_000);
const RATE = scaled(1_000, 2_000);
const EVENTS = scaled(25_000, 80_000);
const MAX_BYTES = 256 * 1024;
/** kafkajs fetches at most this much per partition (its default maxBytesPerPartition, which KafkaJsSource keeps). */
const FETCH_BYTES = 1024 * 1024;

interface Sample {
  t: number;
  phase: 'before' | 'outage' | 'after';
  bufferedBytes: number;
  bufferedSessions: number;
  paused: number;
  ready: number;
  readyz: number;
  retries: number;
  received: number;
  commitsOk: number;
  heapMiB: number;
}

describe('ClickHouse outage while producing', () => {
  const kafka = testKafka();
  let db: TestDatabase | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.consumer.stop(10_000);
    await service?.close();
    await db?.drop();
  });

  it(`${OUTAGE_MS / 1000} s of failing writes: paused, bounded, nothing committed, then exact`, async () => {
    const started = Date.now();
    db = await testDatabase('faults_outage');
    const topic = uniqueName('outage');
    const group = uniqueName('outage_group');
    await retrying('create topic', () => createTopic(kafka, topic, 3));
    const config = inProcessConfig(db.database, {
      topics: topic,
      'group-id': group,
      'flush-interval-ms': '200',
      'flush-max-sessions': '1000',
      'flush-max-bytes': String(MAX_BYTES),
      'log-level': 'error',
    });
    const faulty = faultyClient(db.handle.client);
    service = await startInProcess(config, { log: createLogger('error'), clickhouse: { ...db.handle, client: faulty.client } });
    await service.consumer.start();
    const url = service.http.url;
    const producer = backgroundProducer(
      kafka,
      topic,
      generated({
        seed: SEED,
        events: EVENTS,
        activeSessions: 2_000,
        rates: { outOfOrder: 0.05, duplicates: 0.03, invalid: 0.01, noSessionId: 0.01 },
      }),
      { rate: RATE },
    );

    const samples: Sample[] = [];
    let phase: Sample['phase'] = 'before';
    const t0 = Date.now();
    const sample = async (): Promise<Sample> => {
      const text = await scrape(url);
      const s: Sample = {
        t: Date.now() - t0,
        phase,
        bufferedBytes: metricSum(text, 'sessionizer_buffered_bytes'),
        bufferedSessions: metricSum(text, 'sessionizer_buffered_sessions'),
        paused: metricSum(text, 'sessionizer_fetch_paused'),
        ready: metricSum(text, 'sessionizer_ready'),
        readyz: (await fetch(`${url}/readyz`)).status,
        retries: metricSum(text, 'sessionizer_clickhouse_write_retries_total'),
        received: metricSum(text, 'sessionizer_received_events_total'),
        commitsOk: metricSum(text, 'sessionizer_offset_commits_total', { outcome: 'ok' }),
        heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
      };
      samples.push(s);
      return s;
    };

    // normal operation first: commits happen
    await waitFor('a commit before the outage', async () => ((await sample()).commitsOk > 0 ? true : undefined), 30_000);
    await sleep(2_000);

    // the outage
    phase = 'outage';
    faulty.failInsertsUntilHealed(faults.connectionReset());
    const outageAt = Date.now();
    // the flush in flight when the outage began may still finish and commit; from the first
    // failed write on, that flush retries and no other can start: nothing may be committed
    await waitFor('write retries during the outage', async () => ((await sample()).retries > 0 ? true : undefined), 30_000);
    const committedAtFirstRetry = await committedOffsets(kafka, group, topic);
    const commitsAtFirstRetry = samples[samples.length - 1]?.commitsOk ?? 0;
    while (Date.now() - outageAt < OUTAGE_MS) {
      await sample();
      await sleep(250);
    }
    const beforeHeal = await sample();
    const committedBeforeHeal = await committedOffsets(kafka, group, topic);
    const producedDuringOutage = producer.sent();

    // recovery
    phase = 'after';
    faulty.heal();
    const healedAt = Date.now();
    const target = await endOffsets(kafka, topic);
    await waitFor(
      'everything committed after the outage',
      async () => {
        await sample();
        const c = await committedOffsets(kafka, group, topic);
        return [...target].every(([p, end]) => Number(c.get(p) ?? -1) >= Number(end)) ? true : undefined;
      },
      180_000,
      250,
    );
    const recoveryMs = Date.now() - healedAt;
    // the first commit after the heal: the retry in flight had to wake up first (its backoff
    // sleep is at most CLICKHOUSE_RETRY_MAX_DELAY_MS), then write the buffer and commit
    const firstCommitAfterHeal = samples.find((x) => x.phase === 'after' && x.commitsOk > beforeHeal.commitsOk);
    const firstCommitAfterHealMs = firstCommitAfterHeal === undefined ? null : firstCommitAfterHeal.t - (healedAt - t0);
    const produced = await producer.done;
    await untilCommitted(kafka, group, topic, 180_000);
    const final = await sample();
    const oracle = await topicOracle(kafka, topic);
    const actual = await readSessions(db.handle.client, db.database);
    const acc = account(actual, oracle.expected);
    const outage = samples.filter((s) => s.phase === 'outage');
    const bound = 2 * (MAX_BYTES + FETCH_BYTES);
    const maxBuffered = Math.max(...samples.map((s) => s.bufferedBytes));

    faultReport('clickhouse-outage', {
      seed: SEED,
      outageMs: healedAt - outageAt,
      eventsIn: oracle.messages,
      producedDuringOutageUpTo: producedDuringOutage,
      producerAcknowledged: produced.sent,
      ...outcomeFields(oracle, actual, acc),
      maxBufferedBytes: maxBuffered,
      bufferedBytesBound: bound,
      maxBufferedSessions: Math.max(...samples.map((s) => s.bufferedSessions)),
      writeRetries: beforeHeal.retries,
      pausedDuringOutage: outage.some((s) => s.paused === 1),
      readyzDuringOutage: [...new Set(outage.map((s) => s.readyz))],
      receivedDuringOutage: (outage[outage.length - 1]?.received ?? 0) - (outage[0]?.received ?? 0),
      commitsDuringOutage: beforeHeal.commitsOk - commitsAtFirstRetry,
      recoveryMs,
      firstCommitAfterHealMs,
      readyAfter: final.readyz,
      durationMs: Date.now() - started,
      // one sample per second: t ms, buffered bytes, sessions, paused, ready, retries
      series: samples
        .filter((_, i) => i % 4 === 0)
        .map((s) => [s.t, s.phase[0], s.bufferedBytes, s.bufferedSessions, s.paused, s.ready, s.retries]),
    });

    // the outage was visible
    expect(outage.some((s) => s.paused === 1)).toBe(true);
    expect(outage.some((s) => s.readyz === 503 && s.ready === 0)).toBe(true);
    expect(beforeHeal.retries).toBeGreaterThan(0);
    expect(beforeHeal.paused).toBe(1);
    // bounded memory: one buffer at its limit plus the drained one in flight, each over by at most one fetched batch
    expect(maxBuffered).toBeLessThanOrEqual(bound);
    // nothing committed while writes failed
    expect(beforeHeal.commitsOk).toBe(commitsAtFirstRetry);
    expect(Object.fromEntries(committedBeforeHeal)).toEqual(Object.fromEntries(committedAtFirstRetry));
    // recovered, exactly
    expect(final.readyz).toBe(200);
    expect(final.paused).toBe(0);
    expect(acc.lost).toBe(0);
    expect(acc.doubled).toBe(0);
    expect(actual).toEqual(oracle.expected);
    expect((await progress(kafka, group, topic)).lag).toBe(0);
  });
});
