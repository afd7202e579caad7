/**
 * The soak: steady generated load for a while, with faults at random points — the service
 * SIGKILLed and restarted, the broker restarted, ClickHouse writes failing (the embedded engine's
 * disk filled up for real, on a tmpfs of its own), a rebalance (a second group member joins for
 * a while: a bare kafkajs consumer that takes partitions and commits nothing, then leaves) — and
 * at the end the `sessions` view compared with the oracle over the whole topic (lost, doubled),
 * and the time series of the service's RSS, JS heap, buffered bytes and lag with their trends.
 *
 * `npm run soak -- --minutes N` (test/soak/run.ts); a short variant runs in the fault suite
 * (test/faults/soak.test.ts). Needs root for the tmpfs (CI has it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs, { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { generate, Rng } from '@sessionizer/generator';
import { dedicatedBroker } from '../support/faults-broker.js';
import { account, topicOracle } from '../support/oracle.js';
import { progress, untilCommitted } from '../support/kafka.js';
import { sessionsInDir } from '../support/sessions.js';
import { sleep } from '../support/wait.js';
import { startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service.js';
import { metricSum, scrape } from '../support/prometheus.js';
import { fill, mountSmallFs } from '../support/small-fs.js';

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

export type FaultKind = 'kill' | 'broker-restart' | 'disk-full' | 'rebalance';

export interface SoakOptions {
  readonly minutes: number;
  readonly seed: number;
  /** Messages per second. */
  readonly rate: number;
  /** Seconds between samples. */
  readonly sampleSeconds?: number;
  readonly log?: (line: string) => void;
}

export interface Sample {
  readonly t: number;
  readonly instance: number;
  readonly fault: FaultKind | null;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly bufferedBytes: number;
  /** Messages not yet committed by the group (high watermarks − committed offsets). */
  readonly lag: number;
}

export interface Trend {
  readonly series: string;
  readonly samples: number;
  readonly mean: number;
  /** Least-squares slope, per hour. */
  readonly slopePerHour: number;
  /** slope × span of the samples, relative to the mean (0.05 = grew 5 % over the span). */
  readonly relativeGrowth: number;
  readonly verdict: 'flat' | 'growing' | 'shrinking';
}

export interface SoakReport {
  readonly minutes: number;
  readonly seed: number;
  readonly rate: number;
  readonly produced: number;
  readonly produceFailures: number;
  readonly faults: { kind: FaultKind; atS: number; tookS: number; detail?: string }[];
  readonly instances: number;
  readonly expectedSessions: number;
  readonly actualSessions: number;
  readonly lost: number;
  readonly doubled: number;
  readonly exact: boolean;
  readonly finalExit: number | null;
  readonly trends: Trend[];
  readonly samples: Sample[];
  readonly durationS: number;
}

/** Least squares over (t, value); the verdict allows ±10 % of the mean over the span. */
export function trendOf(series: string, points: readonly (readonly [number, number])[]): Trend {
  const n = points.length;
  const mean = n === 0 ? 0 : points.reduce((a, [, y]) => a + y, 0) / n;
  const mt = n === 0 ? 0 : points.reduce((a, [t]) => a + t, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [t, y] of points) {
    sxy += (t - mt) * (y - mean);
    sxx += (t - mt) ** 2;
  }
  const slopePerMs = sxx === 0 ? 0 : sxy / sxx;
  const span = n < 2 ? 0 : (points[n - 1]?.[0] ?? 0) - (points[0]?.[0] ?? 0);
  const relativeGrowth = mean === 0 ? 0 : (slopePerMs * span) / Math.abs(mean);
  return {
    series,
    samples: n,
    mean: Math.round(mean * 100) / 100,
    slopePerHour: Math.round(slopePerMs * 3_600_000 * 100) / 100,
    relativeGrowth: Math.round(relativeGrowth * 1000) / 1000,
    verdict: relativeGrowth > 0.1 ? 'growing' : relativeGrowth < -0.1 ? 'shrinking' : 'flat',
  };
}

export async function soak(o: SoakOptions): Promise<SoakReport> {
  const log =
    o.log ??
    ((l: string) => {
      console.log(l);
    });
  const started = Date.now();
  const rnd = new Rng(o.seed);
  const base = mkdtempSync(join(tmpdir(), 'sessionizer-soak-'));
  const mnt = join(base, 'mnt');
  await mkdir(mnt, { recursive: true });
  const fsSize = o.minutes > 10 ? 1024 : 384;
  const fs = await mountSmallFs(mnt, fsSize);
  const dataDir = join(mnt, 'data');
  const filler = join(mnt, 'filler');
  const broker = await dedicatedBroker();
  let svc: ServiceProcess | undefined;
  let producer: Producer | undefined;
  let intruder: Consumer | undefined;
  try {
    log(`soak: ${o.minutes} min at ${o.rate} msg/s, seed ${o.seed}; data on ${fs.kind}; starting a broker`);
    await broker.start();
    const kafka: Kafka = new KafkaClient({ clientId: 'soak', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const topic = `soak_${Date.now().toString(36)}`;
    const group = `${topic}_group`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const env = {
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: `${topic}_dlq`,
      SESSIONIZER_DATA_DIR: dataDir,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: '1000',
      CLICKHOUSE_RETRY_MAX_DELAY_MS: '2000',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_REBALANCE_TIMEOUT_MS: '20000',
      READY_KAFKA_SILENCE_MS: '5000',
      LOG_LEVEL: 'info', // startServiceProcess finds the endpoint and the assignment in info lines
    };
    let instance = 1;
    svc = startServiceProcess(env);
    await svc.assigned;

    // --- steady load, lazily generated (an hour of traffic does not fit in memory as strings)
    const durationMs = o.minutes * 60_000;
    const deadline = Date.now() + durationMs;
    const messages = generate({
      seed: o.seed,
      format: 'posthog-events',
      events: Math.ceil((o.rate * durationMs) / 1000) + 1_000,
      activeSessions: 2_000,
      startMs: Date.now() - 10 * 60_000,
      rates: { outOfOrder: 0.05, duplicates: 0.02, invalid: 0.005, noSessionId: 0.01 },
    });
    let produced = 0;
    let produceFailures = 0;
    const loadDone = (async () => {
      const tick = 100;
      const perTick = Math.max(1, Math.round((o.rate * tick) / 1000));
      let next = Date.now();
      while (Date.now() < deadline) {
        const batch: { key: string; value: string }[] = [];
        for (let i = 0; i < perTick; i += 1) {
          const m = messages.next();
          if (m.done === true) break;
          batch.push({ key: m.value.key, value: m.value.value });
        }
        if (batch.length === 0) break;
        for (;;) {
          try {
            if (producer === undefined) {
              producer = kafka.producer({
                createPartitioner: Partitioners.DefaultPartitioner,
                retry: { retries: 3, initialRetryTime: 200 },
              });
              await producer.connect();
            }
            await producer.send({ topic, acks: -1, messages: batch });
            produced += batch.length;
            break;
          } catch {
            // the broker is restarting: the same batch again (a duplicate on the topic at worst,
            // which the oracle counts from what the topic really holds)
            produceFailures += 1;
            await producer?.disconnect().catch(() => undefined);
            producer = undefined;
            await sleep(500);
          }
        }
        next += tick;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();

    // --- samples
    const samples: Sample[] = [];
    let fault: FaultKind | null = null;
    const sampleEvery = (o.sampleSeconds ?? (o.minutes > 10 ? 5 : 1)) * 1000;
    const state = { sampling: true };
    const current = (): ServiceProcess | undefined => svc;
    const sampler = (async () => {
      while (state.sampling) {
        const now = current();
        try {
          if (now !== undefined) {
            const text = await scrape(await now.url);
            const p = await progress(kafka, group, topic).catch(() => undefined);
            samples.push({
              t: Date.now() - started,
              instance,
              fault,
              rssMiB: Math.round(metricSum(text, 'sessionizer_process_resident_memory_bytes') / 1048576),
              heapMiB: Math.round(metricSum(text, 'sessionizer_nodejs_heap_size_used_bytes') / 1048576),
              bufferedBytes: metricSum(text, 'sessionizer_buffered_bytes'),
              lag: p?.lag ?? -1,
            });
          }
        } catch {
          // the service is being restarted, or the broker: no sample this time
        }
        await sleep(sampleEvery);
      }
    })();

    // --- faults at random points: every kind once per round, in a random order
    const faults: SoakReport['faults'] = [];
    const kinds: FaultKind[] = ['kill', 'broker-restart', 'disk-full', 'rebalance'];
    const rounds = Math.max(1, Math.floor(o.minutes / 8));
    const plan: FaultKind[] = [];
    for (let r = 0; r < rounds; r += 1) {
      const order = [...kinds];
      for (let i = order.length - 1; i > 0; i -= 1) {
        const j = rnd.int(0, i);
        [order[i], order[j]] = [order[j] as FaultKind, order[i] as FaultKind];
      }
      plan.push(...order);
    }
    const slot = durationMs / (plan.length + 1);
    for (const [i, kind] of plan.entries()) {
      // a random point within this fault's slot, leaving room for the fault itself
      const at = started + slot * (i + 0.5) + rnd.next() * slot * 0.4;
      // every planned fault happens, even when earlier ones overran their slot (the load stops
      // at the deadline all the same)
      await sleep(Math.max(0, at - Date.now()));
      fault = kind;
      const t = Date.now();
      let detail: string | undefined;
      log(`soak: ${Math.round((t - started) / 1000)} s: ${kind}`);
      if (kind === 'kill') {
        svc.child.kill('SIGKILL');
        await svc.exited;
        await sleep(rnd.int(0, 3_000));
        instance += 1;
        svc = startServiceProcess(env);
        await svc.assigned;
      } else if (kind === 'broker-restart') {
        await broker.stop();
        const down = rnd.int(3_000, 10_000);
        await sleep(down);
        await broker.start();
        detail = `down ${down} ms`;
      } else if (kind === 'disk-full') {
        const bytes = fill(filler);
        const hold = rnd.int(5_000, 15_000);
        await sleep(hold);
        rmSync(filler, { force: true });
        detail = `${Math.round(bytes / 1048576)} MiB filler for ${hold} ms`;
      } else {
        intruder = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
        await intruder.connect();
        await intruder.subscribe({ topics: [topic] });
        await intruder.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: () => Promise.resolve() });
        const stay = rnd.int(10_000, 20_000);
        await sleep(stay);
        await intruder.disconnect();
        intruder = undefined;
        detail = `a second member for ${stay} ms`;
      }
      faults.push({
        kind,
        atS: Math.round((t - started) / 1000),
        tookS: Math.round((Date.now() - t) / 1000),
        ...(detail === undefined ? {} : { detail }),
      });
      fault = null;
    }

    await loadDone;
    await producer?.disconnect().catch(() => undefined);
    producer = undefined;
    log(`soak: load done (${produced} messages, ${produceFailures} retried sends); waiting for the group to commit everything`);
    await untilCommitted(kafka, group, topic, 600_000);
    state.sampling = false;
    await sampler;
    const stop = await stopGracefully(svc, 60_000);
    svc = undefined;
    log('soak: reading the topic back for the oracle');
    const oracle = await topicOracle(kafka, topic);
    const actual = await sessionsInDir(dataDir);
    const acc = account(actual, oracle.expected);
    // trends over the longest-lived instance, after its first minute, outside fault windows
    const byInstance = new Map<number, Sample[]>();
    for (const s of samples) byInstance.set(s.instance, [...(byInstance.get(s.instance) ?? []), s]);
    const longest = [...byInstance.values()].sort((a, b) => b.length - a.length)[0] ?? [];
    const firstT = longest[0]?.t ?? 0;
    const steady = longest.filter((s) => s.fault === null && s.t - firstT >= 60_000);
    const use = steady.length >= 5 ? steady : longest.filter((s) => s.fault === null);
    const trends = (['rssMiB', 'heapMiB', 'bufferedBytes', 'lag'] as const).map((k) =>
      trendOf(
        `${k} (instance ${use[0]?.instance ?? '?'})`,
        use.map((s) => [s.t, s[k]] as const),
      ),
    );
    return {
      minutes: o.minutes,
      seed: o.seed,
      rate: o.rate,
      produced,
      produceFailures,
      faults,
      instances: instance,
      expectedSessions: oracle.expected.length,
      actualSessions: actual.length,
      lost: acc.lost,
      doubled: acc.doubled,
      exact: JSON.stringify(actual) === JSON.stringify(oracle.expected),
      finalExit: stop.code,
      trends,
      samples,
      durationS: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    if (svc !== undefined) await stopGracefully(svc, 10_000).catch(() => undefined);
    await intruder?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await broker.destroy().catch(() => undefined);
    rmSync(filler, { force: true });
    await fs.unmount().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
}
