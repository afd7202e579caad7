/**
 * The embedded engine's disk fills up. `sessionizer run` (a subprocess) keeps its data directory
 * on a small filesystem of its own (a tmpfs; else a loop-mounted ext4 image; this needs root,
 * which CI has — when neither can be mounted the test fails saying what failed). While a producer
 * keeps producing, a filler file takes every free byte, twice:
 * 1. the service keeps running: ClickHouse refuses the writes (NOT_ENOUGH_SPACE), the service
 *    pauses fetching, /readyz answers 503 and says why, no offset is committed; the filler is
 *    removed and the same process recovers by itself;
 * 2. the service is SIGKILLed while the disk is full (its buffer dies with it), the filler is
 *    removed, a new instance re-reads what was not committed.
 * At the end the `sessions` view equals the oracle over the topic: lost 0, doubled 0.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaBrokers } from '../support/context.js';
import { account, outcomeFields, topicOracle } from '../support/oracle.js';
import { faultReport, scaled } from '../support/scale.js';
import { logProblems, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service.js';
import { retrying, sleep } from '../support/wait.js';
import { sessionsInDir } from '../support/sessions.js';
import { metricSum, scrape } from '../support/prometheus.js';
import { backgroundProducer, generated } from '../support/faults-producer.js';
import { committedOffsets, createTopic, testKafka, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';
import { fill, mountSmallFs } from '../support/small-fs.js';

const run = promisify(execFile);
const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_201);
const EVENTS = scaled(20_000, 60_000);
const RATE = scaled(700, 1_500);
const FULL_MS = scaled(8_000, 20_000);
const FS_MIB = 96;

interface Sample {
  readonly t: number;
  readonly phase: string;
  readonly readyz: number;
  readonly reasons: string[];
  readonly paused: number;
  readonly retries: number;
  readonly commitsOk: number;
  readonly bufferedBytes: number;
}

describe('the embedded engine runs out of disk', () => {
  const kafka = testKafka();
  const base = mkdtempSync(join(tmpdir(), 'sessionizer-diskfull-'));
  const mnt = join(base, 'mnt');
  let unmount: (() => Promise<void>) | undefined;
  let svc: ServiceProcess | undefined;
  afterAll(async () => {
    if (svc !== undefined) await stopGracefully(svc, 10_000);
    await unmount?.().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  });

  it('stops fetching, says why, commits nothing unwritten, recovers when space returns: lost 0, doubled 0', async () => {
    const started = Date.now();
    rmSync(mnt, { recursive: true, force: true });
    await run('mkdir', ['-p', mnt]);
    const fs = await mountSmallFs(mnt, FS_MIB);
    unmount = fs.unmount;
    const dataDir = join(mnt, 'data');
    const filler = join(mnt, 'filler');
    const topic = uniqueName('diskfull');
    const group = uniqueName('diskfull_group');
    await retrying('create topic', () => createTopic(kafka, topic, 3));
    const env = {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      SESSIONIZER_DATA_DIR: dataDir,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: '200',
      FLUSH_MAX_BYTES: String(256 * 1024),
      CLICKHOUSE_RETRY_MAX_DELAY_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info', // startServiceProcess finds the endpoint and the assignment in info lines
    };
    const producer = backgroundProducer(
      kafka,
      topic,
      generated({ seed: SEED, events: EVENTS, activeSessions: 1_500, rates: { outOfOrder: 0.05, duplicates: 0.03, invalid: 0.01 } }),
      { rate: RATE },
    );
    const samples: Sample[] = [];
    const t0 = Date.now();
    const sample = async (s: ServiceProcess, phase: string): Promise<Sample> => {
      const url = await s.url;
      const text = await scrape(url);
      const res = await fetch(`${url}/readyz`);
      const body = (await res.json()) as { notReadyBecause?: string[] };
      const x: Sample = {
        t: Date.now() - t0,
        phase,
        readyz: res.status,
        reasons: body.notReadyBecause ?? [],
        paused: metricSum(text, 'sessionizer_fetch_paused'),
        retries: metricSum(text, 'sessionizer_clickhouse_write_retries_total'),
        commitsOk: metricSum(text, 'sessionizer_offset_commits_total', { outcome: 'ok' }),
        bufferedBytes: metricSum(text, 'sessionizer_buffered_bytes'),
      };
      samples.push(x);
      return x;
    };
    const until = async (
      s: ServiceProcess,
      phase: string,
      what: string,
      ok: (x: Sample) => boolean,
      timeoutMs = 120_000,
    ): Promise<Sample> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const x = await sample(s, phase);
        if (ok(x)) return x;
        if (Date.now() > deadline)
          throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(x)}; log ${logProblems(s.stderr()).join('\n')}`);
        await sleep(250);
      }
    };

    // --- normal operation
    svc = startServiceProcess(env);
    const first = svc;
    await until(first, 'before', 'first commits', (x) => x.commitsOk > 0);

    // --- 1: the disk fills up under a running service
    const filled1 = fill(filler);
    const refused = await until(first, 'full', 'writes refused', (x) => x.retries > 0);
    const committedAtFirstRefusal = await committedOffsets(kafka, group, topic);
    const commitsAtFirstRefusal = refused.commitsOk;
    const fullUntil = Date.now() + FULL_MS;
    const paused = await until(first, 'full', 'fetching paused', (x) => x.paused === 1);
    while (Date.now() < fullUntil) {
      await sample(first, 'full');
      await sleep(250);
    }
    const lastFull = await sample(first, 'full');
    const committedBeforeSpace = await committedOffsets(kafka, group, topic);
    rmSync(filler);
    const spaceBack = Date.now();
    const recovered = await until(first, 'recovered', 'commits again', (x) => x.commitsOk > lastFull.commitsOk && x.readyz === 200);
    const recoveryMs = Date.now() - spaceBack;
    // from the first refused write on (a flush may still succeed between the fill and the refusal)
    const phase1 = samples.filter((x) => x.phase === 'full' && x.t >= refused.t);

    // --- 2: killed while the disk is full; a new instance after space returns
    const filled2 = fill(filler);
    await until(first, 'full-2', 'writes refused again', (x) => x.retries > recovered.retries);
    const committedAtKill = await committedOffsets(kafka, group, topic);
    first.child.kill('SIGKILL');
    await first.exited;
    rmSync(filler);
    svc = startServiceProcess(env);
    const second = svc;
    await second.assigned;
    const produced = await producer.done;
    await untilCommitted(kafka, group, topic, 240_000);
    const final = await sample(second, 'end');
    const stop = await stopGracefully(second, 30_000);
    svc = undefined;

    const oracle = await topicOracle(kafka, topic);
    const actual = await sessionsInDir(dataDir);
    const acc = account(actual, oracle.expected);
    faultReport('disk-full', {
      seed: SEED,
      filesystem: fs.kind,
      filledBytes: [filled1, filled2],
      eventsIn: oracle.messages,
      producerAcknowledged: produced.sent,
      ...outcomeFields(oracle, actual, acc),
      fullMs: FULL_MS,
      readyzWhileFull: [...new Set(phase1.map((x) => x.readyz))],
      reasonWhileFull: lastFull.reasons,
      pausedAfterMs: paused.t - refused.t,
      commitsWhileFull: lastFull.commitsOk - commitsAtFirstRefusal,
      recoveryMs,
      committedAtKill: Object.fromEntries(committedAtKill),
      secondInstanceExit: stop.code,
      durationMs: Date.now() - started,
      series: samples.filter((_, i) => i % 4 === 0).map((x) => [x.t, x.phase, x.readyz, x.paused, x.retries, x.commitsOk, x.bufferedBytes]),
    });

    // while full: not ready, and /readyz says why; fetching paused; nothing committed
    expect(phase1.every((x) => x.readyz === 503)).toBe(true);
    expect(lastFull.reasons.join(' ')).toMatch(/writes failing, retrying: .*NOT_ENOUGH_SPACE/);
    expect(lastFull.reasons).toContain('fetching paused: the buffer is full until a flush succeeds');
    expect(lastFull.paused).toBe(1);
    expect(lastFull.commitsOk).toBe(commitsAtFirstRefusal);
    expect(Object.fromEntries(committedBeforeSpace)).toEqual(Object.fromEntries(committedAtFirstRefusal));
    // the same process recovered by itself
    expect(recovered.readyz).toBe(200);
    expect(final.readyz).toBe(200);
    expect(stop.code).toBe(0);
    // exact: nothing lost, nothing doubled, across both fills and the kill
    expect(acc.lost).toBe(0);
    expect(acc.doubled).toBe(0);
    expect(actual).toEqual(oracle.expected);
  });
});
