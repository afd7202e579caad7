/**
 * Server-side sessions: THE assignment rule, written once (docs/sessions.md, "Server-side
 * sessions", says the same in prose; `oracle.ts` implements it again from the whole stream).
 *
 * Events without `$session_id` are grouped per (team_id, distinct_id) and taken in ARRIVAL
 * order (the order of their partition). The only state is the open session of the key:
 * `{ sessionId, start, last }` — its first event's time (the id's time) and the latest event
 * time assigned to it. For an event at time t (microseconds):
 *
 *   R1  no open session                          → open a new session at t
 *   R2  t > last + idle   or   t ≥ start + 24 h  → open a new session at t
 *   R3  t ≥ start − grace                        → join the open session (last = max(last, t))
 *   R4  otherwise (t < start − grace)            → LATE: the session of t's idle-long time
 *                                                  bucket; the open session is left unchanged
 *
 * Events of a key that arrive in time order only meet R1–R3 with t ≥ last: a new session after
 * a gap longer than idle or 24 h after the session's start, the obvious answer. An event that
 * arrives out of order joins the open session when it is no more than `grace` before its start
 * (anywhere inside the session's span included); an event earlier than that belongs to a
 * session that is already closed, which the state no longer holds: it is not lost, it goes to a
 * deterministic "late" session shared by the key's late events of the same bucket
 * (floor(t / idle)), whose id's time is the bucket's start. R4 needs no state, so it is the same
 * on every instance and after every restart.
 *
 * Session ids are UUIDv7s: R1/R2 use the opening event's time (ms) and a hash of
 * (team_id, distinct_id, opening event uuid, time); R4 the bucket start and a hash of
 * (team_id, distinct_id, bucket). Same events in the same order → same ids, anywhere.
 */
import type { SessionEvent } from '../event.js';
import { MICROS_PER_HOUR, MICROS_PER_MS } from '../time.js';
import { deterministicUuidV7 } from './id.js';

export const DEFAULT_SERVER_SESSION_IDLE_MS = 30 * 60_000;
/** How far before the open session's start an out-of-order event may still join it. */
export const DEFAULT_SERVER_SESSION_GRACE_MS = 5 * 60_000;
/** posthog-js's session length limit. */
export const SERVER_SESSION_MAX_MICROS = 24 * MICROS_PER_HOUR;

export interface ServerSessionOptions {
  readonly idleMs?: number;
  readonly graceMs?: number;
}

/** The state of one (team_id, distinct_id): its open session. */
export interface OpenSession {
  readonly sessionId: string;
  /** Microseconds: the opening event's time (the id's time, to the millisecond). */
  readonly start: number;
  /** Microseconds: the latest event time assigned to the session. */
  readonly last: number;
}

export type ServerSessionRule = 'new' | 'join' | 'late';

/** What an event needs for the rule. */
export type RuleEvent = Pick<SessionEvent, 'teamId' | 'distinctId' | 'uuid' | 'timestamp'>;

export interface Step {
  readonly sessionId: string;
  readonly rule: ServerSessionRule;
  /** The key's state after the event. */
  readonly next: OpenSession;
}

export function serverSessionKey(teamId: number, distinctId: string): string {
  return `${teamId}:${distinctId}`;
}

export function openingSessionId(e: RuleEvent): string {
  return deterministicUuidV7(
    Math.floor(e.timestamp / MICROS_PER_MS),
    `open\u0000${e.teamId}\u0000${e.distinctId}\u0000${e.uuid}\u0000${e.timestamp}`,
  );
}

export function lateSessionId(e: RuleEvent, idleMs: number): string {
  const bucket = Math.floor(e.timestamp / (idleMs * MICROS_PER_MS));
  return deterministicUuidV7(bucket * idleMs, `late\u0000${e.teamId}\u0000${e.distinctId}\u0000${bucket}`);
}

/** The rule: one event against its key's state. Pure. */
export function step(state: OpenSession | undefined, e: RuleEvent, options: ServerSessionOptions = {}): Step {
  const idle = (options.idleMs ?? DEFAULT_SERVER_SESSION_IDLE_MS) * MICROS_PER_MS;
  const grace = (options.graceMs ?? DEFAULT_SERVER_SESSION_GRACE_MS) * MICROS_PER_MS;
  const t = e.timestamp;
  if (state === undefined || t > state.last + idle || t >= state.start + SERVER_SESSION_MAX_MICROS) {
    const sessionId = openingSessionId(e);
    return { sessionId, rule: 'new', next: { sessionId, start: t, last: t } };
  }
  if (t >= state.start - grace) {
    return { sessionId: state.sessionId, rule: 'join', next: t > state.last ? { ...state, last: t } : state };
  }
  return { sessionId: lateSessionId(e, options.idleMs ?? DEFAULT_SERVER_SESSION_IDLE_MS), rule: 'late', next: state };
}
