/**
 * The algebra the whole pipeline depends on (DESIGN invariants 1 and 2), checked on random
 * sessions: merge is associative, commutative and idempotent; any shuffle, any split into
 * partial aggregates merged in any order, and any duplication of events gives exactly the
 * oracle's result; sessions of different teams with equal ids never mix.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventArbitrary, eventFor, eventsArbitrary } from '../../../test/support/arbitraries.js';
import { SessionBuffer, stateToSession } from './buffer.js';
import { compareSessions, type Session } from './derive.js';
import type { SessionEvent } from './event.js';
import { sessionize } from './oracle.js';
import { addEvent, estimateStateBytes, merge, mergeInto, sessionKey, stateOf, type SessionState } from './session.js';

const RUNS = { numRuns: 300, seed: 20261126 };

/** Everything a state holds, in a comparable form. */
function canonical(s: SessionState): unknown {
  return { ...s, counts: s.counts.map((set) => [...set].sort()), sets: s.sets.map((set) => [...set].sort()) };
}

/** One state of a single session from a non-empty list of its events. */
function fold(events: readonly SessionEvent[]): SessionState {
  const [first, ...rest] = events;
  if (first === undefined) throw new Error('empty');
  const s = stateOf(first);
  for (const e of rest) mergeInto(s, stateOf(e));
  return s;
}

/** Split `events` at the given cut points, aggregate each chunk in its own buffer (a "flush"). */
function partials(events: readonly SessionEvent[], cuts: readonly number[]): SessionState[] {
  const points = [...new Set(cuts.map((c) => c % (events.length + 1)))].sort((a, b) => a - b);
  const out: SessionState[] = [];
  let from = 0;
  for (const to of [...points, events.length]) {
    const buffer = new SessionBuffer();
    for (const e of events.slice(from, to)) buffer.add(e);
    out.push(...buffer.drain());
    from = to;
  }
  return out;
}

/** Merge partial states per session, in the given order, into final rows. */
function mergeAll(states: readonly SessionState[]): Session[] {
  const merged = new Map<string, SessionState>();
  for (const s of states) {
    const key = sessionKey(s.teamId, s.sessionId);
    const m = merged.get(key);
    if (m === undefined) merged.set(key, merge(s, s));
    else mergeInto(m, s);
  }
  return [...merged.values()].map((s) => stateToSession(s)).sort(compareSessions);
}

const singleSession = fc
  .array(eventArbitrary({ teams: [7], sessions: 1, uuids: 40, timeSlots: 6 }), { minLength: 1, maxLength: 25 })
  .map((es) => [...new Map(es.map((e) => [e.uuid, e])).values()]);

describe('merge', () => {
  it('is commutative', () => {
    fc.assert(
      fc.property(singleSession, singleSession, (a, b) => {
        expect(canonical(merge(fold(a), fold(b)))).toEqual(canonical(merge(fold(b), fold(a))));
      }),
      RUNS,
    );
  });

  it('is associative', () => {
    fc.assert(
      fc.property(singleSession, singleSession, singleSession, (a, b, c) => {
        const [x, y, z] = [fold(a), fold(b), fold(c)];
        expect(canonical(merge(merge(x, y), z))).toEqual(canonical(merge(x, merge(y, z))));
      }),
      RUNS,
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(singleSession, (a) => {
        const x = fold(a);
        expect(canonical(merge(x, x))).toEqual(canonical(x));
      }),
      RUNS,
    );
  });

  it('equals folding the union of the events (a partial is a homomorphism)', () => {
    fc.assert(
      fc.property(singleSession, singleSession, (a, b) => {
        expect(canonical(merge(fold(a), fold(b)))).toEqual(canonical(fold([...a, ...b])));
      }),
      RUNS,
    );
  });

  it('refuses states of different sessions', () => {
    fc.assert(
      fc.property(singleSession, (a) => {
        const x = fold(a);
        const other = { ...x, teamId: x.teamId + 1 };
        expect(() => merge(x, other)).toThrow(/mergeInto/);
      }),
      { numRuns: 5 },
    );
  });
});

describe('streaming aggregation equals the oracle', () => {
  it('for any shuffle, split into partial flushes, merge order and duplication', () => {
    fc.assert(
      fc.property(
        eventsArbitrary(),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.nat(),
        (events, cuts, dupPicks, orderSeed) => {
          const expected = sessionize(events);
          // duplicate some events (upstream retries, replays after a crash)
          const dups = events.length === 0 ? [] : dupPicks.map((i) => events[i % events.length] as SessionEvent);
          const stream = fc.sample(fc.shuffledSubarray([...events, ...dups], { minLength: events.length + dups.length }), {
            seed: orderSeed,
            numRuns: 1,
          })[0] as SessionEvent[];
          const parts = partials(stream, cuts);
          // merge partials in a shuffled order as well
          const order = fc.sample(fc.shuffledSubarray(parts, { minLength: parts.length }), { seed: orderSeed + 1, numRuns: 1 })[0] ?? [];
          expect(mergeAll(order)).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it('never mixes teams that share a session id', () => {
    fc.assert(
      fc.property(eventsArbitrary({ teams: [1, 2], sessions: 1, uuids: 30, timeSlots: 5 }), (events) => {
        const sessions = sessionize(events);
        const teams = new Set(events.map((e) => e.teamId));
        expect(sessions.map((s) => s.team_id)).toEqual([...teams].sort((a, b) => a - b));
        for (const s of sessions) {
          const own = events.filter((e) => e.teamId === s.team_id);
          expect(s.pageview_count).toBe(new Set(own.filter((e) => e.event === '$pageview').map((e) => e.uuid)).size);
          expect(mergeAll(partials(own, [3]))).toEqual([s]);
        }
      }),
      RUNS,
    );
  });

  it('buffer folding equals the oracle even without splits (sanity of the hot path)', () => {
    fc.assert(
      fc.property(eventsArbitrary(), (events) => {
        const buffer = new SessionBuffer();
        for (const e of events) buffer.add(e);
        expect(buffer.events).toBe(events.length);
        expect(
          buffer
            .drain()
            .map((s) => stateToSession(s))
            .sort(compareSessions),
        ).toEqual(sessionize(events));
        expect(buffer.size).toBe(0);
        expect(buffer.bytes).toBe(0);
      }),
      RUNS,
    );
  });
});

/**
 * The buffer folds events with addEvent, which keeps its own count of the state's estimated bytes
 * (its return value) instead of recounting the state per event: both must stay what
 * `mergeInto(state, stateOf(e))` and `estimateStateBytes` give.
 */
describe("addEvent (the hot path) equals merging the event's own state", () => {
  /** Folds the events one by one both ways; checks state and estimate after each. */
  function check(events: readonly SessionEvent[]): void {
    const [first, ...rest] = events;
    if (first === undefined) return;
    const folded = stateOf(first);
    const merged = stateOf(first);
    let bytes = estimateStateBytes(folded);
    for (const e of rest) {
      bytes += addEvent(folded, e);
      mergeInto(merged, stateOf(e));
      expect(canonical(folded)).toEqual(canonical(merged));
      expect(bytes).toBe(estimateStateBytes(folded));
    }
  }

  it('for any events of one session, duplicates included', () => {
    const withDuplicates = fc.array(eventArbitrary({ teams: [7], sessions: 1, uuids: 40, timeSlots: 6 }), { minLength: 1, maxLength: 40 });
    fc.assert(fc.property(withDuplicates, check), RUNS);
  });

  it('past the small-array size and past a set cap (emails: 10, trimmed beyond 20)', () => {
    // 60 events of one session with distinct emails, hosts and event uuids, in a shuffled time order
    const events = Array.from({ length: 60 }, (_, i) => {
      const e = eventFor(7, 0, i, { teams: [7], sessions: 1, uuids: 60, timeSlots: 40 });
      return { ...e, props: { ...e.props, 'person_properties.email': `u${(i * 37) % 60}@example.com`, $host: `h${i}.example` } };
    });
    check(events);
    check([...events].reverse());
    const state = stateOf(events[0] as SessionEvent);
    for (const e of events.slice(1)) addEvent(state, e);
    expect(stateToSession(state).emails).toEqual(sessionize(events)[0]?.emails);
  });

  it("the buffer's bytes are the estimate of the states it holds", () => {
    fc.assert(
      fc.property(eventsArbitrary(), fc.array(fc.nat(), { maxLength: 20 }), (events, dupPicks) => {
        const dups = events.length === 0 ? [] : dupPicks.map((i) => events[i % events.length] as SessionEvent);
        const buffer = new SessionBuffer();
        for (const e of [...events, ...dups]) buffer.add(e);
        const bytes = buffer.bytes;
        expect(bytes).toBe(buffer.drain().reduce((n, s) => n + estimateStateBytes(s), 0));
      }),
      RUNS,
    );
  });
});
