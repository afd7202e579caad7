/**
 * Server-side sessions (SERVER_SESSIONS=all) through crashes and a rebalance, while producing: a
 * topic where about half of the events have no $session_id (backend traffic: many distinct_ids
 * per team, gaps below and above the idle time, neighbours swapped within the grace, a few events
 * hours late), keyed `token:distinct_id` like PostHog's capture, next to generated client traffic.
 *
 *   1. `sessionizer run` as a subprocess, SIGKILLed mid-flush (flushes back to back: every 10 ms
 *      or 5 sessions) once it has consumed a seeded number of events;
 *   2. a second subprocess, SIGKILLed right after a ClickHouse write (between the write of the
 *      partials and the server-session state and their offset commit, or just past it);
 *   3. the rebalance, in-process on the same data directory (the embedded engine allows one
 *      process per directory, so two members writing one engine must share a process): a
 *      consumes, b joins (a flushes early, b loads the state of the partitions it gets from
 *      `server_session_state`), b leaves gracefully (a gets them back and loads what b wrote),
 *      then a dies with its buffer unwritten and its offsets uncommitted (failing writes and an
 *      immediate abort, as rebalance.test.ts);
 *   4. a third subprocess, SIGKILLed right after a write;
 *   5. the last subprocess finishes what the producer wrote and is stopped with SIGTERM.
 *
 * Then the `sessions` view must equal the oracle — the rule applied to each partition's events
 * in offset order, over what the topic really holds — row by row and column by column: every
 * session once (lost 0, doubled 0), the server session ids identical.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouseHandle } from '@sessionizer/clickhouse';
import { loadConfig } from '../../services/sessionizer/src/config.js';
import { createLogger } from '../../services/sessionizer/src/log.js';
import { startService, type Service } from '../../services/sessionizer/src/service/start.js';
import { kafkaBrokers } from '../support/context.js';
import { faults, faultyClient, type FaultyClient } from '../support/faults.js';
import { account } from '../support/oracle.js';
import { FULL, faultReport, scaled } from '../support/scale.js';
import { logProblems, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service.js';
import { Rng } from '@sessionizer/generator';
import { sessionsInDir } from '../support/sessions.js';
import { backgroundProducer, generated, type BackgroundProducer, type Outgoing } from '../support/faults-producer.js';
import { committedOffsets, createTopic, testKafka, progress, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';
import { metricSum } from '../support/prometheus.js';
import { serverSessionOracle } from '../support/server-sessions-topic.js';
import { serverTraffic } from '../support/server-sessions.js';
import { serialize } from '../support/stream.js';
import { waitFor, retrying } from '../support/wait.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_201);
const PARTITIONS = 4;
/** Backend distinct_ids (over teams 1 and 2) and events per distinct_id, without $session_id. */
const SERVER_KEYS = scaled(120, 400);
const PER_KEY = scaled(40, 60);
/** Generated client traffic (5 % of it without $session_id too, on the generator's keys). */
const CLIENT_EVENTS = scaled(5_000, 30_000);
const RATE = scaled(400, 1_000);
// the broker's minimum (group.min.session.timeout.ms): a SIGKILLed member is dropped after it
const SESSION_TIMEOUT_MS = 6_000;

const kafka = testKafka();
const dirs: string[] = [];
const children: ServiceProcess[] = [];
const inProcess: Service[] = [];
const handles: ClickHouseHandle[] = [];
const producers: BackgroundProducer[] = [];
afterAll(async () => {
  for (const p of producers) p.stop();
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const s of inProcess) {
    if (s.consumer.state !== 'stopped') await s.consumer.stop(0);
    await s.close();
  }
  for (const h of handles) await h.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The backend traffic as messages, and the generated client traffic, interleaved (each list keeps its order). */
function messages(): Outgoing[] {
  const server: Outgoing[] = serverTraffic(SEED, SERVER_KEYS, PER_KEY).map((e, i) => {
    const page = i % 3 === 0;
    return {
      key: `phc_test_team_${e.teamId}:${e.distinctId}`,
      value: serialize({ ...e, event: page ? '$pageview' : i % 3 === 1 ? '$autocapture' : e.event }, 'posthog-events', {
        $lib: 'posthog-node',
        $current_url: page ? `https://shop.example.com/p/${e.uuid.slice(-2)}` : null,
        utm_source: e.uuid.endsWith('7') ? 'crm' : null,
      }),
    };
  });
  const client = generated({
    seed: SEED,
    events: CLIENT_EVENTS,
    activeSessions: 300,
    rates: { outOfOrder: 0.05, duplicates: 0.03, invalid: 0.01, noSessionId: 0.05 },
  });
  const rng = new Rng(SEED);
  const out: Outgoing[] = [];
  let s = 0;
  let c = 0;
  while (s < server.length || c < client.length) {
    const takeServer = c >= client.length || (s < server.length && rng.int(0, server.length + client.length) < server.length);
    out.push(takeServer ? (server[s++] as Outgoing) : (client[c++] as Outgoing));
  }
  return out;
}

interface Phase {
  readonly phase: string;
  readonly how: string;
  /** From its start to partitions assigned. */
  joinMs: number | null;
  /** Messages the producer had acknowledged when the fault hit. */
  producedAtFault: number;
  receivedAtFault: number;
  committedBefore: number;
  committedAfter: number;
  more?: Record<string, unknown>;
}

describe('server-side sessions through crashes and a rebalance', () => {
  it('lost 0, doubled 0, identical ids: exactly the oracle', async () => {
    const started = Date.now();
    const rng = new Rng(SEED + 1);
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-faults-server-sessions-'));
    dirs.push(dataDir);
    const topic = uniqueName('serversessions_faults');
    const group = uniqueName('serversessions_faults_group');
    const brokers = kafkaBrokers().join(',');
    await retrying('create topic', () => createTopic(kafka, topic, PARTITIONS));

    // produced in segments, each started when a phase begins, so every fault meets live traffic
    // whatever the machine's speed (a segment still producing when the next starts interleaves
    // with it: the oracle reads the order the topic really has)
    const all = messages();
    const cuts = [0, 0.2, 0.35, 0.47, 0.62, 0.72, 0.87, 1].map((f) => Math.round(f * all.length));
    const produceSegment = (k: number): void => {
      producers.push(backgroundProducer(kafka, topic, all.slice(cuts[k], cuts[k + 1]), { rate: RATE }));
    };
    const producedSoFar = (): number => producers.reduce((n, p) => n + p.sent(), 0);
    produceSegment(0);
    const committed = async (): Promise<number> => (await progress(kafka, group, topic)).committed;
    const phases: Phase[] = [];

    // ---- the subprocess instances -------------------------------------------------------------
    const env = (flushIntervalMs: number, flushMaxSessions: number): Record<string, string> => ({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      SESSIONIZER_DATA_DIR: dataDir,
      SERVER_SESSIONS: 'all',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: String(flushIntervalMs),
      FLUSH_MAX_SESSIONS: String(flushMaxSessions),
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_REBALANCE_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'info',
    });
    const metricsOf = async (svc: ServiceProcess): Promise<string> => (await fetch(`${await svc.url}/metrics`)).text();
    /** The metrics text once `holds` says so (polled every `everyMs`), or the instance's early exit. */
    const metricsWhen = (
      svc: ServiceProcess,
      what: string,
      holds: (text: string) => boolean,
      everyMs: number,
      exitedEarly: Promise<never>,
    ): Promise<string> =>
      Promise.race([
        waitFor(
          what,
          async () => {
            const text = await metricsOf(svc);
            return holds(text) ? text : undefined;
          },
          120_000,
          everyMs,
        ),
        exitedEarly,
      ]);

    /** Start a subprocess, wait until it consumes, then SIGKILL it at the mode's point. */
    const crash = async (
      name: string,
      mode: 'mid-flush' | 'after-write',
      flushIntervalMs: number,
      flushMaxSessions: number,
      segment: number | undefined,
    ): Promise<void> => {
      const phase: Phase = {
        phase: name,
        how: `SIGKILL ${mode} (flush every ${flushIntervalMs} ms or ${flushMaxSessions} sessions)`,
        joinMs: null,
        producedAtFault: 0,
        receivedAtFault: 0,
        committedBefore: await committed(),
        committedAfter: 0,
      };
      const svc = startServiceProcess(env(flushIntervalMs, flushMaxSessions));
      children.push(svc);
      const spawnedAt = Date.now();
      const exitedEarly = svc.exited.then((e): never => {
        throw new Error(`${name} exited by itself (${JSON.stringify(e)}): ${logProblems(svc.stderr()).join('\n')}`);
      });
      await Promise.race([svc.assigned, exitedEarly]);
      phase.joinMs = Date.now() - spawnedAt;
      if (segment !== undefined) produceSegment(segment);
      const received = (text: string): number => metricSum(text, 'sessionizer_received_events_total');
      const written = (text: string): number => metricSum(text, 'sessionizer_written_rows_total');
      let atKill: string;
      if (mode === 'mid-flush') {
        // flushes run back to back: once it has consumed a seeded share of what it was given,
        // a flush is almost always between its take and its commit
        const want = rng.int(300, 1_500);
        atKill = await metricsWhen(svc, `${name} to consume ${want} events`, (t) => received(t) >= want, 20, exitedEarly);
      } else {
        // some rows written already, then the kill right after the next write: between the write
        // (partials and server-session state) and the offset commit, or just past it
        const base = written(await metricsWhen(svc, `${name} to write`, (t) => written(t) > 0, 20, exitedEarly));
        atKill = await metricsWhen(svc, `${name} to write again`, (t) => written(t) > base, 2, exitedEarly);
      }
      svc.child.kill('SIGKILL');
      phase.receivedAtFault = received(atKill);
      phase.producedAtFault = producedSoFar();
      const exit = await svc.exited;
      expect(exit.signal).toBe('SIGKILL');
      phase.committedAfter = await committed();
      phases.push(phase);
      console.log(`server-sessions faults: ${JSON.stringify(phase)}`);
    };

    await crash('instance 1', 'mid-flush', 10, 5, undefined);
    await crash('instance 2', 'after-write', rng.pick([10, 25, 50]), rng.pick([5, 20, 100]), 1);

    // ---- the rebalance: two members on one engine, in this process --------------------------------
    const handle = createClickHouse({ dataDir });
    handles.push(handle);
    const log = createLogger('error');
    const startInProcess = async (name: string): Promise<{ service: Service; faulty: FaultyClient }> => {
      const config = loadConfig(
        {
          brokers,
          topics: topic,
          'group-id': group,
          'client-id': name,
          'server-sessions': 'all',
          'metrics-port': '0',
          'metrics-host': '127.0.0.1',
          'flush-interval-ms': '50',
          'flush-max-sessions': '100',
          'session-timeout-ms': String(SESSION_TIMEOUT_MS),
          'heartbeat-interval-ms': '1000',
          'rebalance-timeout-ms': '10000',
          'log-level': 'error',
        },
        {},
      );
      const faulty = faultyClient(handle.client);
      const service = await startService(config, { brokers, log, clickhouse: { ...handle, client: faulty.client } });
      inProcess.push(service);
      await service.consumer.start();
      return { service, faulty };
    };
    const metric = async (s: Service, name: string): Promise<number> => metricSum(await s.metrics.registry.metrics(), name);
    const failures = (): string[] => inProcess.flatMap((s) => (s.consumer.failure === undefined ? [] : [s.consumer.failure.message]));
    const consuming = (s: Service, more = 0): Promise<boolean> => {
      const base = metric(s, 'sessionizer_received_events_total');
      return waitFor(
        'an in-process instance to consume',
        async () => {
          if (failures().length > 0) throw new Error(failures().join('; '));
          return (await metric(s, 'sessionizer_received_events_total')) > (await base) + more ? true : undefined;
        },
        120_000,
        20,
      );
    };
    const rebalance: Phase = {
      phase: 'in-process a, b',
      how: 'b joins, b leaves gracefully, a dies unwritten (failing writes, then stop(0))',
      joinMs: null,
      producedAtFault: 0,
      receivedAtFault: 0,
      committedBefore: await committed(),
      committedAfter: 0,
    };
    const aStarted = Date.now();
    const a = await startInProcess('a');
    await consuming(a.service);
    rebalance.joinMs = Date.now() - aStarted;
    produceSegment(2);
    const b = await startInProcess('b');
    produceSegment(3);
    await consuming(b.service, 200);
    const bReceived = await metric(b.service, 'sessionizer_received_events_total');
    const bText = await b.service.metrics.registry.metrics();
    const bPartitions = [...bText.matchAll(/sessionizer_consumer_lag_messages\{[^}]*partition="(\d+)"[^}]*\}/g)].map((m) => Number(m[1]));
    expect(await b.service.consumer.stop(30_000)).toBe(true);
    // its last flush wrote what it had: partials and the state a reads back
    const bWritten = await metric(b.service, 'sessionizer_written_rows_total');
    // a takes b's partitions back and commits on each of them
    const atLeave = await committedOffsets(kafka, group, topic);
    await waitFor(
      "a to commit on b's partitions",
      async () => {
        if (failures().length > 0) throw new Error(failures().join('; '));
        const now = await committedOffsets(kafka, group, topic);
        return bPartitions.every((p) => Number(now.get(p) ?? -1) > Number(atLeave.get(p) ?? -1)) ? true : undefined;
      },
      120_000,
    );
    // a dies with what it buffered: its writes fail, and once a flush has met the failure it is aborted
    a.faulty.failInsertsUntilHealed(faults.connectionReset());
    produceSegment(4);
    await waitFor(
      'a flush of a to fail',
      async () => ((await metric(a.service, 'sessionizer_clickhouse_write_retries_total')) > 0 ? true : undefined),
      60_000,
      10,
    );
    rebalance.receivedAtFault = await metric(a.service, 'sessionizer_received_events_total');
    rebalance.producedAtFault = producedSoFar();
    expect(await a.service.consumer.stop(0)).toBe(false);
    expect(failures()).toEqual([]);
    for (const s of [a.service, b.service]) await s.close();
    inProcess.length = 0;
    await handle.close();
    handles.length = 0;
    rebalance.committedAfter = await committed();
    rebalance.more = { bReceived, bWritten, bPartitionsConsumed: bPartitions };
    phases.push(rebalance);
    console.log(`server-sessions faults: ${JSON.stringify(rebalance)}`);

    await crash('instance 3', 'after-write', rng.pick([10, 25, 50]), rng.pick([5, 20, 100]), 5);

    // ---- the last instance: finish what the producer wrote, stop with SIGTERM ----------------------
    const last = startServiceProcess(env(200, 1_000));
    children.push(last);
    const lastStarted = Date.now();
    const lastExitedEarly = last.exited.then((e) => {
      throw new Error(`the last instance exited by itself (${JSON.stringify(e)}): ${logProblems(last.stderr()).join('\n')}`);
    });
    await Promise.race([last.assigned, lastExitedEarly]);
    const lastJoinMs = Date.now() - lastStarted;
    produceSegment(6);
    const produced = await Promise.all(producers.map((p) => p.done));
    await Promise.race([untilCommitted(kafka, group, topic, 300_000), lastExitedEarly]);
    const lastMetrics = await (await fetch(`${await last.url}/metrics`)).text();
    const lastExit = await stopGracefully(last, 45_000);
    expect(lastExit, logProblems(last.stderr()).join('\n')).toMatchObject({ code: 0, hung: false });

    // ---- the oracle: the rule on each partition's events in offset order, the whole topic -----------
    const {
      expected,
      serverEvents,
      clientEvents,
      rules: oracleRules,
    } = await serverSessionOracle(kafka, topic, { serverSessions: () => true });
    const actual = await sessionsInDir(dataDir);
    const acc = account(actual, expected);
    const ids = (rows: typeof actual, source: string): string[] =>
      rows.filter((s) => s.session_id_source === source).map((s) => `${s.team_id}/${s.session_id}`);
    const rules = (text: string, rule: string): number => metricSum(text, 'sessionizer_server_session_events_total', { rule });
    faultReport('server-sessions', {
      seed: SEED,
      phases,
      messages: all.length,
      producerAcknowledged: produced.reduce((n, p) => n + p.sent, 0),
      producerRetries: produced.reduce((n, p) => n + p.failures, 0),
      serverEvents,
      clientEvents,
      oracleRules,
      expectedSessions: expected.length,
      expectedServerSessions: ids(expected, 'server').length,
      sessionsOut: actual.length,
      serverSessionsOut: ids(actual, 'server').length,
      lost: acc.lost,
      doubled: acc.doubled,
      mismatchedRows: acc.mismatchedRows,
      detail: acc.detail,
      lastInstance: {
        joinMs: lastJoinMs,
        received: metricSum(lastMetrics, 'sessionizer_received_events_total'),
        rules: { new: rules(lastMetrics, 'new'), join: rules(lastMetrics, 'join'), late: rules(lastMetrics, 'late') },
      },
      durationMs: Date.now() - started,
      full: FULL,
    });
    expect(acc).toMatchObject({ lost: 0, doubled: 0, mismatchedRows: 0 });
    expect(ids(actual, 'server')).toEqual(ids(expected, 'server'));
    expect(actual).toEqual(expected);
    // the scenario is what it says: many server sessions next to client ones, every fault hit live data
    expect(serverEvents).toBeGreaterThan(all.length * 0.4);
    expect(oracleRules.new).toBeGreaterThan(SERVER_KEYS);
    expect(oracleRules.join).toBeGreaterThan(SERVER_KEYS);
    expect(oracleRules.late).toBeGreaterThan(0);
    expect(ids(expected, 'server').length).toBeGreaterThan(SERVER_KEYS * 3);
    expect(ids(expected, 'client').length).toBeGreaterThan(100);
    expect(bReceived).toBeGreaterThan(0);
    expect(bWritten).toBeGreaterThan(0);
    expect(bPartitions.length).toBeGreaterThan(0);
  });
});
