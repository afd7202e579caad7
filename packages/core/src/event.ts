/**
 * A normalised event: everything the session model needs from one input message, and nothing
 * else. Attribution strings are null when absent, empty or not a string (PostHog reads them
 * with JSONExtractString, which yields '' for non-strings).
 */
export interface SessionEvent {
  /** Canonical lowercase UUID of the event: the identity that makes duplicates harmless. */
  readonly uuid: string;
  readonly event: string;
  readonly teamId: number;
  readonly distinctId: string;
  /** Canonical lowercase UUIDv7. */
  readonly sessionId: string;
  /** Microseconds since the epoch, UTC. */
  readonly timestamp: number;
  readonly currentUrl: string | null;
  readonly referringDomain: string | null;
  readonly utmSource: string | null;
  readonly utmMedium: string | null;
  readonly utmCampaign: string | null;
  readonly utmTerm: string | null;
  readonly utmContent: string | null;
  readonly gclid: string | null;
  readonly gadSource: string | null;
  readonly fbclid: string | null;
  /**
   * The other event properties the catalog reads (catalog.ts, EXTRACTED_PROPERTIES), by their
   * PostHog name, only when present with the right type (`person_properties.email` included).
   */
  readonly props?: Readonly<Record<string, string | number>>;
  /** `$feature/<key>` properties as [key, value]; booleans as 'true'/'false'. */
  readonly flags?: readonly (readonly [string, string])[];
  /**
   * 'client' (the SDK's $session_id; the default, also when absent) or 'server': the id was
   * assigned by server-side sessions (server-sessions/rule.ts). The catalog's session_id_source.
   */
  readonly sessionIdSource?: 'client' | 'server';
}

export const INPUT_FORMATS = ['posthog-events', 'posthog-capture'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** Messages that are broken: dead-lettered (or counted, when no DLQ is configured). */
export const INVALID_REASONS = ['malformed_json', 'schema_invalid', 'timestamp_invalid', 'event_too_large', 'unknown_token'] as const;

/** Well-formed events that the session rules exclude: counted by reason, not dead-lettered. */
export const EXCLUDED_REASONS = ['no_session_id', 'session_id_not_uuidv7', 'session_id_in_future', 'session_id_expired'] as const;

export type InvalidReason = (typeof INVALID_REASONS)[number];
export type ExcludedReason = (typeof EXCLUDED_REASONS)[number];
export type RejectReason = InvalidReason | ExcludedReason;

export const REJECT_REASONS: readonly RejectReason[] = [...INVALID_REASONS, ...EXCLUDED_REASONS];

export const WARNINGS = ['timestamp_in_future_clamped', 'sent_at_invalid_ignored', 'field_truncated'] as const;
export type NormalizeWarning = (typeof WARNINGS)[number];

export interface Accepted {
  readonly ok: true;
  readonly event: SessionEvent;
  readonly warnings: readonly NormalizeWarning[];
}

export interface Rejected {
  readonly ok: false;
  readonly reason: RejectReason;
  /** `dlq` for broken input, `drop` for events excluded by a session rule. */
  readonly action: 'dlq' | 'drop';
  /** A human-readable explanation; never contains the whole payload. */
  readonly message: string;
}

export type Normalized = Accepted | Rejected;

const EXCLUDED = new Set<string>(EXCLUDED_REASONS);

export function reject(reason: RejectReason, message: string): Rejected {
  return { ok: false, reason, action: EXCLUDED.has(reason) ? 'drop' : 'dlq', message };
}

export function isPageLike(event: string): boolean {
  return event === '$pageview' || event === '$screen';
}
