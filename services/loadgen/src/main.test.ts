import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '@sessionizer/generator';
import { parseCli, UsageError } from './args.js';
import { main, type Summary } from './main.js';

function io(env: Record<string, string | undefined> = {}): { io: Parameters<typeof main>[1]; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { io: { stdout, stderr, env, stderrIsTty: false }, out: () => out, err: () => err };
}

const dir = mkdtempSync(join(tmpdir(), 'loadgen-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('parseCli', () => {
  const base = ['--format', 'posthog-capture', '--events', '1_000', '--out', '-'];

  it('reads every flag', () => {
    const parsed = parseCli(
      [
        '--format',
        'posthog-events',
        '--events',
        '5000',
        '--seed=-7',
        '--teams',
        '4',
        '--active-sessions',
        '50',
        '--out-of-order',
        '0.1',
        '--duplicates',
        '0.02',
        '--invalid',
        '0.03',
        '--no-session-id',
        '0.04',
        '--topic',
        'events',
        '--brokers',
        'a:9092,b:9092',
        '--partitions',
        '6',
        '--max-in-flight',
        '3',
        '--rate',
        '2500.5',
        '--now',
      ],
      {},
    );
    expect(parsed).toEqual({
      help: false,
      config: {
        format: 'posthog-events',
        events: 5_000,
        seed: -7,
        teams: 4,
        activeSessions: 50,
        now: true,
        rates: { outOfOrder: 0.1, duplicates: 0.02, invalid: 0.03, noSessionId: 0.04 },
        target: { kind: 'kafka', topic: 'events', brokers: 'a:9092,b:9092', partitions: 6 },
        rate: 2_500.5,
        maxInFlight: 3,
      },
    });
  });

  it('has defaults, and takes the brokers from KAFKA_BROKERS', () => {
    const parsed = parseCli(base, {});
    expect(!parsed.help && parsed.config).toMatchObject({
      events: 1_000,
      seed: 1,
      teams: 3,
      activeSessions: 200,
      now: false,
      rate: undefined,
      maxInFlight: 1,
      target: { kind: 'file', path: '-' },
    });
    const kafka = parseCli(['--format', 'posthog-events', '--events', '1', '--topic', 't'], { KAFKA_BROKERS: 'k:9092' });
    expect(!kafka.help && kafka.config.target).toEqual({ kind: 'kafka', topic: 't', brokers: 'k:9092', partitions: undefined });
    expect(parseCli(['--help'], {})).toEqual({ help: true });
    expect(parseCli(['-h'], {}).help).toBe(true);
  });

  it.each<[string, string[], RegExp]>([
    ['no format', ['--events', '1', '--out', '-'], /--format is required/],
    ['a bad format', ['--format', 'csv', '--events', '1', '--out', '-'], /--format must be/],
    ['no events', ['--format', 'posthog-events', '--out', '-'], /--events is required/],
    ['negative events', ['--format', 'posthog-events', '--events=-1', '--out', '-'], /--events must be an integer >= 0/],
    ['fractional events', ['--format', 'posthog-events', '--events', '1.5', '--out', '-'], /--events must be an integer/],
    ['no target', ['--format', 'posthog-events', '--events', '1'], /give a target/],
    ['two targets', [...base, '--topic', 't', '--brokers', 'a:1'], /either --topic or --out/],
    ['a topic without brokers', ['--format', 'posthog-events', '--events', '1', '--topic', 't'], /needs --brokers/],
    [
      'bad brokers',
      ['--format', 'posthog-events', '--events', '1', '--topic', 't', '--brokers', 'localhost'],
      /invalid broker 'localhost'/,
    ],
    ['brokers with a file', [...base, '--brokers', 'a:1'], /go with --topic/],
    ['in-flight with a file', [...base, '--max-in-flight', '2'], /go with --topic/],
    [
      'zero in flight',
      ['--format', 'posthog-events', '--events', '1', '--topic', 't', '--brokers', 'a:1', '--max-in-flight', '0'],
      /--max-in-flight must be an integer >= 1/,
    ],
    [
      'zero partitions',
      ['--format', 'posthog-events', '--events', '1', '--topic', 't', '--brokers', 'a:1', '--partitions', '0'],
      /--partitions must be an integer >= 1/,
    ],
    ['a rate above 1', [...base, '--duplicates', '1.5'], /--duplicates must be a fraction/],
    ['a word for a rate', [...base, '--invalid', 'lots'], /--invalid must be a fraction/],
    ['rates summing to 1', [...base, '--duplicates', '0.5', '--invalid', '0.3', '--no-session-id', '0.2'], /must be below 1/],
    ['a zero rate limit', [...base, '--rate', '0'], /--rate must be a positive number/],
    ['zero teams', [...base, '--teams', '0'], /--teams must be an integer >= 1/],
    ['an unknown flag', [...base, '--verbose'], /Unknown option '--verbose'/],
    ['a stray argument', [...base, 'extra'], /unexpected argument 'extra'/],
    ['a flag without its value', ['--format'], /argument missing/],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(UsageError);
    expect(() => parseCli(argv, {})).toThrow(message);
  });
});

describe('main', () => {
  it('prints the usage with --help', async () => {
    const t = io();
    expect(await main(['--help'], t.io)).toBe(0);
    expect(t.out()).toContain('Usage: loadgen --format posthog-events|posthog-capture --events N');
  });

  it('exits 2 with a clear message on bad flags', async () => {
    const t = io();
    expect(await main(['--format', 'posthog-events', '--events', 'many', '--out', '-'], t.io)).toBe(2);
    expect(t.err()).toBe("loadgen: --events must be an integer >= 0, got 'many'\nRun 'loadgen --help' for usage.\n");
    expect(t.out()).toBe('');
  });

  // "Quickly" without a clock: the first refused connection is the answer (the probe does not
  // retry), not a timeout and not kafkajs's minutes of retries.
  it('exits 1 quickly when the broker cannot be reached', async () => {
    const t = io();
    expect(await main(['--format', 'posthog-events', '--events', '10', '--topic', 't', '--brokers', '127.0.0.1:1'], t.io)).toBe(1);
    expect(t.err()).toMatch(/^loadgen: cannot reach Kafka at 127\.0\.0\.1:1: Connection error: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
  }, 20_000);

  it('writes NDJSON identical to the generator and a JSON summary', async () => {
    const path = join(dir, 'out.ndjson');
    const t = io();
    const code = await main(
      ['--format', 'posthog-capture', '--events', '3000', '--seed', '9', '--duplicates', '0.1', '--invalid', '0.05', '--out', path],
      t.io,
    );
    expect(t.err()).toBe('');
    expect(code).toBe(0);
    const expected = [...generate({ seed: 9, format: 'posthog-capture', events: 3_000, rates: { duplicates: 0.1, invalid: 0.05 } })];
    expect(readFileSync(path, 'utf8')).toBe(expected.map((m) => `${m.value}\n`).join(''));
    const summary = JSON.parse(t.out()) as Summary;
    expect(summary).toMatchObject({ events: 3_000, format: 'posthog-capture', seed: 9, target: `file:${path}` });
    expect(summary.bytes).toBe(expected.reduce((n, m) => n + Buffer.byteLength(m.value), 0));
    expect(summary.byKind.event + summary.byKind.duplicate + summary.byKind.invalid + summary.byKind.no_session_id).toBe(3_000);
    expect(summary.byKind.duplicate).toBeGreaterThan(200);
    expect(summary.eventsPerSecond).toBeGreaterThan(0);
  });

  it('with --out -, writes the events to stdout and the summary to stderr', async () => {
    const t = io();
    expect(await main(['--format', 'posthog-events', '--events', '25', '--out', '-'], t.io)).toBe(0);
    const lines = t.out().trimEnd().split('\n');
    expect(lines).toHaveLength(25);
    expect((JSON.parse(t.err()) as Summary).events).toBe(25);
  });

  it('stops on the signal, prints the summary, exits 130', async () => {
    const t = io();
    const controller = new AbortController();
    const run = main(['--format', 'posthog-events', '--events', '1000000', '--rate', '1000', '--out', join(dir, 'slow.ndjson')], {
      ...t.io,
      signal: controller.signal,
    });
    // Interrupt once events are being written (a condition, not a duration).
    const out = join(dir, 'slow.ndjson');
    while (!existsSync(out) || statSync(out).size === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(await run).toBe(130);
    const summary = JSON.parse(t.out()) as Summary;
    expect(summary.interrupted).toBe(true);
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.events).toBeLessThan(10_000);
    expect(readFileSync(join(dir, 'slow.ndjson'), 'utf8').split('\n').length - 1).toBe(summary.events);
  });

  it('exits 1 when the output file cannot be written', async () => {
    const t = io();
    expect(await main(['--format', 'posthog-events', '--events', '5', '--out', join(dir, 'no', 'such', 'dir.ndjson')], t.io)).toBe(1);
    expect(t.err()).toMatch(/^loadgen: cannot write .*ENOENT/);
  });
});
