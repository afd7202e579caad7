/**
 * OffsetTracker: what may be committed. Forward-only per partition, snapshots of what is not yet
 * committed (filtered to the assignment), markCommitted and retain.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offsets.js';

const sorted = <T extends { topic: string; partition: number }>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);

describe('OffsetTracker', () => {
  it('starts empty', () => {
    const t = new OffsetTracker();
    expect(t.snapshot()).toEqual([]);
    expect(t.snapshot([])).toEqual([]);
    expect(t.committed('a', 0)).toBeUndefined();
  });

  it('the offset to commit is the last processed + 1, per topic and partition', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '9');
    t.processed('a', 1, '0');
    t.processed('b', 0, '41');
    expect(sorted(t.snapshot())).toEqual([
      { topic: 'a', partition: 0, offset: '10' },
      { topic: 'a', partition: 1, offset: '1' },
      { topic: 'b', partition: 0, offset: '42' },
    ]);
  });

  it('handles 64-bit offsets exactly', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '9223372036854775806');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '9223372036854775807' }]);
    t.processed('a', 0, '9007199254740993');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '9223372036854775807' }]);
  });

  it('only moves forward: a re-delivered older batch does not move the offset back', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '100');
    t.processed('a', 0, '50');
    t.processed('a', 0, '100');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '101' }]);
    t.processed('a', 0, '101');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '102' }]);
  });

  it('compares offsets as numbers, not text ("9" < "10")', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '10');
    t.processed('a', 0, '9');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '11' }]);
  });

  it('a snapshot is a value: later processing does not change it', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '1');
    const snap = t.snapshot();
    t.processed('a', 0, '5');
    expect(snap).toEqual([{ topic: 'a', partition: 0, offset: '2' }]);
  });

  it('excludes offsets already committed, until more is processed', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '4');
    t.processed('a', 1, '7');
    const first = t.snapshot();
    t.markCommitted(first);
    expect(t.snapshot()).toEqual([]);
    expect(t.committed('a', 0)).toBe('5');
    expect(t.committed('a', 1)).toBe('8');
    t.processed('a', 1, '8');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 1, offset: '9' }]);
  });

  it('a commit of an older snapshot leaves the newer offsets to commit (commit while processing)', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '4');
    const inFlight = t.snapshot(); // a flush drains here
    t.processed('a', 0, '9'); // processed while it writes
    t.markCommitted(inFlight);
    expect(t.committed('a', 0)).toBe('5');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '10' }]);
  });

  it('a failed commit (never marked) is in the next snapshot', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '4');
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '5' }]);
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '5' }]);
  });

  it('a snapshot for an assignment leaves out partitions not in it (without forgetting them)', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '1');
    t.processed('a', 1, '2');
    t.processed('b', 0, '3');
    expect(
      sorted(
        t.snapshot([
          { topic: 'a', partition: 1 },
          { topic: 'b', partition: 0 },
          { topic: 'c', partition: 9 },
        ]),
      ),
    ).toEqual([
      { topic: 'a', partition: 1, offset: '3' },
      { topic: 'b', partition: 0, offset: '4' },
    ]);
    expect(t.snapshot([])).toEqual([]);
    expect(t.snapshot()).toHaveLength(3);
  });

  it('keys do not collide across topic names and partitions', () => {
    const t = new OffsetTracker();
    t.processed('a1', 0, '1');
    t.processed('a', 10, '2');
    expect(sorted(t.snapshot())).toEqual([
      { topic: 'a', partition: 10, offset: '3' },
      { topic: 'a1', partition: 0, offset: '2' },
    ]);
    expect(t.snapshot([{ topic: 'a', partition: 1 }])).toEqual([]);
  });

  it('retain forgets processed and committed offsets of partitions no longer assigned', () => {
    const t = new OffsetTracker();
    t.processed('a', 0, '1');
    t.processed('a', 1, '2');
    t.markCommitted(t.snapshot());
    t.processed('a', 0, '5');
    t.retain([{ topic: 'a', partition: 0 }]);
    expect(t.snapshot()).toEqual([{ topic: 'a', partition: 0, offset: '6' }]);
    expect(t.committed('a', 1)).toBeUndefined();
    expect(t.committed('a', 0)).toBe('2');
    // a partition that comes back starts afresh
    t.processed('a', 1, '0');
    expect(sorted(t.snapshot())).toEqual([
      { topic: 'a', partition: 0, offset: '6' },
      { topic: 'a', partition: 1, offset: '1' },
    ]);
    t.retain([]);
    expect(t.snapshot()).toEqual([]);
  });

  it('property: the snapshot is the max processed + 1 of each partition not committed at that value', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('processed' as const), p: fc.integer({ min: 0, max: 3 }), offset: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant('commit' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const t = new OffsetTracker();
        const max = new Map<number, number>();
        const committed = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'processed') {
            t.processed('t', o.p, String(o.offset));
            max.set(o.p, Math.max(max.get(o.p) ?? -1, o.offset));
          } else {
            t.markCommitted(t.snapshot());
            for (const [p, m] of max) committed.set(p, m + 1);
          }
        }
        const expected = [...max]
          .filter(([p, m]) => committed.get(p) !== m + 1)
          .map(([p, m]) => ({ topic: 't', partition: p, offset: String(m + 1) }));
        expect(sorted(t.snapshot())).toEqual(sorted(expected));
      }),
    );
  });
});
