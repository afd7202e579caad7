/**
 * The filter of stored keys (key-filter.ts): never a false negative, few false positives; and
 * the assigner that uses it (`useStoredKeys`) still makes exactly the oracle's assignments under
 * any split, flush, failed commit, eviction, crash and filter rebuild, while skipping the reads
 * of keys the store cannot have.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import type { SessionEvent } from '../event.js';
import { ServerSessionAssigner, type KeyRef, type StateChange } from './assigner.js';
import { KeyFilter } from './key-filter.js';
import { assignServerSessionsOracle } from './oracle.js';
import { serverSessionKey, type ServerSessionOptions } from './rule.js';

describe('KeyFilter', () => {
  it('holds every key added (no false negatives) and few others at capacity', () => {
    const filter = new KeyFilter(20_000);
    for (let i = 0; i < 20_000; i++) filter.add(serverSessionKey(1 + (i % 3), `0f0e0d0c-0b0a-4000-9000-${String(i).padStart(12, '0')}`));
    for (let i = 0; i < 20_000; i++) {
      expect(filter.has(serverSessionKey(1 + (i % 3), `0f0e0d0c-0b0a-4000-9000-${String(i).padStart(12, '0')}`))).toBe(true);
    }
    let positives = 0;
    for (let i = 0; i < 20_000; i++) if (filter.has(serverSessionKey(1, `other-${i}`))) positives += 1;
    // ~1% by construction (9.6 bits and 7 probes per key); deterministic: the hash is fixed
    expect(positives / 20_000).toBeLessThan(0.03);
    expect(filter.full).toBe(false);
    filter.add('1:one-more');
    expect(filter.full).toBe(true);
  });

  it('an empty filter holds nothing', () => {
    const filter = new KeyFilter(1_000);
    expect(['1:a', '2:b', '1:', ''].map((k) => filter.has(k))).toEqual([false, false, false, false]);
  });

  it('bad capacities become the minimum (1,024 keys)', () => {
    for (const capacity of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 0.5]) {
      const filter = new KeyFilter(capacity);
      expect(filter.capacity, String(capacity)).toBe(1_024);
      expect(filter.bytes).toBe(Math.ceil((1_024 * 9.6) / 32) * 4);
      filter.add('1:a');
      expect(filter.has('1:a')).toBe(true);
    }
  });

  it('property: every added key is held, whatever the keys', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 300 }), fc.integer({ min: 0, max: 5_000 }), (keys, capacity) => {
        const filter = new KeyFilter(capacity);
        for (const k of keys) filter.add(k);
        for (const k of keys) expect(filter.has(k)).toBe(true);
        expect(filter.added).toBe(keys.length);
      }),
      { numRuns: 200, seed: 20261202 },
    );
  });
});

describe('the assigner with a filter of stored keys', () => {
  const OPTIONS: ServerSessionOptions = { idleMs: 10 * 60_000, graceMs: 3 * 60_000 };
  const event = (i: number, teamId: number, distinctId: string, minutes: number): SessionEvent =>
    serverEvent(i, minutes, distinctId, teamId);

  it('missing() leaves out keys the filter does not hold; evicted keys are added to it', () => {
    const a = new ServerSessionAssigner(OPTIONS);
    const stored = new KeyFilter(1_000);
    stored.add(serverSessionKey(1, 'old'));
    a.useStoredKeys(stored);
    const keys: KeyRef[] = [
      { teamId: 1, distinctId: 'old' },
      { teamId: 1, distinctId: 'new' },
      { teamId: 2, distinctId: 'old' },
    ];
    expect(a.missing(keys)).toEqual([{ teamId: 1, distinctId: 'old' }]);
    a.assign(event(1, 1, 'new', 0));
    const { flush } = a.takeChanges();
    a.confirm(flush);
    expect(a.evict(0)).toBe(1);
    // 'new' left memory once written: the store has it, so it is read again
    expect(a.missing(keys)).toEqual([
      { teamId: 1, distinctId: 'old' },
      { teamId: 1, distinctId: 'new' },
    ]);
  });

  it('keys evicted while a new filter is built are in the new filter', () => {
    const a = new ServerSessionAssigner(OPTIONS);
    a.assign(event(1, 1, 'x', 0));
    a.assign(event(2, 1, 'y', 0));
    const { flush } = a.takeChanges();
    a.beginStoredKeys();
    // the store is read now (its snapshot may predate the write of x and y) ...
    const built = new KeyFilter(1_000);
    // ... and meanwhile the flush that wrote x and y completes: they leave memory
    a.confirm(flush);
    expect(a.evict(0)).toBe(2);
    a.useStoredKeys(built);
    expect(a.storedKeys).toBe(built);
    expect(
      a.missing([
        { teamId: 1, distinctId: 'x' },
        { teamId: 1, distinctId: 'y' },
        { teamId: 1, distinctId: 'z' },
      ]),
    ).toEqual([
      { teamId: 1, distinctId: 'x' },
      { teamId: 1, distinctId: 'y' },
    ]);
  });

  interface Row extends StateChange {
    readonly version: number;
  }

  const streamArb = fc
    .array(
      fc.record({
        teamId: fc.constantFrom(1, 2),
        distinctId: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        minutes: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 3 * 24 * 60 })),
      }),
      { minLength: 1, maxLength: 60 },
    )
    .map((rows) => rows.map((r, i) => event(i, r.teamId, r.distinctId, r.minutes)));

  const planArb = fc.record({
    batchSizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
    flushAfter: fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
    commitOk: fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
    crashAt: fc.array(fc.boolean(), { maxLength: 30 }),
    maxKeys: fc.integer({ min: 0, max: 6 }),
    // a capacity below the minimum becomes 1,024: `full` is forced by adding padding keys
    fullAfterBuild: fc.array(fc.boolean(), { maxLength: 30 }),
  });

  it('property: every assignment equals the oracle, and keys never stored are never read', () => {
    fc.assert(
      fc.property(streamArb, planArb, (events, plan) => {
        const expected = assignServerSessionsOracle(events, OPTIONS);
        const rows: Row[] = [];
        let committed = 0;
        let position = 0;
        let assigner = new ServerSessionAssigner(OPTIONS);
        let padded = false;
        for (let round = 0; position < events.length; round++) {
          // as the stage: a new assigner (or a full filter) reads which keys the store has
          if (assigner.storedKeys === undefined || assigner.storedKeys.full) {
            assigner.beginStoredKeys();
            const filter = new KeyFilter(0);
            for (const r of rows) filter.add(serverSessionKey(r.teamId, r.distinctId));
            padded = plan.fullAfterBuild[round] === true;
            if (padded) for (let i = 0; filter.added <= filter.capacity; i++) filter.add(`pad:${i}`);
            assigner.useStoredKeys(filter);
          }
          const size = plan.batchSizes[round % plan.batchSizes.length] as number;
          const batch = events.slice(position, position + size);
          const missing = assigner.missing(batch);
          for (const k of padded ? [] : missing) {
            // a key read is a key the store has (a false positive is possible only in a padded filter)
            expect(rows.some((r) => r.teamId === k.teamId && r.distinctId === k.distinctId)).toBe(true);
          }
          const wanted = new Set(missing.map((k) => serverSessionKey(k.teamId, k.distinctId)));
          const best = new Map<string, Row>();
          for (const r of rows) {
            const key = serverSessionKey(r.teamId, r.distinctId);
            if (!wanted.has(key) || r.version > committed) continue;
            const b = best.get(key);
            if (b === undefined || r.version >= b.version) best.set(key, r);
          }
          assigner.load(best.values());
          batch.forEach((e, j) => {
            expect(assigner.assign(e).sessionId).toBe(expected[position + j]);
          });
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
      }),
      { numRuns: 400, seed: 20261202 },
    );
  });
});
