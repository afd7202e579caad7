/**
 * The benchmarks still run and report every figure (a smoke test: tiny sizes, and nothing
 * about timing is asserted — these machines are shared and noisy).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '@sessionizer/generator';
import { comparePeer, expectedOf } from '../bench/peer.js';
import { REPO_ROOT } from '../support/cli.js';
import { kafkaBrokers } from '../support/context.js';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('benchmarks (smoke)', () => {
  let out = '';
  afterAll(async () => {
    if (out !== '') await rm(out, { recursive: true, force: true });
  });

  it('bench:core prints normalise/aggregate throughput and bytes per session', async () => {
    const r = await run(['--expose-gc', '--import', 'tsx', 'test/bench/core.ts', '--events', '2000']);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH-CORE '));
    const report = JSON.parse(line?.slice('BENCH-CORE '.length) ?? '{}') as Record<string, Record<string, number>>;
    for (const format of ['posthog-events', 'posthog-capture']) {
      expect(report[format]).toMatchObject({ messages: 2000 });
      for (const key of ['normalizePerSecond', 'aggregatePerSecond', 'heapBytesPerSession', 'estimatedBytesPerSession']) {
        expect(report[format]?.[key], `${format}.${key}`).toBeGreaterThan(0);
      }
    }
  });

  it('bench:flush prints the write cost of schema v1 and v2 in one run and checks v2 against the oracle', async () => {
    const r = await run([
      '--import',
      'tsx',
      'test/bench/flush-cost.ts',
      '--flushes',
      '2',
      '--events-per-flush',
      '2000',
      '--active-sessions',
      '300',
    ]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('FLUSH-COST '));
    const report = JSON.parse(line?.slice('FLUSH-COST '.length) ?? '{}') as {
      rowsPerFlush?: number;
      medianMs?: Record<string, number>;
      oracleCheck?: { sessions: number; different: number };
    };
    expect(report.rowsPerFlush).toBeGreaterThan(0);
    expect(Object.keys(report.medianMs ?? {})).toEqual([
      'v1: serialise (JS)',
      'v1: parse only',
      'v1: full insert (parse + view + parts)',
      'v2: serialise (JS)',
      'v2: parse only',
      'v2: full insert (parse + view + parts)',
    ]);
    // Sessions span the two flushes (300 active), so the states really had to merge.
    expect(report.oracleCheck?.sessions).toBeGreaterThan(0);
    expect(report.oracleCheck?.different).toBe(0);
  });

  it('bench:memory samples RSS, heap and merge memory over one run and reports them per tenth of the events', async () => {
    const r = await run(
      [
        '--import',
        'tsx',
        'test/bench/memory.ts',
        '--events',
        '3000',
        '--active-sessions',
        '300',
        '--tail-seconds',
        '1',
        '--sample-ms',
        '100',
      ],
      {
        KAFKA_BROKERS: kafkaBrokers().join(','),
      },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH-MEMORY '));
    const report = JSON.parse(line?.slice('BENCH-MEMORY '.length) ?? '{}') as {
      events?: number;
      peakRssBytes?: number;
      maxHeapBytes?: number;
      rowsWritten?: number;
      deciles?: { samples: number }[];
      maxHeapTotalBytes?: number;
      maxNewSpaceBytes?: number;
      maxClickhouseTrackedBytes?: number;
      maxJemallocResidentBytes?: number;
      atPeak?: { rssBytes?: number; heapTotalBytes?: number };
    };
    expect(report.events).toBe(3000);
    expect(report.peakRssBytes).toBeGreaterThan(0);
    expect(report.maxHeapBytes).toBeGreaterThan(0);
    expect(report.rowsWritten).toBeGreaterThan(0);
    expect(report.deciles).toHaveLength(10);
    expect(report.deciles?.reduce((a, d) => a + d.samples, 0)).toBeGreaterThan(0);
    // the split of the RSS: V8's heap, its new space, the engine's tracked and resident memory
    expect(report.maxHeapTotalBytes).toBeGreaterThan(0);
    expect(report.maxNewSpaceBytes).toBeGreaterThan(0);
    expect(report.maxClickhouseTrackedBytes).toBeGreaterThan(0);
    expect(report.maxJemallocResidentBytes).toBeGreaterThan(0);
    expect(report.atPeak?.rssBytes).toBeGreaterThan(report.atPeak?.heapTotalBytes ?? Infinity);
  });

  it('the peer check counts a changed column, a missing and an extra session, and different reject counts', () => {
    const events = [...generate({ seed: 9, format: 'posthog-events', events: 300, activeSessions: 30 })];
    const expected = expectedOf(events, 0);
    const first = expected.sessions[0];
    if (first === undefined) throw new Error('no sessions generated');
    // Rows as the peer writes them, from the oracle's own sessions: the check must find nothing…
    const rowOf = (s: (typeof expected.sessions)[number]): Record<string, unknown> => ({
      ...s,
      channel_input: {
        utm_source: s.entry_utm_source,
        utm_medium: s.entry_utm_medium,
        utm_campaign: s.entry_utm_campaign,
        referring_domain: s.entry_referring_domain,
        gclid: s.entry_gclid,
        gad_source: s.entry_gad_source,
        fbclid: s.entry_fbclid,
      },
    });
    const rows = new Map(expected.sessions.map((s) => [`${s.team_id}:${s.session_id}`, rowOf(s)]));
    const counts = { read: expected.read, accepted: expected.read, rejected: { ...expected.rejected } };
    expect(comparePeer(expected, rows, counts)).toMatchObject({ mismatches: 0, missing: 0, extra: 0, mismatchedSessions: 0 });
    // …and find each kind of difference.
    const changed = new Map(rows);
    changed.set(`${first.team_id}:${first.session_id}`, { ...rowOf(first), pageview_count: first.pageview_count + 1 });
    const one = comparePeer(expected, changed, counts);
    expect(one).toMatchObject({ mismatchedSessions: 1, mismatches: 1 });
    expect(one.mismatchesByColumn['pageview_count']).toBe(1);
    expect(one.mismatchesByColumn['is_bounce'] ?? 0).toBeLessThanOrEqual(1);
    const gone = new Map(rows);
    gone.delete(`${first.team_id}:${first.session_id}`);
    gone.set('1:not-a-session', rowOf(first));
    expect(comparePeer(expected, gone, counts)).toMatchObject({ missing: 1, extra: 1, mismatches: 2 });
    expect(comparePeer(expected, rows, { ...counts, rejected: { ...counts.rejected, malformed_json: 1 } })).toMatchObject({
      mismatches: 1,
      rejected: { equal: false },
    });
    expect(comparePeer(expected, rows, null).rejected.equal).toBe(false);
  });

  it('bench: baseline, sessionizer, the Kafka Streams peer (checked against the oracle), write volume, write cost v1 vs v2 and server-side sessions on a small topic', async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    const r = await run(
      [
        '--import',
        'tsx',
        'test/bench/pipeline.ts',
        '--events',
        '3000',
        '--check-events',
        '3000',
        '--settle-seconds',
        '0',
        '--skip',
        'freshness',
        '--skip',
        'memory',
        '--server-sessions-keys',
        '20000',
        '--out-dir',
        out,
      ],
      { KAFKA_BROKERS: kafkaBrokers().join(',') },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const files = await readdir(out);
    expect(files.some((f) => f.endsWith('.svg'))).toBe(true);
    const json = files.find((f) => f.endsWith('.json'));
    const report = JSON.parse(await readFile(join(out, json ?? ''), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(report['baselineA']).toMatchObject({ events: 3000 });
    expect(report['sessionizer']).toMatchObject({ events: 3000, exitCode: 0 });
    expect(report['peer']).toMatchObject({ events: 3000, exitCode: 0 });
    for (const who of ['baselineA', 'sessionizer', 'peer']) {
      for (const key of ['eventsPerSecond', 'cpuSecondsPerMillionEvents', 'eventsPerCpuSecond', 'peakRssBytes']) {
        expect(report[who]?.[key], `${who}.${key}`).toBeGreaterThan(0);
      }
    }
    for (const key of ['rowsPer1000Events', 'onDiskBytesPer1000Events', 'flushP50Seconds']) {
      expect(report['sessionizer']?.[key], key).toBeGreaterThan(0);
    }
    expect(report['sessionizerToPeerEventsPerCpuSecond']).toBeGreaterThan(0);
    // The peer's sessions equal the oracle's on every column the oracle has, with and without faults.
    const checks = report['peerCheck'] as Record<
      string,
      { sessions: number; mismatches: number; columnsCompared: string[]; rejected: { equal: boolean; expected: Record<string, number> } }
    >;
    for (const name of ['short', 'faults']) {
      expect(checks[name]?.sessions, name).toBeGreaterThan(100);
      expect(checks[name]?.columnsCompared.length, name).toBeGreaterThanOrEqual(24);
      expect(checks[name], `${name}: ${JSON.stringify(checks[name]).slice(0, 2000)}`).toMatchObject({
        mismatches: 0,
        rejected: { equal: true },
      });
    }
    expect(Object.keys(checks['faults']?.rejected.expected ?? {}).length).toBeGreaterThan(2);
    expect(report['writeVolume']).toMatchObject({
      events: 3000,
      ours: { rowsInserted: expect.any(Number) as unknown },
      posthog: { rowsInserted: 3000 },
    });
    // Write cost, schema v1 against the current one, on the short topic's events in the same run.
    const flush = report['flushCost'] as {
      events: number;
      perSchema: Record<'v1' | 'v2', Record<string, number>>;
      v2ToV1: Record<string, number>;
      oracleCheck: { sessions: number; different: number };
    };
    expect(flush.events).toBe(3000);
    for (const schema of ['v1', 'v2'] as const) {
      for (const key of [
        'writeWallSeconds',
        'writeCpuSeconds',
        'jsonBytes',
        'bytesOnDiskBeforeMerge',
        'mergeWallSeconds',
        'bytesOnDiskAfterMerge',
      ]) {
        expect(flush.perSchema[schema][key], `${schema}.${key}`).toBeGreaterThan(0);
      }
    }
    expect(flush.v2ToV1['writeCpuSeconds']).toBeGreaterThan(0);
    expect(flush.oracleCheck.sessions).toBeGreaterThan(100);
    expect(flush.oracleCheck.different).toBe(0);
    // Server-side sessions: the same events without $session_id, through the service, against the client-id run.
    const server = report['serverSessions'] as {
      events: number;
      distinctIds: number;
      client: Record<string, number>;
      server: Record<string, number>;
      serverToClientCpuPerEvent: number;
      trackedKeyBytes: { keys: number; heapBytesPerKey: number };
    };
    expect(server).toMatchObject({ events: 3000, trackedKeyBytes: { keys: 20000 } });
    expect(server.distinctIds).toBeGreaterThan(0);
    for (const who of ['client', 'server'] as const) {
      for (const key of ['eventsPerSecond', 'cpuSecondsPerMillionEvents', 'sessions']) {
        expect(server[who][key], `${who}.${key}`).toBeGreaterThan(0);
      }
    }
    expect(server.serverToClientCpuPerEvent).toBeGreaterThan(0);
    expect(server.trackedKeyBytes.heapBytesPerKey).toBeGreaterThan(0);
  }, 420_000);

  it('bench --freshness-only: the pre-generated load is produced in full, and the report has the asked and produced rates, the producer CPU and the markers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-fresh-smoke-'));
    try {
      const r = await run(
        [
          '--import',
          'tsx',
          'test/bench/pipeline.ts',
          '--freshness-only',
          '--freshness-rate',
          '400',
          '--freshness-seconds',
          '3',
          '--settle-seconds',
          '0',
          '--out-dir',
          dir,
        ],
        { KAFKA_BROKERS: kafkaBrokers().join(',') },
      );
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const json = (await readdir(dir)).find((f) => f.endsWith('.json'));
      const report = JSON.parse(await readFile(join(dir, json ?? ''), 'utf8')) as Record<string, unknown>;
      // no other phase ran
      expect(report['sessionizer']).toBeUndefined();
      const f = report['freshness'] as {
        askedEventsPerSecond: number;
        producedEventsPerSecond: number;
        producedEvents: number;
        producer: { cpuSeconds: number; cpuMicrosPerEvent: number; produceSeconds: number };
        markers: number;
        unseenMarkers: number;
        markersInView: number;
        flushes: number;
      };
      expect(f.askedEventsPerSecond).toBe(400);
      // every prepared event was acknowledged by the broker
      expect(f.producedEvents).toBe(1200);
      expect(f.producedEventsPerSecond).toBeGreaterThan(0);
      expect(f.producer.cpuSeconds).toBeGreaterThan(0);
      expect(f.producer.cpuMicrosPerEvent).toBeGreaterThan(0);
      expect(f.markers + f.unseenMarkers).toBeGreaterThan(0);
      expect(f.markersInView).toBeGreaterThanOrEqual(f.markers);
      expect(f.flushes).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('bench refuses --freshness-only without --freshness-rate, and a rate that is not a positive integer', async () => {
    const missing = await run(['--import', 'tsx', 'test/bench/pipeline.ts', '--freshness-only']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--freshness-only needs --freshness-rate');
    for (const bad of ['0', '-5', '1.5', 'abc']) {
      const r = await run(['--import', 'tsx', 'test/bench/pipeline.ts', '--freshness-only', `--freshness-rate=${bad}`]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain('--freshness-rate must be a positive integer');
    }
    const active = await run([
      '--import',
      'tsx',
      'test/bench/pipeline.ts',
      '--freshness-only',
      '--freshness-rate',
      '10',
      '--freshness-active-sessions',
      '0',
    ]);
    expect(active.code).toBe(2);
    expect(active.stderr).toContain('--freshness-active-sessions must be a positive integer');
  });

  it('the freshness load (fresh-load.ts) refuses missing and bad flags before it touches Kafka', async () => {
    const cases: [string[], string][] = [
      [['--topic', 't', '--rate', '10', '--seconds', '1'], '--brokers is required'],
      [['--brokers', '127.0.0.1:1', '--rate', '10', '--seconds', '1'], '--topic is required'],
      [['--brokers', '127.0.0.1:1', '--topic', 't', '--seconds', '1'], '--rate is required'],
      [['--brokers', '127.0.0.1:1', '--topic', 't', '--rate', 'x', '--seconds', '1'], "--rate must be a positive number, got 'x'"],
      [['--brokers', '127.0.0.1:1', '--topic', 't', '--rate', '10', '--seconds', '0'], "--seconds must be a positive number, got '0'"],
      [
        ['--brokers', '127.0.0.1:1', '--topic', 't', '--rate', '10', '--seconds', '1', '--tick-ms', ''],
        "--tick-ms must be a positive number, got ''",
      ],
      [['--brokers', '127.0.0.1:1', '--topic', 't', '--rate', '10', '--seconds', '1', '--bogus'], "Unknown option '--bogus'"],
    ];
    for (const [args, message] of cases) {
      const r = await run(['--import', 'tsx', 'test/bench/fresh-load.ts', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  });

  it('bench:overview loads the overview page over a small dataset and reports page load and every panel', async () => {
    const r = await run(['--import', 'tsx', 'test/bench/overview.ts', '--smoke']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('OVERVIEW-BENCH '));
    const report = JSON.parse(line?.slice('OVERVIEW-BENCH '.length) ?? '{}') as {
      results?: {
        sessions: number;
        partialRows: number;
        pageLoadColdMs: number;
        pageLoadMedianMs: number;
        panels: Record<string, { wallMs: number }>;
      }[];
    };
    const [result] = report.results ?? [];
    expect(result).toMatchObject({ sessions: 3000 });
    expect(result?.partialRows).toBeGreaterThan(0);
    expect(result?.pageLoadMedianMs).toBeGreaterThan(0);
    expect(Object.keys(result?.panels ?? {})).toEqual(
      expect.arrayContaining(['meta', 'tiles', 'breakdowns', 'series', 'channel_type', 'entry_pathname']),
    );
  });
});
