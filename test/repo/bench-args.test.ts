/**
 * The bench scripts' command lines (test/bench/args.ts): `--help` prints how to run the script
 * and exits 0 before it touches Kafka or ClickHouse; an unknown option is a usage error (exit 2)
 * naming the option, not a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { usage } from '../bench/args.js';

const BENCH = join(import.meta.dirname, '..', 'bench');
const SCRIPTS = readdirSync(BENCH)
  .filter((f) => f.endsWith('.ts') && readFileSync(join(BENCH, f), 'utf8').includes('benchArgs(import.meta.url'))
  .sort();
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(BENCH, script), ...args], {
    encoding: 'utf8',
    // no broker: a script that reached for Kafka before reading its options would fail or hang
    env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' },
    timeout: 60_000,
  });

describe('bench scripts', () => {
  it('read their options through benchArgs, none with parseArgs directly', () => {
    expect(SCRIPTS.length).toBeGreaterThanOrEqual(12);
    const direct = readdirSync(BENCH).filter(
      (f) => f.endsWith('.ts') && f !== 'args.ts' && /\bparseArgs\(/.test(readFileSync(join(BENCH, f), 'utf8')),
    );
    expect(direct).toEqual([]);
  });

  it.each(SCRIPTS)('%s --help prints its doc comment and exits 0', (script) => {
    const r = run(script, '--help');
    expect(r.status, r.stderr).toBe(0);
    const text = usage(pathToFileURL(join(BENCH, script)).href);
    expect(text.length).toBeGreaterThan(40);
    expect(r.stdout).toBe(text);
  });

  it.each(SCRIPTS)('%s refuses an unknown option with exit 2 and its name', (script) => {
    const r = run(script, '--no-such-option');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${script}: Unknown option '--no-such-option'`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('usage', () => {
  it('is the first doc comment without its markers', () => {
    expect(usage(pathToFileURL(join(BENCH, 'core.ts')).href)).toMatch(
      /^Micro-benchmark of the pure core[^*]*npm run bench:core -- \[--events N\]/,
    );
  });
});
