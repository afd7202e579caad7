/**
 * The step both input formats end in: from the fields of one message to a SessionEvent, or a
 * rejection with a reason. The session-id rules live here, once for both formats: $session_id
 * must be a UUIDv7, and the event must fall inside its window (session-window.ts).
 */
import type { z } from 'zod';
import { EXTRACTED_PROPERTIES } from '../catalog.js';
import { reject, type Normalized, type NormalizeWarning, type Rejected, type SessionEvent } from '../event.js';
import { DEFAULT_LIMITS, exceedsUtf8Bytes, truncate, wellFormed, type Limits } from '../limits.js';
import { MICROS_PER_MS } from '../time.js';
import { canonicalUuid, isUuidV7, uuidV7Millis } from '../uuid.js';
import { checkSessionWindow, type SessionWindowOptions } from './session-window.js';

export { SESSION_MAX_AGE_MICROS } from './session-window.js';

export interface NormalizeOptions extends SessionWindowOptions {
  readonly limits?: Limits;
  /** posthog-capture: project API token → team id, for messages without team_id. */
  readonly tokenTeams?: ReadonlyMap<string, number>;
  /**
   * Server-side sessions (SERVER_SESSIONS): true for the teams whose events without $session_id
   * are kept for the assignment stage (server-sessions/rule.ts) instead of excluded as no_session_id.
   */
  readonly serverSessions?: (teamId: number) => boolean;
}

export type Properties = Record<string, unknown>;

export interface CoreFields {
  readonly uuid: string;
  readonly event: string;
  readonly teamId: number;
  readonly distinctId: string;
  readonly timestamp: number;
  /** posthog-capture: the event's own timestamp on the client's clock, before skew correction. */
  readonly clientTimestamp?: number | undefined;
  /** posthog-events: the person's properties at ingestion (for `person_properties.email`). */
  readonly personProperties?: Properties | undefined;
}

/** First zod issue as `path: message`, short enough for a log line or a DLQ header. */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${prefix}invalid`;
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${prefix}${path}: ${issue.message}`;
}

export function parseJson(text: string, what: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, message: `${what} is not valid JSON: ${detail.slice(0, 200)}` };
  }
}

/** The size bound, then JSON.parse: the first two steps of both formats. */
export function parseMessage(text: string, options: NormalizeOptions): { ok: true; value: unknown } | Rejected {
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (exceedsUtf8Bytes(text, limits.maxMessageBytes)) {
    return reject('event_too_large', `message exceeds ${limits.maxMessageBytes} bytes`);
  }
  const parsed = parseJson(text, 'message');
  return parsed.ok ? parsed : reject('malformed_json', parsed.message);
}

/**
 * A value checked by the hand-written hot path, or else by the schema — the specification,
 * which also writes the rejection (`prefix` names where the value sits, e.g. 'data.').
 */
export function validate<T>(
  value: unknown,
  fast: (v: unknown) => T | undefined,
  schema: z.ZodType<T>,
  prefix = '',
): { ok: true; value: T } | Rejected {
  const checked = fast(value);
  if (checked !== undefined) return { ok: true, value: checked };
  const result = schema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : reject('schema_invalid', describeZodError(result.error, prefix));
}

export function isPlainObject(value: unknown): value is Properties {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toDistinctId(value: string | number): string {
  return typeof value === 'string' ? value : String(value);
}

/** A string property as kept: null when absent, empty or not a string; cut to `max`; well-formed. */
function stringProperty(properties: Properties, key: string, max: number, warnings: NormalizeWarning[]): string | null {
  const v = properties[key];
  if (typeof v !== 'string' || v === '') return null;
  if (v.length > max) {
    if (!warnings.includes('field_truncated')) warnings.push('field_truncated');
    const cut = truncate(v, max);
    return cut === '' ? null : wellFormed(cut);
  }
  return wellFormed(v);
}

/** The session id of an event kept for server-side sessions until the assignment stage gives it one. */
export const UNASSIGNED_SESSION_ID = '';

/** A client's $session_id, canonical, when it is a UUIDv7 and the event is inside its window. */
function clientSessionId(rawSessionId: unknown, core: CoreFields, options: NormalizeOptions): string | Rejected {
  if (typeof rawSessionId !== 'string') {
    return reject('session_id_not_uuidv7', `$session_id is a ${typeof rawSessionId}, not a UUIDv7 string`);
  }
  const sessionId = canonicalUuid(rawSessionId);
  if (sessionId === null || !isUuidV7(sessionId)) {
    return reject('session_id_not_uuidv7', `$session_id ${JSON.stringify(rawSessionId.slice(0, 64))} is not a UUIDv7`);
  }
  const outside = checkSessionWindow(
    sessionId,
    uuidV7Millis(sessionId) * MICROS_PER_MS,
    { server: core.timestamp, client: core.clientTimestamp },
    options,
  );
  return outside ?? sessionId;
}

export function finishEvent(core: CoreFields, properties: Properties, options: NormalizeOptions, warnings: NormalizeWarning[]): Normalized {
  const uuid = canonicalUuid(core.uuid);
  if (uuid === null) return reject('schema_invalid', `uuid: not a UUID (${JSON.stringify(core.uuid.slice(0, 64))})`);

  const rawSessionId = properties['$session_id'];
  let sessionId = UNASSIGNED_SESSION_ID;
  if (rawSessionId === undefined || rawSessionId === null || rawSessionId === '') {
    if (options.serverSessions?.(core.teamId) !== true) return reject('no_session_id', 'the event has no $session_id property');
  } else {
    const checked = clientSessionId(rawSessionId, core, options);
    if (typeof checked !== 'string') return checked;
    sessionId = checked;
  }

  const limits = options.limits ?? DEFAULT_LIMITS;
  let distinctId = wellFormed(core.distinctId);
  if (distinctId.length > limits.maxFieldLength) {
    distinctId = truncate(distinctId, limits.maxFieldLength);
    if (!warnings.includes('field_truncated')) warnings.push('field_truncated');
  }
  // the event name too: a 1 MiB name would otherwise be kept whole (found by npm run fuzz)
  let eventName = wellFormed(core.event);
  if (eventName.length > limits.maxFieldLength) {
    eventName = truncate(eventName, limits.maxFieldLength);
    if (!warnings.includes('field_truncated')) warnings.push('field_truncated');
  }
  const f = limits.maxFieldLength;
  const event: SessionEvent = {
    uuid,
    event: eventName,
    teamId: core.teamId,
    distinctId,
    sessionId,
    ...(sessionId === UNASSIGNED_SESSION_ID ? { sessionIdSource: 'server' as const } : {}),
    timestamp: core.timestamp,
    currentUrl: stringProperty(properties, '$current_url', limits.maxUrlLength, warnings),
    referringDomain: stringProperty(properties, '$referring_domain', f, warnings),
    utmSource: stringProperty(properties, 'utm_source', f, warnings),
    utmMedium: stringProperty(properties, 'utm_medium', f, warnings),
    utmCampaign: stringProperty(properties, 'utm_campaign', f, warnings),
    utmTerm: stringProperty(properties, 'utm_term', f, warnings),
    utmContent: stringProperty(properties, 'utm_content', f, warnings),
    gclid: stringProperty(properties, 'gclid', f, warnings),
    gadSource: stringProperty(properties, 'gad_source', f, warnings),
    fbclid: stringProperty(properties, 'fbclid', f, warnings),
    ...catalogProperties(core, properties, limits, warnings),
  };
  return { ok: true, event, warnings };
}

/** `$feature/<key>` properties kept per event, and their key and value lengths. */
const MAX_FLAGS = 200;

/**
 * The other properties the catalog reads (EXTRACTED_PROPERTIES), and nothing else: strings as
 * stringProperty keeps them, Int64 as safe integers (others are absent, as PostHog's
 * JSONExtract gives NULL), the email of the person (posthog-events: `person_properties.email`;
 * posthog-capture: `$set.email`), and the `$feature/<key>` flags.
 */
function catalogProperties(
  core: CoreFields,
  properties: Properties,
  limits: Limits,
  warnings: NormalizeWarning[],
): Pick<SessionEvent, 'props' | 'flags'> {
  const props: Record<string, string | number> = {};
  let any = false;
  for (const { property, type } of EXTRACTED_PROPERTIES) {
    if (type === 'Int64') {
      const v = properties[property];
      if (typeof v === 'number' && Number.isSafeInteger(v)) {
        props[property] = v;
        any = true;
      }
      continue;
    }
    const v = stringProperty(properties, property, type === 'url' ? limits.maxUrlLength : limits.maxFieldLength, warnings);
    if (v !== null) {
      props[property] = v;
      any = true;
    }
  }
  const set = properties['$set'];
  const person = core.personProperties ?? (isPlainObject(set) ? set : undefined);
  if (person !== undefined) {
    const email = stringProperty(person, 'email', limits.maxFieldLength, warnings);
    if (email !== null) {
      props['person_properties.email'] = email;
      any = true;
    }
  }
  let flags: [string, string][] | undefined;
  for (const key in properties) {
    if (!key.startsWith('$feature/') || key.length === 9) continue;
    const v = properties[key];
    const value = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : null;
    if (value === null || value === '') continue;
    flags ??= [];
    if (flags.length >= MAX_FLAGS) break;
    flags.push([wellFormed(truncate(key.slice(9), limits.maxFieldLength)), wellFormed(truncate(value, limits.maxFieldLength))]);
  }
  return { ...(any ? { props } : {}), ...(flags === undefined ? {} : { flags }) };
}
