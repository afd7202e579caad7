/**
 * The fuzzer's short run in CI: `npm run fuzz` for a few seconds over every target (the long run
 * and its input counts are in docs/reliability.md). It must finish, find nothing, and feed every
 * target; its time budget is a budget, not an assertion on speed.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

interface FuzzReport {
  readonly targets: Record<string, { inputs: number }>;
  readonly total: number;
}

describe('npm run fuzz (short)', () => {
  it('runs every target and finds nothing', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fuzz/run.ts', '--seconds', '20', '--seed', '20261201'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out.slice(-4000)).toBe(0);
    const line = out.split('\n').find((l) => l.startsWith('FUZZ-REPORT '));
    expect(line, out).toBeDefined();
    const report = JSON.parse((line ?? '').slice('FUZZ-REPORT '.length)) as FuzzReport;
    expect(Object.keys(report.targets).sort()).toEqual([
      'normalize posthog-capture',
      'normalize posthog-events',
      'read-only SQL (endpoint, real engine)',
      'sql lexer (CLI)',
      'syntax-tree reader (endpoint)',
    ]);
    for (const [name, t] of Object.entries(report.targets)) expect(t.inputs, name).toBeGreaterThan(0);
    console.log(
      out
        .split('\n')
        .filter((l) => l.startsWith('fuzz: '))
        .join('\n'),
    );
  });
});
