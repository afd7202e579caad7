/**
 * Broker restart: a dedicated native broker (fixed ports, own data dir) is stopped mid-stream
 * for several seconds and started again on the same data dir, while a producer keeps trying to
 * produce. The service subprocess must reconnect by itself (no restart of the process), finish
 * the stream and give exactly the oracle's sessions. Reports the recovery time: from the broker
 * being back to lag 0 over everything produced until then.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { dedicatedBroker, type DedicatedBroker } from '../support/faults-broker.js';
import { account, outcomeFields, topicOracle } from '../support/oracle.js';
import { faultReport, scaled } from '../support/scale.js';
import { logProblems, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service.js';
import { retrying, sleep } from '../support/wait.js';
import { sessionsInDir } from '../support/sessions.js';
import { metricSum } from '../support/prometheus.js';
import { backgroundProducer, generated } from '../support/faults-producer.js';
import { committedOffsets, createTopic, endOffsets, progress, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_127);
const EVENTS = scaled(20_000, 120_000);
const RATE = scaled(700, 1_500);
const OUTAGE_MS = scaled(8_000, 30_000);
const RESTARTS = scaled(1, 2);

let broker: DedicatedBroker | undefined;
let service: ServiceProcess | undefined;
const dirs: string[] = [];
afterAll(async () => {
  if (service !== undefined && service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  await broker?.destroy();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('broker restart', () => {
  it('the service reconnects by itself and the result is exact', async () => {
    const started = Date.now();
    broker = await dedicatedBroker();
    const firstStartMs = await broker.start();
    const kafka = new kafkajs.Kafka({
      clientId: 'faults-broker-restart',
      brokers: [broker.brokers],
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 5 },
    });
    const topic = uniqueName('restart');
    const dlq = `${topic}_dlq`;
    const group = uniqueName('restart_group');
    await retrying('create topics', async () => {
      await createTopic(kafka, topic, 3);
      await createTopic(kafka, dlq, 1);
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-faults-restart-'));
    dirs.push(dataDir);

    const messages = generated({
      seed: SEED,
      events: EVENTS,
      activeSessions: 300,
      rates: { outOfOrder: 0.05, duplicates: 0.03, invalid: 0.01, noSessionId: 0.01 },
    });
    const producer = backgroundProducer(kafka, topic, messages, { rate: RATE });
    service = startServiceProcess({
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: dlq,
      SESSIONIZER_DATA_DIR: dataDir,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: '200',
      FLUSH_MAX_SESSIONS: '2000',
      // /readyz must show the outage within its 8 s (default 15 s of silence)
      READY_KAFKA_SILENCE_MS: '3000',
      LOG_LEVEL: 'info',
    });
    const svc = service;
    const exitedEarly = svc.exited.then((e) => {
      throw new Error(`the service exited by itself (${JSON.stringify(e)}): ${logProblems(svc.stderr()).join('\n')}`);
    });
    await Promise.race([svc.assigned, exitedEarly]);
    const url = await svc.url;

    const outages: {
      stoppedAfterMs: number;
      stopMs: number;
      downMs: number;
      startMs: number;
      caughtUpMs: number;
      committedAtStop: number;
      producedAtStop: number;
      readyzDuringOutage: number[];
      notReadyAfterMs: number | null;
      readyAgainAfterMs: number | null;
      maxLagDuringOutage: number;
    }[] = [];
    for (let r = 0; r < RESTARTS; r += 1) {
      // mid-stream: some commits done, the producer still going
      await Promise.race([sleep(scaled(5_000, 15_000)), exitedEarly]);
      const before = await progress(kafka, group, topic);
      const producedAtStop = producer.sent();
      const stopAt = Date.now();
      const stopMs = await broker.stop();
      // the broker is down: the service stays up (its HTTP endpoint answers) and waits
      const readyzDuringOutage = new Set<number>();
      let notReadyAfterMs: number | null = null;
      let maxLag = 0;
      while (Date.now() - stopAt < OUTAGE_MS) {
        const text = await Promise.race([(await fetch(`${url}/metrics`)).text(), exitedEarly]);
        const status = (await fetch(`${url}/readyz`)).status;
        readyzDuringOutage.add(status);
        if (status === 503) notReadyAfterMs ??= Date.now() - stopAt;
        maxLag = Math.max(maxLag, metricSum(text, 'sessionizer_consumer_lag_messages'));
        await sleep(500);
      }
      const downMs = Date.now() - stopAt;
      const startMs = await broker.start();
      const backAt = Date.now();
      // recovery: everything produced up to now committed (lag 0 over it)
      const target = await retrying('end offsets after the restart', () => endOffsets(kafka, topic), 120_000);
      await Promise.race([
        (async () => {
          for (;;) {
            try {
              const c = await committedOffsets(kafka, group, topic);
              if ([...target].every(([p, end]) => Number(c.get(p) ?? -1) >= Number(end))) return;
            } catch {
              // coordinator still loading
            }
            if (Date.now() - backAt > 240_000)
              throw new Error(`no recovery within 240 s after the broker restart: ${logProblems(svc.stderr()).join('\n')}`);
            await sleep(200);
          }
        })(),
        exitedEarly,
      ]);
      const caughtUpMs = Date.now() - backAt;
      // ready again once the member fetches and heartbeats (it is, by now: it committed)
      let readyAgainAfterMs: number | null = null;
      for (const until = Date.now() + 30_000; readyAgainAfterMs === null && Date.now() < until;) {
        if ((await fetch(`${url}/readyz`)).status === 200) readyAgainAfterMs = Date.now() - backAt;
        else await sleep(200);
      }
      outages.push({
        stoppedAfterMs: stopAt - started,
        stopMs,
        downMs,
        startMs,
        caughtUpMs,
        committedAtStop: before.committed,
        producedAtStop,
        readyzDuringOutage: [...readyzDuringOutage].sort(),
        notReadyAfterMs,
        readyAgainAfterMs,
        maxLagDuringOutage: maxLag,
      });
      console.log(`broker restart ${r + 1}: ${JSON.stringify(outages[outages.length - 1])}`);
    }

    let producedAt = 0;
    const finish = async (): Promise<{ sent: number; failures: number; ms: number }> => {
      const done = await Promise.race([
        producer.done,
        sleep((EVENTS / RATE) * 1_000 + 120_000).then(() => {
          throw new Error(
            `the producer did not finish (${producer.sent()} of ${EVENTS} acknowledged, ${producer.failures()} failed sends)`,
          );
        }),
      ]);
      producedAt = Date.now();
      await untilCommitted(kafka, group, topic, scaled(120_000, 300_000));
      return done;
    };
    let produced: { sent: number; failures: number; ms: number };
    try {
      produced = await Promise.race([finish(), exitedEarly]);
    } catch (err) {
      producer.stop();
      const logFile = join(tmpdir(), `faults-broker-restart-${group}.log`);
      writeFileSync(logFile, svc.stderr());
      const text = await fetch(`${url}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      const readyz = await fetch(`${url}/readyz`)
        .then(async (r) => `${r.status} ${await r.text()}`)
        .catch((e: unknown) => `unreachable (${String(e)})`);
      faultReport('broker-restart', {
        seed: SEED,
        stalled: true,
        outages,
        producerAcknowledged: producer.sent(),
        producerFailedSends: producer.failures(),
        progress: await progress(kafka, group, topic),
        serviceAlive: svc.child.exitCode === null && svc.child.signalCode === null,
        received: metricSum(text, 'sessionizer_received_events_total'),
        readyz,
        serviceLog: logFile,
        lastLogLines: svc
          .stderr()
          .trim()
          .split('\n')
          .slice(-12)
          .map((l) => l.slice(0, 400)),
      });
      throw new Error(
        `after the broker restart the service did not finish the stream: ${err instanceof Error ? err.message : String(err)}; /readyz ${readyz}; service log in ${logFile}`,
      );
    }
    const drainMs = Date.now() - producedAt;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const httpBeforeSigterm = await fetch(`${url}/healthz`)
      .then((r) => r.status)
      .catch(() => 'unreachable');
    // SIGTERM; a process still alive 45 s later (shutdown timeout 30 s) is SIGKILLed and reported
    const stop = await stopGracefully(svc, 45_000);
    const logFile = join(tmpdir(), `faults-broker-restart-${group}.log`);
    writeFileSync(logFile, svc.stderr());
    const lifecycle = svc
      .stderr()
      .split('\n')
      .filter((l) => /"msg":"(stopping|stopped|consumer loop failed|could not start|sessionizer running)/.test(l))
      .map((l) => l.slice(0, 300));

    const oracle = await topicOracle(kafka, topic);
    const actual = await sessionsInDir(dataDir);
    const acc = account(actual, oracle.expected);
    const log = svc.stderr();
    faultReport('broker-restart', {
      seed: SEED,
      restarts: outages.length,
      outages,
      firstBrokerStartMs: firstStartMs,
      eventsIn: oracle.messages,
      producerAcknowledged: produced.sent,
      producerFailedSends: produced.failures,
      ...outcomeFields(oracle, actual, acc),
      recoveryMs: Math.max(...outages.map((o) => o.caughtUpMs)),
      drainAfterProducerMs: drainMs,
      received: metricSum(metrics, 'sessionizer_received_events_total'),
      commitFailures: metricSum(metrics, 'sessionizer_offset_commits_total', { outcome: 'failed' }),
      consumerRestartsLogged: (log.match(/Restarting the consumer/g) ?? []).length,
      sigtermExit: stop,
      stoppedCleanlyLogged: log.includes('stopped cleanly'),
      serviceLog: logFile,
      durationMs: Date.now() - started,
    });
    expect(acc.lost).toBe(0);
    expect(acc.doubled).toBe(0);
    expect(actual).toEqual(oracle.expected);
    // readiness showed each outage (no fetch, heartbeat or commit for 3 s) and its end
    for (const o of outages) {
      expect(o.readyzDuringOutage).toContain(503);
      expect(o.readyAgainAfterMs).not.toBeNull();
    }
    // SIGTERM after the restart: a clean stop, and the process exits 0
    expect(stop, `/healthz before SIGTERM: ${httpBeforeSigterm}; lifecycle: ${lifecycle.join(' | ')}; full log: ${logFile}`).toMatchObject({
      code: 0,
      hung: false,
    });
  });
});
