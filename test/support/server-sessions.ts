/** Events without a client session (sessionId ''), for the server-side session tests. */
import { type SessionEvent } from '@sessionizer/core';
import { assignServerSessionsOracle } from '@sessionizer/core/testing';
import { Rng } from '@sessionizer/generator';
import { blankEvent } from './events.js';

export const MICROS_PER_MINUTE = 60_000_000;
const SERVER_T0 = Date.UTC(2026, 11, 1, 9, 0, 0) * 1000;

/** Event number `n` (its uuid) of a key, `minutes` after SERVER_T0. */
export function serverEvent(n: number, minutes: number, distinctId = 'user-1', teamId = 1): SessionEvent {
  return blankEvent({
    uuid: `0f0e0d0c-0b0a-4000-9000-${n.toString(16).padStart(12, '0')}`,
    event: 'order_paid',
    teamId,
    distinctId,
    timestamp: SERVER_T0 + Math.round(minutes * MICROS_PER_MINUTE),
  });
}

/**
 * Backend-style traffic without $session_id, in arrival order: `keys` distinct_ids over teams 1
 * and 2, each with `perKey` events — mostly minutes apart, sometimes hours (new sessions), a few
 * swapped with their neighbour (out of order within the grace) and a few hours late (rule R4).
 * Events of different keys interleave; uuids are unique.
 */
export function serverTraffic(seed: number, keys: number, perKey: number): SessionEvent[] {
  const rng = new Rng(seed);
  const random = (): number => rng.next();
  const perKeyEvents: SessionEvent[][] = [];
  let n = 0;
  for (let k = 0; k < keys; k += 1) {
    const list: SessionEvent[] = [];
    let minutes = Math.floor(random() * 600);
    for (let i = 0; i < perKey; i += 1) {
      const r = random();
      minutes += r < 0.8 ? 1 + Math.floor(random() * 10) : r < 0.95 ? 31 + Math.floor(random() * 300) : 0;
      const late = random() < 0.03;
      list.push(
        serverEvent(
          1_000_000 + n++,
          late ? Math.max(0, minutes - 120 - Math.floor(random() * 60)) : minutes,
          `backend-user-${k}`,
          1 + (k % 2),
        ),
      );
    }
    for (let i = 1; i < list.length; i += 1) {
      if (random() < 0.1) [list[i - 1], list[i]] = [list[i] as SessionEvent, list[i - 1] as SessionEvent];
    }
    perKeyEvents.push(list);
  }
  // interleave the keys' sequences, keeping each one's order
  const out: SessionEvent[] = [];
  const cursors = perKeyEvents.map(() => 0);
  while (out.length < keys * perKey) {
    const k = Math.floor(random() * keys);
    const list = perKeyEvents[k] as SessionEvent[];
    const c = cursors[k] as number;
    if (c < list.length) {
      out.push(list[c] as SessionEvent);
      cursors[k] = c + 1;
    }
  }
  return out;
}

/** The events with the oracle's server-side sessions, per partition (each in arrival order). */
export function withOracleSessions(partitions: readonly (readonly SessionEvent[])[], idleMs?: number): SessionEvent[] {
  return partitions.flatMap((events) => {
    const ids = assignServerSessionsOracle(events, idleMs === undefined ? {} : { idleMs });
    return events.map((e, i) => ({ ...e, sessionId: ids[i] as string, sessionIdSource: 'server' as const }));
  });
}
