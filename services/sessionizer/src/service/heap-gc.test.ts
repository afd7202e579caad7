import { describe, expect, it } from 'vitest';
import { FlushGc, fullGc, GROWTH, oldSpaceUsed } from './heap-gc.js';

const MiB = 2 ** 20;

/** A heap whose old space the test sets, and a collection that leaves `live` of it. */
function fakeHeap(start: number) {
  const heap = { used: start, live: 0, collections: 0, clock: 0 };
  const gc = new FlushGc({
    minOldSpaceBytes: 128 * MiB,
    readOldSpaceUsed: () => heap.used,
    collect: () => {
      heap.collections += 1;
      heap.clock += 40;
      heap.used = heap.live;
    },
    now: () => heap.clock,
  });
  return { heap, gc };
}

describe('FlushGc', () => {
  it('does nothing below the threshold', () => {
    const { heap, gc } = fakeHeap(100 * MiB);
    expect(gc.afterFlush()).toBeUndefined();
    heap.used = 128 * MiB;
    expect(gc.afterFlush()).toBeUndefined();
    expect(heap.collections).toBe(0);
  });

  it('collects above it, and reports what the collection freed and how long it took by the injected clock', () => {
    const { heap, gc } = fakeHeap(300 * MiB);
    heap.live = 90 * MiB;
    expect(gc.afterFlush()).toEqual({ beforeBytes: 300 * MiB, afterBytes: 90 * MiB, ms: 40 });
    expect(heap.collections).toBe(1);
  });

  it('waits for the old space to grow by GROWTH over what the previous collection left', () => {
    const { heap, gc } = fakeHeap(400 * MiB);
    heap.live = 200 * MiB; // a large live heap: above the threshold right after the collection
    gc.afterFlush();
    expect(heap.collections).toBe(1);
    heap.used = 200 * MiB * GROWTH; // not more than GROWTH x: not yet
    expect(gc.afterFlush()).toBeUndefined();
    heap.used = 200 * MiB * GROWTH + 1;
    heap.live = 150 * MiB;
    expect(gc.afterFlush()?.afterBytes).toBe(150 * MiB);
    // after a smaller live size the threshold is the floor again
    heap.used = 129 * MiB;
    expect(gc.due(heap.used)).toBe(false); // 129 < 150 x GROWTH
    heap.used = 226 * MiB;
    expect(gc.due(heap.used)).toBe(true);
    expect(heap.collections).toBe(2);
  });

  it('is off at 0', () => {
    let collections = 0;
    const gc = new FlushGc({ minOldSpaceBytes: 0, readOldSpaceUsed: () => 4096 * MiB, collect: () => (collections += 1) });
    expect(gc.enabled).toBe(false);
    expect(gc.afterFlush()).toBeUndefined();
    expect(collections).toBe(0);
  });

  it("reaches V8's collector without --expose-gc", () => {
    expect(oldSpaceUsed()).toBeGreaterThan(0);
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    expect(garbage.length).toBe(200_000);
    garbage = undefined;
    expect(() => {
      fullGc();
    }).not.toThrow();
    expect(garbage).toBeUndefined();
  });
});
