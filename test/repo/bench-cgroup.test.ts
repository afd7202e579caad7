/**
 * The benchmarks' `--memory-limit` (test/bench/cgroup.ts): the size it accepts, and the clear
 * error where no memory cgroup can be made (no controller, or not writable).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryCgroup, parseMemoryLimit } from '../bench/cgroup.js';

describe('parseMemoryLimit', () => {
  it('reads Kubernetes-style binary sizes', () => {
    expect(parseMemoryLimit('1536M')).toBe(1536 * 2 ** 20);
    expect(parseMemoryLimit('1536Mi')).toBe(1536 * 2 ** 20);
    expect(parseMemoryLimit('1.5G')).toBe(1536 * 2 ** 20);
    expect(parseMemoryLimit('2Gi')).toBe(2 * 2 ** 30);
    expect(parseMemoryLimit(String(2 ** 30))).toBe(2 ** 30);
  });
  it('refuses what is not a size, or too small to run the service', () => {
    expect(() => parseMemoryLimit('lots')).toThrow(/--memory-limit: a size like 1536M/);
    expect(() => parseMemoryLimit('1536X')).toThrow(/--memory-limit/);
    expect(() => parseMemoryLimit('10M')).toThrow(/below 64 MiB/);
  });
});

describe('createMemoryCgroup', () => {
  const dirs: string[] = [];
  const fakeRoot = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cgroup-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('says so when there is no memory controller', () => {
    expect(() => createMemoryCgroup('x', 2 ** 30, fakeRoot())).toThrow(/--memory-limit: no cgroup memory controller/);
  });
  it('says so when the cgroup cannot be made', () => {
    const root = fakeRoot();
    // a v2 hierarchy whose directory for our cgroup does not exist: mkdir fails, as without rights
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    mkdirSync(join(root, 'not-ours'));
    expect(() => createMemoryCgroup('a/b/c', 2 ** 30, root)).toThrow(/--memory-limit: cannot create the memory cgroup .*cgroup v2/);
  });
});
