/**
 * Crashes: the service subprocess is SIGKILLed at seeded random points (during start-up, at a
 * random moment after it joined, right after a ClickHouse write and before its commit) with tiny
 * flush intervals and session limits, and restarted on the same data directory and group, while
 * the load generator keeps producing in the background. The last instance finishes the stream,
 * is stopped with SIGTERM, and the `sessions` view must equal the oracle over what the topic
 * holds: nothing lost, nothing counted twice. Every invalid message is in the dead-letter topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '@sessionizer/core';
import { Rng } from '@sessionizer/generator';
import { REPO_ROOT, cliEnv } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';
import { account, outcomeFields, topicOracle } from '../support/oracle.js';
import { faultReport, FULL, scaled } from '../support/scale.js';
import { logProblems, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service.js';
import { retrying, sleep } from '../support/wait.js';
import { sessionsInDir } from '../support/sessions.js';
import { metricSum } from '../support/prometheus.js';
import { createTopic, readTopic, testKafka, progress, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_126);
const CYCLES = scaled(5, 10);
const EVENTS = scaled(30_000, 150_000);
const RATE = scaled(220, 500);
const PARTITIONS = 4;
const SESSION_TIMEOUT_MS = 10_000;
const LOADGEN = join(REPO_ROOT, 'services/loadgen/bin/loadgen.mjs');

type KillMode = 'startup' | 'random' | 'after-write';

interface Cycle {
  readonly cycle: number;
  readonly mode: KillMode;
  readonly delayMs: number;
  readonly flushIntervalMs: number;
  readonly flushMaxSessions: number;
  committedBefore: number;
  committedAfter: number;
  aliveMs: number;
  joined: boolean;
  /** From spawn to partitions assigned: the time until a restarted instance consumes again. */
  joinMs: number | null;
  writesSeen: number;
  signal: string | null;
}

const kafka = testKafka();
const dirs: string[] = [];
const children: ServiceProcess[] = [];
const others: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const c of others) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('crash: SIGKILL and restart while producing', () => {
  it(`${CYCLES} kill/restart cycles, then exactly the oracle`, async () => {
    const started = Date.now();
    const rng = new Rng(SEED);
    const dataDir = await mkdtemp(join(tmpdir(), 'sessionizer-faults-crash-'));
    dirs.push(dataDir);
    const topic = uniqueName('crash');
    const dlq = `${topic}_dlq`;
    const group = uniqueName('crash_group');
    const brokers = kafkaBrokers().join(',');
    await retrying('create topics', async () => {
      await createTopic(kafka, topic, PARTITIONS);
      await createTopic(kafka, dlq, 1);
    });

    // the producer: the load generator CLI, paced so that it runs through the kill cycles
    const loadgen = spawn(
      process.execPath,
      [
        LOADGEN,
        '--format',
        'posthog-events',
        '--events',
        String(EVENTS),
        '--seed',
        String(SEED),
        '--topic',
        topic,
        '--brokers',
        brokers,
        '--rate',
        String(RATE),
        '--active-sessions',
        '400',
        '--out-of-order',
        '0.05',
        '--duplicates',
        '0.03',
        '--invalid',
        '0.01',
        '--no-session-id',
        '0.01',
      ],
      { cwd: REPO_ROOT, env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    others.push(loadgen);
    let loadgenErr = '';
    loadgen.stdout.resume();
    loadgen.stderr.on('data', (d: Buffer) => (loadgenErr += d.toString()));
    const loadgenDone = new Promise<number | null>((resolve) =>
      loadgen.on('close', (code) => {
        resolve(code);
      }),
    );

    const env = (flushIntervalMs: number, flushMaxSessions: number): Record<string, string> => ({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: dlq,
      SESSIONIZER_DATA_DIR: dataDir,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      FLUSH_INTERVAL_MS: String(flushIntervalMs),
      FLUSH_MAX_SESSIONS: String(flushMaxSessions),
      // shorter than the defaults (30 s, 3 s, 60 s): the group drops a killed member sooner
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_REBALANCE_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'info',
    });

    // every kill mode, balanced (start-up kills are the rarest: a member killed while joining
    // makes the next join wait for the rebalance timeout), in a seeded order
    const modes: KillMode[] = ['startup'];
    while (modes.length < CYCLES) modes.push(modes.length % 2 === 1 ? 'random' : 'after-write');
    for (let i = modes.length - 1; i > 0; i -= 1) {
      const j = rng.int(0, i);
      [modes[i], modes[j]] = [modes[j] as KillMode, modes[i] as KillMode];
    }

    const cycles: Cycle[] = [];
    for (let i = 0; i < CYCLES; i += 1) {
      const mode = modes[i] as KillMode;
      const cycle: Cycle = {
        cycle: i + 1,
        mode,
        delayMs: mode === 'startup' ? rng.int(300, 4_000) : mode === 'random' ? rng.int(0, 4_000) : rng.int(0, 1_500),
        flushIntervalMs: rng.pick([10, 25, 50, 100, 250]),
        flushMaxSessions: rng.pick([1, 5, 20, 100, 500]),
        committedBefore: (await progress(kafka, group, topic)).committed,
        committedAfter: 0,
        aliveMs: 0,
        joined: false,
        joinMs: null,
        writesSeen: 0,
        signal: null,
      };
      const svc = startServiceProcess(env(cycle.flushIntervalMs, cycle.flushMaxSessions));
      children.push(svc);
      const spawnedAt = Date.now();
      void svc.assigned.then(() => {
        cycle.joined = true;
        cycle.joinMs = Date.now() - spawnedAt;
      });
      const exitedEarly = svc.exited.then((e) => {
        throw new Error(`instance ${i + 1} exited by itself (${JSON.stringify(e)}): ${logProblems(svc.stderr()).join('\n')}`);
      });
      if (mode === 'startup') {
        await Promise.race([sleep(cycle.delayMs), exitedEarly]);
      } else {
        // joined and consuming (a SIGKILLed predecessor holds its partitions until its session times out)
        await Promise.race([svc.assigned, exitedEarly]);
        const url = await svc.url;
        if (mode === 'random') {
          await Promise.race([sleep(cycle.delayMs), exitedEarly]);
        } else {
          // wait for some rows to be written, then kill right after the next write: the flush
          // is then between its ClickHouse write and its offset commit, or just past it
          await Promise.race([sleep(cycle.delayMs), exitedEarly]);
          const base = metricSum(await (await fetch(`${url}/metrics`)).text(), 'sessionizer_written_rows_total');
          const deadline = Date.now() + 20_000;
          for (;;) {
            const now = metricSum(await (await fetch(`${url}/metrics`)).text(), 'sessionizer_written_rows_total');
            if (now > base || Date.now() > deadline) {
              cycle.writesSeen = now - base;
              break;
            }
            await sleep(2);
          }
        }
      }
      svc.child.kill('SIGKILL');
      const exit = await svc.exited;
      cycle.signal = exit.signal;
      cycle.aliveMs = Date.now() - spawnedAt;
      cycle.committedAfter = (await progress(kafka, group, topic)).committed;
      cycles.push(cycle);
      console.log(`crash cycle ${JSON.stringify(cycle)}`);
      expect(exit.signal).toBe('SIGKILL');
    }

    // the last instance: let it finish what the producer wrote, then stop it gracefully
    const last = startServiceProcess(env(200, 1_000));
    children.push(last);
    const lastStarted = Date.now();
    const lastJoin: { ms: number | null } = { ms: null };
    void last.assigned.then(() => {
      lastJoin.ms = Date.now() - lastStarted;
    });
    const loadgenCode = await loadgenDone;
    expect(loadgenCode, loadgenErr.slice(-2_000)).toBe(0);
    const producedAt = Date.now();
    const lastExitedEarly = last.exited.then((e) => {
      throw new Error(`the last instance exited by itself (${JSON.stringify(e)}): ${logProblems(last.stderr()).join('\n')}`);
    });
    await Promise.race([untilCommitted(kafka, group, topic, 300_000), lastExitedEarly]);
    const drainedMs = Date.now() - producedAt;
    const recoveryMs = Date.now() - lastStarted;
    const finalProgress = await progress(kafka, group, topic);
    const lastMetrics = await (await fetch(`${await last.url}/metrics`)).text();
    const lastExit = await stopGracefully(last, 45_000);
    expect(lastExit, logProblems(last.stderr()).join('\n')).toMatchObject({ code: 0, hung: false });
    expect(last.stderr()).toContain('stopped cleanly');

    // compare with the oracle over what the topic really holds
    const oracle = await topicOracle(kafka, topic);
    const actual = await sessionsInDir(dataDir);
    const acc = account(actual, oracle.expected);

    // the dead-letter topic: every invalid source record at least once (replays may repeat some)
    const dead = await readTopic(kafka, dlq, 120_000);
    const deadCoords = new Set(
      dead.map((m) => `${m.headers['sessionizer-source-partition'] ?? ''}/${m.headers['sessionizer-source-offset'] ?? ''}`),
    );
    const invalidCoords = oracle.read
      .filter((m) => {
        const r = decodeRecord('posthog-events', m.value, {});
        return !r.ok && r.action === 'dlq';
      })
      .map((m) => `${m.partition}/${m.offset}`);
    const missingDead = invalidCoords.filter((c) => !deadCoords.has(c));
    const invalidTotal = Object.values(oracle.invalid).reduce((a, b) => a + b, 0);

    faultReport('crash', {
      seed: SEED,
      cycles: cycles.length,
      kills: cycles.map((c) => ({
        mode: c.mode,
        delayMs: c.delayMs,
        aliveMs: c.aliveMs,
        joinMs: c.joinMs,
        flushIntervalMs: c.flushIntervalMs,
        flushMaxSessions: c.flushMaxSessions,
        committedDuringLife: c.committedAfter - c.committedBefore,
      })),
      eventsIn: oracle.messages,
      ...outcomeFields(oracle, actual, acc),
      invalid: invalidTotal,
      excluded: Object.values(oracle.excluded).reduce((a, b) => a + b, 0),
      deadLettered: dead.length,
      deadLetteredDistinct: deadCoords.size,
      deadLetterMissing: missingDead.length,
      lastInstanceReceived: metricSum(lastMetrics, 'sessionizer_received_events_total'),
      // recovery after a kill: a restarted instance consumes again once the group has dropped
      // the killed member (its session timeout; a member killed while joining: the rebalance timeout)
      recoveryMs: Math.max(lastJoin.ms ?? 0, ...cycles.map((c) => c.joinMs ?? 0)),
      lastInstanceJoinMs: lastJoin.ms,
      lastInstanceRunMs: recoveryMs,
      drainAfterProducerMs: drainedMs,
      committed: finalProgress.committed,
      endOffsets: finalProgress.end,
      durationMs: Date.now() - started,
      full: FULL,
    });
    expect(acc.lost).toBe(0);
    expect(acc.doubled).toBe(0);
    expect(actual).toEqual(oracle.expected);
    expect(missingDead).toEqual([]);
    expect(cycles.length).toBeGreaterThanOrEqual(5);
    // KAFKA_SESSION_TIMEOUT_MS reached the broker: an instance that follows one killed after it
    // had joined waits for that member's session timeout (10 s here). With the 30 s default this
    // wait measured 29.7–29.8 s every time (docs/reliability.md), so under 25 s means the setting
    // took effect; the margin over 10 s absorbs a slow start on a loaded machine.
    // (instances killed at start-up are left out: they are killed before they could join)
    const instances = [
      ...cycles.map((c) => ({ mode: c.mode, joined: c.joined, joinMs: c.joinMs })),
      { mode: 'last', joined: lastJoin.ms !== null, joinMs: lastJoin.ms },
    ];
    const afterJoinedKill = instances.filter(
      (inst, i) => i > 0 && inst.mode !== 'startup' && instances[i - 1]?.mode !== 'startup' && instances[i - 1]?.joined === true,
    );
    expect(afterJoinedKill.length).toBeGreaterThan(0);
    for (const inst of afterJoinedKill) expect(inst.joinMs, JSON.stringify(instances)).toBeLessThan(25_000);
  });
});
