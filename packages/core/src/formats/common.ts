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

/** A string property's value as kept: null when absent, empty or not a string; cut to `max`; well-formed. */
function keptString(v: unknown, max: number, warnings: NormalizeWarning[]): string | null {
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
  const read = readProperties(properties, limits);
  // One literal with every key (optional ones undefined when absent), so every event has one
  // shape: the aggregation's reads of its fields stay monomorphic.
  const event: SessionEvent = {
    uuid,
    event: eventName,
    teamId: core.teamId,
    distinctId,
    sessionId,
    sessionIdSource: sessionId === UNASSIGNED_SESSION_ID ? 'server' : undefined,
    timestamp: core.timestamp,
    currentUrl: keptString(read[0], limits.maxUrlLength, warnings),
    referringDomain: keptString(read[1], f, warnings),
    utmSource: keptString(read[2], f, warnings),
    utmMedium: keptString(read[3], f, warnings),
    utmCampaign: keptString(read[4], f, warnings),
    utmTerm: keptString(read[5], f, warnings),
    utmContent: keptString(read[6], f, warnings),
    gclid: keptString(read[7], f, warnings),
    gadSource: keptString(read[8], f, warnings),
    fbclid: keptString(read[9], f, warnings),
    props: catalogProps(core, limits, warnings),
    flags: read.flags,
  };
  return { ok: true, event, warnings };
}

/** `$feature/<key>` properties kept per event, and their key and value lengths. */
const MAX_FLAGS = 200;

/** The properties every event's own fields read, in the order of SessionEvent's fields (slots 0–9). */
const EVENT_FIELD_PROPERTIES = [
  '$current_url',
  '$referring_domain',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'gclid',
  'gad_source',
  'fbclid',
] as const;
const FIRST_EXTRACTED = EVENT_FIELD_PROPERTIES.length;
const END_EXTRACTED = FIRST_EXTRACTED + EXTRACTED_PROPERTIES.length;
/** posthog-capture: the person's properties set by this event (for the email). */
const SET_SLOT = END_EXTRACTED;
/**
 * Every property read by name: the event's fields, then EXTRACTED_PROPERTIES (their names, and
 * how each is kept), then `$set`.
 */
const SLOT_NAMES: readonly string[] = [...EVENT_FIELD_PROPERTIES, ...EXTRACTED_PROPERTIES.map((p) => p.property), '$set'];
const KIND_STRING = 0;
const KIND_URL = 1;
const KIND_INT = 2;
const SLOT_KINDS: readonly number[] = [
  ...EVENT_FIELD_PROPERTIES.map(() => KIND_STRING),
  ...EXTRACTED_PROPERTIES.map((p) => (p.type === 'Int64' ? KIND_INT : p.type === 'url' ? KIND_URL : KIND_STRING)),
  KIND_STRING,
];
const SLOT_OF: ReadonlyMap<string, number> = new Map(SLOT_NAMES.map((name, i) => [name, i]));
if (SLOT_OF.size !== SLOT_NAMES.length)
  throw new Error('catalog: a property is read twice (EXTRACTED_PROPERTIES overlaps the event fields or $set)');
const CHAR_DOLLAR = 36;
const FEATURE_PREFIX = '$feature/';

/**
 * The raw values of SLOT_NAMES of the event being normalised, and its flags: one array, reused
 * (normalisation is synchronous), cleared at the start of each event.
 */
const SCRATCH: unknown[] & { flags: [string, string][] | undefined } = Object.assign(
  SLOT_NAMES.map(() => undefined as unknown),
  { flags: undefined as [string, string][] | undefined },
);

/**
 * One pass over the event's properties: the value of each property read by name (SCRATCH, by
 * slot), and the `$feature/<key>` flags (string values, and booleans as 'true'/'false'; at most
 * MAX_FLAGS, in the properties' order). One `for…in` with a Map lookup per key costs a fraction
 * of 39 lookups by name in objects of ~40 keys whose shapes all differ (BENCHMARKS.md).
 */
function readProperties(properties: Properties, limits: Limits): typeof SCRATCH {
  const read = SCRATCH;
  for (let i = 0; i < read.length; i += 1) read[i] = undefined;
  let flags: [string, string][] | undefined;
  let flagsFull = false;
  for (const key in properties) {
    const slot = SLOT_OF.get(key);
    if (slot !== undefined) {
      read[slot] = properties[key];
      continue;
    }
    // most names do not start with '$', and of those most are not flags: one char code first
    if (flagsFull || key.charCodeAt(0) !== CHAR_DOLLAR || key.length <= FEATURE_PREFIX.length || !key.startsWith(FEATURE_PREFIX)) continue;
    const v = properties[key];
    const value = typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'true' : 'false') : null;
    if (value === null || value === '') continue;
    flags ??= [];
    if (flags.length >= MAX_FLAGS) {
      flagsFull = true;
      continue;
    }
    flags.push([
      wellFormed(truncate(key.slice(FEATURE_PREFIX.length), limits.maxFieldLength)),
      wellFormed(truncate(value, limits.maxFieldLength)),
    ]);
  }
  read.flags = flags;
  return read;
}

/**
 * The other properties the catalog reads (EXTRACTED_PROPERTIES, from SCRATCH), and nothing
 * else: strings as keptString keeps them, Int64 as safe integers (others are absent, as
 * PostHog's JSONExtract gives NULL), and the email of the person (posthog-events:
 * `person_properties.email`; posthog-capture: `$set.email`). Undefined when none is present.
 */
function catalogProps(core: CoreFields, limits: Limits, warnings: NormalizeWarning[]): Record<string, string | number> | undefined {
  const read = SCRATCH;
  let props: Record<string, string | number> | undefined;
  for (let i = FIRST_EXTRACTED; i < END_EXTRACTED; i += 1) {
    const v = read[i];
    if (v === undefined) continue;
    const kind = SLOT_KINDS[i];
    const kept =
      kind === KIND_INT
        ? typeof v === 'number' && Number.isSafeInteger(v)
          ? v
          : null
        : keptString(v, kind === KIND_URL ? limits.maxUrlLength : limits.maxFieldLength, warnings);
    if (kept !== null) (props ??= {})[SLOT_NAMES[i] as string] = kept;
  }
  const set = read[SET_SLOT];
  const person = core.personProperties ?? (isPlainObject(set) ? set : undefined);
  if (person !== undefined) {
    const email = keptString(person['email'], limits.maxFieldLength, warnings);
    if (email !== null) (props ??= {})['person_properties.email'] = email;
  }
  return props;
}
