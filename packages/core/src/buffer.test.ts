/**
 * SessionBuffer's drain order: the sessions in the order they were first added since the last
 * drain, whatever came later. The sink writes a flush's INSERTs in this order, so the states that
 * waited longest become visible first (BENCHMARKS.md, freshness).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventFor, eventsArbitrary } from '../../../test/support/arbitraries.js';
import { SessionBuffer } from './buffer.js';
import type { SessionEvent } from './event.js';
import { addEvent, estimateStateBytes, sessionKey, stateOf, type SessionState } from './session.js';

/**
 * The buffer's specification: one Map keyed by sessionKey (team and session id), in insertion
 * order, each state folded with addEvent. Any rewrite of the buffer's keying (e.g. a map per team,
 * tried in BENCHMARKS.md) must drain the same states in the same order and report the same size,
 * bytes and events.
 */
class ReferenceBuffer {
  sessions = new Map<string, SessionState>();
  bytes = 0;
  events = 0;
  add(e: SessionEvent): void {
    const key = sessionKey(e.teamId, e.sessionId);
    const s = this.sessions.get(key);
    if (s === undefined) {
      const created = stateOf(e);
      this.sessions.set(key, created);
      this.bytes += estimateStateBytes(created);
    } else this.bytes += addEvent(s, e);
    this.events += 1;
  }
  drain(): SessionState[] {
    const out = [...this.sessions.values()];
    this.sessions = new Map();
    this.bytes = 0;
    this.events = 0;
    return out;
  }
}

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

  it('equals a buffer keyed by sessionKey: same states in the same order, size, bytes and events (teams sharing session ids, drains anywhere)', () => {
    fc.assert(
      fc.property(
        eventsArbitrary({ teams: [1, 2, 3], sessions: 4, uuids: 40, timeSlots: 8 }, 80),
        fc.array(fc.nat(), { maxLength: 4 }),
        (events, cuts) => {
          const drainAt = new Set(cuts.map((c) => c % (events.length + 1)));
          const b = new SessionBuffer();
          const r = new ReferenceBuffer();
          events.forEach((e, i) => {
            if (drainAt.has(i)) expect(b.drain()).toEqual(r.drain());
            b.add(e);
            r.add(e);
            expect([b.size, b.bytes, b.events]).toEqual([r.sessions.size, r.bytes, r.events]);
          });
          expect(b.drain()).toEqual(r.drain());
          expect([b.size, b.bytes, b.events]).toEqual([0, 0, 0]);
        },
      ),
      { numRuns: 300, seed: 20261202 },
    );
  });
});
