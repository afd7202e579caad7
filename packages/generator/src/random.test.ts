import { describe, expect, it } from 'vitest';
import { isUuidV7, uuidV7Millis } from '@sessionizer/core';
import { uuidV4, uuidV7 } from './ids.js';
import { MinHeap } from './heap.js';
import { Rng } from './random.js';
import { utf8Length } from './stats.js';

describe('Rng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const take = (seed: number): number[] => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => rng.uint32());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(0)).not.toEqual(take(2 ** 32)); // the high bits of a seed count
    expect(take(-1)).toEqual(take(-1));
  });

  it('stays in range and is roughly uniform', () => {
    const rng = new Rng(7);
    const buckets = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      if (!(x >= 0 && x < 1)) outOfRange++;
      const b = Math.floor(x * 10);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500);
    const ints = new Set<number>();
    for (let i = 0; i < 10_000; i++) ints.add(rng.int(3, 9));
    expect(outOfRange).toBe(0);
    expect([...ints].sort()).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('draws normals with mean 0 and variance 1, and weighted picks by weight', () => {
    const rng = new Rng(11);
    let sum = 0;
    let sq = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 20_000; i++)
      counts[
        rng.weighted([
          ['a', 3],
          ['b', 1],
        ] as const)
      ]++;
    expect(counts.a / 20_000).toBeCloseTo(0.75, 1);
  });
});

describe('ids', () => {
  it('makes UUIDv7s with the given millisecond prefix, and UUIDv4s that are not v7', () => {
    const rng = new Rng(1);
    const ms = Date.UTC(2026, 10, 20, 10, 0, 0, 123);
    const bad: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const id = uuidV7(ms + i, rng);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id) || !isUuidV7(id) || uuidV7Millis(id) !== ms + i)
        bad.push(id);
      const v4 = uuidV4(rng);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(v4) || isUuidV7(v4)) bad.push(v4);
    }
    expect(bad).toEqual([]);
  });
});

describe('MinHeap', () => {
  it('pops in key order, ties in insertion order', () => {
    const rng = new Rng(5);
    const heap = new MinHeap<number>();
    const items: [number, number][] = [];
    for (let i = 0; i < 2_000; i++) {
      const key = rng.int(0, 100);
      items.push([key, i]);
      heap.push(key, i);
    }
    const expected = [...items].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
    const got: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) got.push(v);
    expect(got).toEqual(expected);
  });
});

describe('utf8Length', () => {
  it('counts UTF-8 bytes like TextEncoder', () => {
    const enc = new TextEncoder();
    for (const s of ['', 'abc', 'Northwind Trail — Outdoor', '£1', '😀 emoji', 'ü€😀x', '\ud800 lone']) {
      expect(utf8Length(s)).toBe(enc.encode(s).length);
    }
  });
});
