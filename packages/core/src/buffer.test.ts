/**
 * SessionBuffer's drain order: the sessions in the order they were first added since the last
 * drain, whatever came later. The sink writes a flush's INSERTs in this order, so the states that
 * waited longest become visible first (BENCHMARKS.md, freshness).
 */
import { describe, expect, it } from 'vitest';
import { eventFor } from '../../../test/support/arbitraries.js';
import { SessionBuffer } from './buffer.js';

describe('SessionBuffer', () => {
  it('drains sessions in the order of their first event since the last drain', () => {
    const b = new SessionBuffer();
    for (const [session, index] of [
      [3, 0],
      [1, 0],
      [3, 1],
      [2, 0],
      [1, 1],
    ] as const) {
      b.add(eventFor(1, session, index));
    }
    const first = b.drain().map((s) => s.sessionId);
    expect(first).toEqual([3, 1, 2].map((s) => eventFor(1, s, 0).sessionId));
    // after a drain the order starts again: session 1 first this time
    b.add(eventFor(1, 1, 2));
    b.add(eventFor(1, 3, 2));
    expect(b.drain().map((s) => s.sessionId)).toEqual([1, 3].map((s) => eventFor(1, s, 0).sessionId));
  });
});
