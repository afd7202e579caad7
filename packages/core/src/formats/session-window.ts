/**
 * The session-id window: does an event belong to the session its $session_id names?
 *
 * The seed's contract is `uuid_ms <= t < uuid_ms + 24h`. Real clients break the lower bound
 * innocently, so each bound is judged on the clock that makes it meaningful (docs/sessions.md,
 * "Valid session id", has the evidence behind both defaults):
 *
 *   client clock — posthog-capture messages that carry the event's own `timestamp` (before
 *   skew correction). The SDK mints the id on that clock, so only its own ordering is left:
 *   posthog-js stamps an event before it mints the id of the session the event starts (tens
 *   of ms), and accepts a bootstrapped id up to 60 s ahead of its clock. Default 60 s:
 *       uuid_ms - clientTolerance <= timestamp < uuid_ms + 24h
 *   server clock — posthog-events, and capture messages without a client timestamp. t is on
 *   the server's clock, the id on the client's: the gap holds the client's whole clock error,
 *   minutes to hours. Default 24 h, the same span as the upper bound:
 *       uuid_ms - tolerance <= t < uuid_ms + 24h
 *
 * A capture message is in the future of its id only when it is on both clocks: the id may have
 * been minted by the sender (browsers and apps, the usual case) or by another client (a backend
 * SDK forwarding the browser's $session_id, as PostHog documents), and the message does not say
 * which. The upper bound is posthog-js's 24 h session limit, kept on the sender's clock.
 * PostHog itself checks only the version nibble (docs/sessions.md).
 */
import { reject, type Rejected } from '../event.js';
import { MICROS_PER_HOUR, MICROS_PER_MS } from '../time.js';

export const SESSION_MAX_AGE_MICROS = 24 * MICROS_PER_HOUR;

/** Server clock: how far an event may precede its session id's time (the client's clock error). */
export const DEFAULT_SESSION_ID_TOLERANCE_MS = 24 * 3_600_000;
/** Client clock: how far an event's own timestamp may precede its session id's time (SDK ordering). */
export const DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS = 60_000;

export interface SessionWindowOptions {
  /** Milliseconds by which an event's server-clock time may precede its session id's time. */
  readonly sessionIdToleranceMs?: number;
  /** Milliseconds by which an event's client-clock timestamp may precede its session id's time. */
  readonly sessionIdClientToleranceMs?: number;
}

/** An event's time on the server's clock, and (posthog-capture) its own timestamp on the client's. */
export interface EventClocks {
  readonly server: number;
  readonly client?: number | undefined;
}

/** `0.000001 s`, `3 min 0.041 s`, `26 h 0 min 0 s`: a difference of microseconds, for a message. */
function span(micros: number): string {
  const h = Math.floor(micros / MICROS_PER_HOUR);
  const m = Math.floor((micros % MICROS_PER_HOUR) / 60_000_000);
  const s = (micros % 60_000_000) / 1_000_000;
  if (h > 0) return `${h} h ${m} min ${s} s`;
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** undefined when the event is inside its session's window; else the exclusion with its reason. */
export function checkSessionWindow(
  sessionId: string,
  sessionMicros: number,
  clocks: EventClocks,
  options: SessionWindowOptions,
): Rejected | undefined {
  const own = clocks.client ?? clocks.server;
  if (own >= sessionMicros + SESSION_MAX_AGE_MICROS) {
    const clock = clocks.client === undefined ? 'server clock' : 'client clock';
    return reject(
      'session_id_expired',
      `$session_id ${sessionId} is ${span(own - sessionMicros)} older than the event (${clock}; limit 24 h)`,
    );
  }
  const serverTolerance = (options.sessionIdToleranceMs ?? DEFAULT_SESSION_ID_TOLERANCE_MS) * MICROS_PER_MS;
  if (clocks.server >= sessionMicros - serverTolerance) return undefined;
  const onServer = `${span(sessionMicros - clocks.server)} after the event's server-clock time (tolerance ${span(serverTolerance)})`;
  if (clocks.client === undefined) return reject('session_id_in_future', `$session_id ${sessionId} starts ${onServer}`);
  const clientTolerance = (options.sessionIdClientToleranceMs ?? DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS) * MICROS_PER_MS;
  if (clocks.client >= sessionMicros - clientTolerance) return undefined;
  return reject(
    'session_id_in_future',
    `$session_id ${sessionId} starts ${span(sessionMicros - clocks.client)} after the event's own timestamp (tolerance ${span(clientTolerance)}) and ${onServer}`,
  );
}
