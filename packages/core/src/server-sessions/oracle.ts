/**
 * The reference answer for server-side sessions, from the whole stream at once: the events of
 * one source partition in arrival order → the session id of each. It implements the rule of
 * rule.ts again, as a statement about each key's sequence rather than a state machine fed event
 * by event: shares nothing with rule.ts and assigner.ts but the id derivations.
 */
import type { SessionEvent } from '../event.js';
import { MICROS_PER_MS } from '../time.js';
import {
  DEFAULT_SERVER_SESSION_GRACE_MS,
  DEFAULT_SERVER_SESSION_IDLE_MS,
  SERVER_SESSION_MAX_MICROS,
  lateSessionId,
  openingSessionId,
  type ServerSessionOptions,
} from './rule.js';

type OracleEvent = Pick<SessionEvent, 'teamId' | 'distinctId' | 'uuid' | 'timestamp'>;

/** `result[i]` is the session id of `arrivals[i]`. */
export function assignServerSessionsOracle(arrivals: readonly OracleEvent[], options: ServerSessionOptions = {}): string[] {
  const idle = (options.idleMs ?? DEFAULT_SERVER_SESSION_IDLE_MS) * MICROS_PER_MS;
  const grace = (options.graceMs ?? DEFAULT_SERVER_SESSION_GRACE_MS) * MICROS_PER_MS;
  const byKey = new Map<string, number[]>();
  arrivals.forEach((e, i) => {
    const key = JSON.stringify([e.teamId, e.distinctId]);
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [i]);
    else list.push(i);
  });
  const result = new Array<string>(arrivals.length);
  for (const indices of byKey.values()) {
    // The open session at an event is opened by the latest earlier "opener"; it spans from the
    // opener's time to the greatest time among the events that joined it so far.
    let opener: OracleEvent | undefined;
    let members: number[] = [];
    for (const i of indices) {
      const e = arrivals[i] as OracleEvent;
      const latest = members.reduce((max, j) => Math.max(max, (arrivals[j] as OracleEvent).timestamp), -Infinity);
      const opens = opener === undefined || e.timestamp - latest > idle || e.timestamp - opener.timestamp >= SERVER_SESSION_MAX_MICROS;
      if (opens) {
        opener = e;
        members = [i];
        result[i] = openingSessionId(e);
      } else if (opener !== undefined && opener.timestamp - e.timestamp <= grace) {
        members.push(i);
        result[i] = result[members[0] as number] as string;
      } else {
        result[i] = lateSessionId(e, options.idleMs ?? DEFAULT_SERVER_SESSION_IDLE_MS);
      }
    }
  }
  return result;
}
