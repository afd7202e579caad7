/** Events without a client session (sessionId ''), for the server-side session tests. */
import type { SessionEvent } from '@sessionizer/core';

export const MICROS_PER_MINUTE = 60_000_000;
export const SERVER_T0 = Date.UTC(2026, 11, 1, 9, 0, 0) * 1000;

/** Event number `n` (its uuid) of a key, `minutes` after SERVER_T0. */
export function serverEvent(n: number, minutes: number, distinctId = 'user-1', teamId = 1): SessionEvent {
  return {
    uuid: `0f0e0d0c-0b0a-4000-9000-${n.toString(16).padStart(12, '0')}`,
    event: 'order_paid',
    teamId,
    distinctId,
    sessionId: '',
    timestamp: SERVER_T0 + Math.round(minutes * MICROS_PER_MINUTE),
    currentUrl: null,
    referringDomain: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    gclid: null,
    gadSource: null,
    fbclid: null,
  };
}
