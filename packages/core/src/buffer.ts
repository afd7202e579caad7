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

/** A buffered state. */
interface Entry {
  readonly state: SessionState;
}

export class SessionBuffer {
  #sessions = new Map<string, Entry>();
  #bytes = 0;
  #events = 0;

  /** Fold one event in. */
  add(event: SessionEvent): void {
    const key = sessionKey(event.teamId, event.sessionId);
    const entry = this.#sessions.get(key);
    if (entry === undefined) {
      const state = stateOf(event);
      this.#sessions.set(key, { state });
      this.#bytes += estimateStateBytes(state);
    } else {
      // addEvent returns the change of the state's estimate: no recount of its slots per event
      this.#bytes += addEvent(entry.state, event);
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

  /**
   * Everything buffered, and an empty buffer. In the order the sessions were first added since the
   * last drain (a Map's order): the sink writes them in this order, so the states that waited
   * longest are written first.
   */
  drain(): SessionState[] {
    const out = Array.from(this.#sessions.values(), (e) => e.state);
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
