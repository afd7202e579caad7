/**
 * The in-memory delta: session states since the last flush, keyed by (team_id, session_id).
 *
 * INVARIANT (bounded memory): the buffer only ever holds the delta since the last flush;
 * `drain()` hands everything to the sink and starts empty. Its size in sessions and estimated
 * bytes is what the flush policy bounds.
 */
import type { SessionEvent } from './event.js';
import { toSession, type DeriveOptions, type Session } from './derive.js';
import { addEvent, estimateStateBytes, factsOf, sessionKey, stateOf, type SessionState } from './session.js';

export class SessionBuffer {
  #sessions = new Map<string, SessionState>();
  #bytes = 0;
  #events = 0;

  /** Fold one event in. */
  add(event: SessionEvent): void {
    const key = sessionKey(event.teamId, event.sessionId);
    const state = this.#sessions.get(key);
    if (state === undefined) {
      const fresh = stateOf(event);
      this.#sessions.set(key, fresh);
      this.#bytes += estimateStateBytes(fresh);
    } else {
      const before = estimateStateBytes(state);
      addEvent(state, event);
      this.#bytes += estimateStateBytes(state) - before;
    }
    this.#events += 1;
  }

  /** Number of sessions buffered. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Estimated bytes of state buffered. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Events folded in since the last drain. */
  get events(): number {
    return this.#events;
  }

  /** Everything buffered, and an empty buffer. */
  drain(): SessionState[] {
    const out = [...this.#sessions.values()];
    this.#sessions = new Map();
    this.#bytes = 0;
    this.#events = 0;
    return out;
  }
}

/** The session row a single state would give on its own (tests and the replay summary). */
export function stateToSession(s: SessionState, options: DeriveOptions = {}): Session {
  return toSession(factsOf(s), options);
}
