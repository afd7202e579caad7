/**
 * `posthog-capture`: the raw message capture writes to Kafka. The client's event is the JSON
 * string `data` (event, properties, timestamp, offset); the server adds `now`, `sent_at`, `ip`,
 * `token` and sometimes `team_id`. The event time follows PostHog's clock-skew rule:
 *
 *   timestamp and sent_at (unless properties.$ignore_sent_at): t = now + (timestamp - sent_at)
 *   else offset:                                              t = now - offset
 *   else timestamp:                                           t = timestamp
 *   else:                                                     t = now
 *   and a t more than 23h after now becomes now (warning timestamp_in_future_clamped).
 *
 * The session-id window is judged on `timestamp` as the client sent it, where there is one: the
 * session id was minted on the same clock (session-window.ts).
 */
import { z } from 'zod';
import { reject, type Normalized, type NormalizeWarning } from '../event.js';
import { MICROS_PER_HOUR, MICROS_PER_MS, parseTimestamp } from '../time.js';
import {
  finishEvent,
  isPlainObject,
  parseJson,
  parseMessage,
  toDistinctId,
  validate,
  type NormalizeOptions,
  type Properties,
} from './common.js';

export const FUTURE_CUTOFF_MICROS = 23 * MICROS_PER_HOUR;

export const CaptureMessageSchema = z.object({
  uuid: z.string(),
  distinct_id: z.union([z.string(), z.number()]),
  now: z.string(),
  sent_at: z.string().nullish(),
  token: z.string().nullish(),
  team_id: z.number().int().positive().nullish(),
  data: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

export const CaptureDataSchema = z.object({
  event: z.string().min(1),
  properties: z.record(z.string(), z.unknown()).nullish(),
  timestamp: z.string().nullish(),
  offset: z.number().nullish(),
  /** Person properties set by this event (posthog-js: `$identify`), read for the person's email. */
  $set: z.unknown().optional(),
});

type CaptureMessage = z.output<typeof CaptureMessageSchema>;
type CaptureData = z.output<typeof CaptureDataSchema>;

const optionalString = (v: unknown): v is string | null | undefined => v === undefined || v === null || typeof v === 'string';

/** Hot path for the envelope; undefined sends the message through the schema (see posthog-events.ts). */
export function fastCaptureMessage(value: unknown): CaptureMessage | undefined {
  if (!isPlainObject(value)) return undefined;
  const { uuid, distinct_id: distinctId, now, sent_at: sentAt, token, team_id: teamId, data } = value;
  if (typeof uuid !== 'string' || typeof now !== 'string') return undefined;
  if (typeof distinctId !== 'string' && (typeof distinctId !== 'number' || !Number.isFinite(distinctId))) return undefined;
  if (!optionalString(sentAt) || !optionalString(token)) return undefined;
  if (teamId !== undefined && teamId !== null && (typeof teamId !== 'number' || !Number.isSafeInteger(teamId) || teamId <= 0))
    return undefined;
  if (typeof data !== 'string' && !isPlainObject(data)) return undefined;
  return { uuid, distinct_id: distinctId, now, sent_at: sentAt, token, team_id: teamId, data: data };
}

/** Hot path for the client event in `data`. */
export function fastCaptureData(value: unknown): CaptureData | undefined {
  if (!isPlainObject(value)) return undefined;
  const { event, properties, timestamp, offset, $set } = value;
  if (typeof event !== 'string' || event === '') return undefined;
  if (properties !== undefined && properties !== null && !isPlainObject(properties)) return undefined;
  if (!optionalString(timestamp)) return undefined;
  if (offset !== undefined && offset !== null && (typeof offset !== 'number' || !Number.isFinite(offset))) return undefined;
  return { event, properties: properties, timestamp, offset: offset, ...($set === undefined ? {} : { $set }) };
}

export interface EventTime {
  readonly timestamp: number;
  /** `timestamp` as the client sent it (its own clock), µs; null when it sent none. */
  readonly clientTimestamp: number | null;
  readonly warnings: NormalizeWarning[];
}

/** The clock-skew rule, on microseconds. `null` when a given timestamp cannot be parsed. */
export function captureEventTime(
  now: number,
  timestamp: string | null | undefined,
  sentAt: string | null | undefined,
  offsetMs: number | null | undefined,
  ignoreSentAt: boolean,
): EventTime | { error: string } {
  const warnings: NormalizeWarning[] = [];
  let ts: number | null = null;
  if (timestamp !== null && timestamp !== undefined && timestamp !== '') {
    ts = parseTimestamp(timestamp);
    if (ts === null) return { error: `data.timestamp ${JSON.stringify(timestamp.slice(0, 64))} is not a valid timestamp` };
  }
  let sent: number | null = null;
  if (!ignoreSentAt && sentAt !== null && sentAt !== undefined && sentAt !== '') {
    sent = parseTimestamp(sentAt);
    if (sent === null) warnings.push('sent_at_invalid_ignored');
  }
  let t: number;
  if (ts !== null && sent !== null) t = now + (ts - sent);
  else if (offsetMs !== null && offsetMs !== undefined) t = now - Math.round(offsetMs * MICROS_PER_MS);
  else if (ts !== null) t = ts;
  else t = now;
  if (t - now > FUTURE_CUTOFF_MICROS) {
    t = now;
    warnings.push('timestamp_in_future_clamped');
  }
  return { timestamp: t, clientTimestamp: ts, warnings };
}

export function normalizeCaptureMessage(text: string, options: NormalizeOptions = {}): Normalized {
  const parsed = parseMessage(text, options);
  if (!parsed.ok) return parsed;
  const checkedMessage = validate(parsed.value, fastCaptureMessage, CaptureMessageSchema);
  if (!checkedMessage.ok) return checkedMessage;
  const msg = checkedMessage.value;

  let dataValue: unknown = msg.data;
  if (typeof msg.data === 'string') {
    const data = parseJson(msg.data, 'data');
    if (!data.ok) return reject('malformed_json', data.message);
    dataValue = data.value;
  }
  const checkedData = validate(dataValue, fastCaptureData, CaptureDataSchema, 'data.');
  if (!checkedData.ok) return checkedData;
  const data = checkedData.value;
  const properties: Properties = isPlainObject(data.properties) ? data.properties : {};

  let teamId = msg.team_id ?? undefined;
  if (teamId === undefined) {
    const token = msg.token ?? '';
    if (token === '') return reject('unknown_token', 'the message has neither team_id nor token');
    teamId = options.tokenTeams?.get(token);
    if (teamId === undefined) {
      return reject('unknown_token', `token ${JSON.stringify(token.slice(0, 64))} maps to no team (configure the token→team mapping)`);
    }
  }

  const now = parseTimestamp(msg.now);
  if (now === null) return reject('timestamp_invalid', `now ${JSON.stringify(msg.now.slice(0, 64))} is not a valid timestamp`);
  const time = captureEventTime(now, data.timestamp, msg.sent_at, data.offset, Boolean(properties['$ignore_sent_at']));
  if ('error' in time) return reject('timestamp_invalid', time.error);

  return finishEvent(
    {
      uuid: msg.uuid,
      event: data.event,
      teamId,
      distinctId: toDistinctId(msg.distinct_id),
      timestamp: time.timestamp,
      clientTimestamp: time.clientTimestamp ?? undefined,
      personProperties: isPlainObject(data.$set) ? data.$set : undefined,
    },
    properties,
    options,
    time.warnings,
  );
}
