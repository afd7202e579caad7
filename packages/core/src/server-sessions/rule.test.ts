import { describe, expect, it } from 'vitest';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import type { SessionEvent } from '../event.js';
import { isUuidV7, uuidV7Millis } from '../uuid.js';
import { ServerSessionAssigner } from './assigner.js';
import { deterministicUuidV7 } from './id.js';
import { assignServerSessionsOracle } from './oracle.js';
import { lateSessionId, openingSessionId, step } from './rule.js';

const ev = serverEvent;

function assignAll(events: SessionEvent[]): string[] {
  const a = new ServerSessionAssigner();
  return events.map((e) => a.assign(e).sessionId);
}

describe('server session ids', () => {
  it('are UUIDv7s with the given time, deterministic from the seed', () => {
    const id = deterministicUuidV7(1_764_579_600_123, 'x');
    expect(isUuidV7(id)).toBe(true);
    expect(uuidV7Millis(id)).toBe(1_764_579_600_123);
    expect(deterministicUuidV7(1_764_579_600_123, 'x')).toBe(id);
    expect(deterministicUuidV7(1_764_579_600_123, 'y')).not.toBe(id);
  });

  it('an opening id has the first event time and depends on team, distinct_id and the event', () => {
    const e = ev(1, 0.5);
    expect(uuidV7Millis(openingSessionId(e))).toBe(Math.floor(e.timestamp / 1000));
    expect(openingSessionId({ ...e, teamId: 2 })).not.toBe(openingSessionId(e));
    expect(openingSessionId({ ...e, distinctId: 'user-2' })).not.toBe(openingSessionId(e));
    expect(openingSessionId({ ...e, uuid: ev(2, 0).uuid })).not.toBe(openingSessionId(e));
  });

  it('refuses a time a UUIDv7 cannot hold', () => {
    expect(() => deterministicUuidV7(-1, 'x')).toThrow(RangeError);
  });
});

describe('the assignment rule', () => {
  it('in time order: a new session after more than 30 minutes idle, not at exactly 30', () => {
    const ids = assignAll([ev(1, 0), ev(2, 10), ev(3, 40), ev(4, 70.01), ev(5, 71)]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]); // 30 min exactly: the gap does not exceed idle
    expect(ids[3]).not.toBe(ids[2]);
    expect(ids[4]).toBe(ids[3]);
    expect(uuidV7Millis(ids[3] as string)).toBe(Math.floor(ev(4, 70.01).timestamp / 1000));
  });

  it('in time order: a new session 24 h after the start even without a pause', () => {
    const events = Array.from({ length: 24 * 4 + 2 }, (_, i) => ev(i, i * 15));
    const ids = assignAll(events);
    expect(new Set(ids.slice(0, 24 * 4)).size).toBe(1);
    expect(ids[24 * 4]).not.toBe(ids[0]); // at start + 24 h
    expect(ids[24 * 4 + 1]).toBe(ids[24 * 4]);
  });

  it('keys are (team_id, distinct_id)', () => {
    const ids = assignAll([ev(1, 0, 'a', 1), ev(2, 1, 'a', 2), ev(3, 2, 'b', 1), ev(4, 3, 'a', 1)]);
    expect(new Set(ids.slice(0, 3)).size).toBe(3);
    expect(ids[3]).toBe(ids[0]);
  });

  it('out of order within the session span or up to the grace before its start: joins', () => {
    const ids = assignAll([ev(1, 10), ev(2, 20), ev(3, 12), ev(4, 6)]);
    expect(new Set(ids).size).toBe(1);
  });

  it('earlier than the open session by more than the grace: the late session of its bucket, state unchanged', () => {
    const events = [ev(1, 60), ev(2, 50), ev(3, 52), ev(4, 61)];
    const ids = assignAll(events);
    expect(ids[1]).toBe(lateSessionId(events[1] as SessionEvent, 30 * 60_000));
    expect(ids[2]).toBe(ids[1]); // same 30-minute bucket
    expect(ids[3]).toBe(ids[0]);
    expect(uuidV7Millis(ids[1] as string)).toBeLessThanOrEqual(Math.floor((events[1] as SessionEvent).timestamp / 1000));
    expect(step(undefined, ev(9, 0)).rule).toBe('new');
  });

  it('the oracle agrees on these examples', () => {
    const events = [ev(1, 60), ev(2, 50), ev(3, 52), ev(4, 61), ev(5, 200), ev(6, 199), ev(7, 60 * 30)];
    expect(assignServerSessionsOracle(events)).toEqual(assignAll(events));
  });

  it('counts the rule each event met', () => {
    const a = new ServerSessionAssigner();
    for (const e of [ev(1, 60), ev(2, 50), ev(3, 61), ev(4, 200)]) a.assign(e);
    expect(a.counts).toEqual({ new: 2, join: 1, late: 1 });
  });
});
