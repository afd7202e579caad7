/**
 * Server-side sessions are exact under any split and any crash (issue 14): the stream is cut
 * into batches at random, flushes happen after random batches, commits fail at random, the
 * process crashes at random points (memory lost; state read back from the store as the rows
 * with the greatest version ≤ the committed offset; re-delivery from the committed offset) and
 * memory evicts down to a random bound. Every assignment ever made equals the oracle's.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MICROS_PER_MINUTE, serverEvent } from '../../../../test/support/server-sessions.js';
import type { SessionEvent } from '../event.js';
import { ServerSessionAssigner, type KeyRef, type StateChange } from './assigner.js';
import { assignServerSessionsOracle } from './oracle.js';
import { serverSessionKey, type ServerSessionOptions } from './rule.js';

const MIN = MICROS_PER_MINUTE;
// small windows so that every rule is met often
const OPTIONS: ServerSessionOptions = { idleMs: 10 * 60_000, graceMs: 3 * 60_000 };
const RUNS = { numRuns: 400, seed: 20261201 };

const event = (i: number, teamId: number, distinctId: string, minutes: number): SessionEvent => serverEvent(i, minutes, distinctId, teamId);

const streamArb = fc
  .array(
    fc.record({
      teamId: fc.constantFrom(1, 2),
      distinctId: fc.constantFrom('a', 'b', 'c'),
      // minutes: mostly near each other, sometimes a day apart (the 24 h rule)
      minutes: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 3 * 24 * 60 })),
      duplicateOf: fc.option(fc.nat(), { freq: 8 }),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((rows) =>
    rows.map((r, i) => {
      const dup = r.duplicateOf === null || i === 0 ? undefined : r.duplicateOf % i;
      return dup === undefined ? event(i, r.teamId, r.distinctId, r.minutes) : event(dup, r.teamId, r.distinctId, r.minutes);
    }),
  );

const planArb = fc.record({
  batchSizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
  flushAfter: fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
  commitOk: fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
  crashAt: fc.array(fc.boolean(), { maxLength: 30 }),
  maxKeys: fc.integer({ min: 0, max: 6 }),
});

type Plan = typeof planArb extends fc.Arbitrary<infer P> ? P : never;

interface Row extends StateChange {
  readonly version: number;
}

/** The store's read: per key, the row with the greatest version ≤ the committed offset. */
function read(rows: readonly Row[], keys: readonly KeyRef[], committed: number): StateChange[] {
  const wanted = new Set(keys.map((k) => serverSessionKey(k.teamId, k.distinctId)));
  const best = new Map<string, Row>();
  for (const r of rows) {
    const key = serverSessionKey(r.teamId, r.distinctId);
    if (!wanted.has(key) || r.version > committed) continue;
    const b = best.get(key);
    if (b === undefined || r.version >= b.version) best.set(key, r);
  }
  return [...best.values()];
}

/** Runs the stream through the plan; every assignment made for position i, in order. */
function simulate(events: readonly SessionEvent[], plan: Plan): string[][] {
  const seen = events.map((): string[] => []);
  const rows: Row[] = [];
  let committed = 0;
  let position = 0;
  let assigner = new ServerSessionAssigner(OPTIONS);
  for (let round = 0; position < events.length; round++) {
    const size = plan.batchSizes[round % plan.batchSizes.length] as number;
    const batch = events.slice(position, position + size);
    assigner.load(read(rows, assigner.missing(batch), committed));
    batch.forEach((e, j) => (seen[position + j] as string[]).push(assigner.assign(e).sessionId));
    position += batch.length;
    const last = position === events.length;
    if (last || plan.flushAfter[round % plan.flushAfter.length] === true) {
      const { flush, changes } = assigner.takeChanges();
      for (const c of changes) rows.push({ ...c, version: position });
      if (last || plan.commitOk[round % plan.commitOk.length] === true) {
        committed = position;
        assigner.confirm(flush);
        assigner.evict(plan.maxKeys);
      }
    }
    if (!last && plan.crashAt[round] === true) {
      assigner = new ServerSessionAssigner(OPTIONS);
      position = committed;
    }
  }
  return seen;
}

describe('server-side sessions under splits, flushes, evictions and crashes', () => {
  it('every assignment ever made equals the oracle', () => {
    fc.assert(
      fc.property(streamArb, planArb, (events, plan) => {
        const expected = assignServerSessionsOracle(events, OPTIONS);
        const seen = simulate(events, plan);
        seen.forEach((ids, i) => {
          expect(ids.length).toBeGreaterThan(0);
          for (const id of ids) expect(id).toBe(expected[i]);
        });
      }),
      RUNS,
    );
  });

  it('events of a distinct_id arriving in time order get the obvious answer', () => {
    fc.assert(
      fc.property(streamArb, (events) => {
        // one key, sorted by time (ties in arrival order): the gaps and the 24 h limit decide
        const sorted = events.map((e) => ({ ...e, teamId: 1, distinctId: 'a' })).sort((x, y) => x.timestamp - y.timestamp);
        const ids = assignServerSessionsOracle(sorted, OPTIONS);
        const streamed = simulate(sorted, { batchSizes: [3], flushAfter: [true], commitOk: [true], crashAt: [], maxKeys: 0 });
        let start = -Infinity;
        let previous = -Infinity;
        sorted.forEach((e, i) => {
          const opens = e.timestamp - previous > 10 * MIN || e.timestamp - start >= 24 * 60 * MIN;
          if (opens) start = e.timestamp;
          if (i > 0) expect(ids[i] === ids[i - 1]).toBe(!opens);
          expect(streamed[i]).toEqual([ids[i]]);
          previous = e.timestamp;
        });
      }),
      RUNS,
    );
  });

  it('the state restored from a snapshot newer than the committed offset would not be exact (why versions matter)', () => {
    // a: opens at 0; flush written at offset 2 but not committed; crash; re-delivery from 0
    const events = [event(1, 1, 'a', 0), event(2, 1, 'a', 30), event(3, 1, 'a', 31)];
    const expected = assignServerSessionsOracle(events, OPTIONS);
    const first = new ServerSessionAssigner(OPTIONS);
    first.assign(events[0] as SessionEvent);
    first.assign(events[1] as SessionEvent);
    const { changes } = first.takeChanges();
    const wrong = new ServerSessionAssigner(OPTIONS);
    wrong.load(changes); // the uncommitted row
    expect(wrong.assign(events[0] as SessionEvent).sessionId).not.toBe(expected[0]);
    const right = new ServerSessionAssigner(OPTIONS);
    right.load(
      read(
        changes.map((c) => ({ ...c, version: 2 })),
        [{ teamId: 1, distinctId: 'a' }],
        0,
      ),
    );
    expect(right.assign(events[0] as SessionEvent).sessionId).toBe(expected[0]);
  });

  it('eviction keeps dirty and unconfirmed keys, and bounds the rest', () => {
    const a = new ServerSessionAssigner(OPTIONS);
    for (let i = 0; i < 10; i++) a.assign(event(i, 1, `d${i}`, i));
    expect(a.evict(0)).toBe(0); // all dirty
    const { flush } = a.takeChanges();
    expect(a.evict(0)).toBe(0); // written, not committed
    a.confirm(flush);
    a.assign(event(20, 1, 'd3', 12));
    expect(a.evict(0)).toBe(9);
    expect(a.size).toBe(1);
    expect(
      a.missing([
        { teamId: 1, distinctId: 'd3' },
        { teamId: 1, distinctId: 'd4' },
      ]),
    ).toEqual([{ teamId: 1, distinctId: 'd4' }]);
  });
});
