/**
 * `posthog-events`: the processed-event JSON that PostHog's ingestion writes for ClickHouse
 * (the clickhouse_events_json topic). `properties` is a JSON *string*; `timestamp` is
 * `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC (ISO 8601 accepted too). Unknown fields are ignored.
 */
import { z } from 'zod';
import { reject, type Normalized, type NormalizeWarning } from '../event.js';
import { parseTimestamp } from '../time.js';
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

// A digit string must stay the same number: beyond 2^53 it would silently become another team.
const teamId = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER)),
]);

export const PostHogEventSchema = z.object({
  uuid: z.string(),
  event: z.string().min(1),
  team_id: teamId,
  distinct_id: z.union([z.string(), z.number()]),
  timestamp: z.string(),
  properties: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
  person_properties: z.unknown().optional(),
});

type PostHogEvent = z.output<typeof PostHogEventSchema>;

/**
 * The hot path: plain type checks that accept exactly the well-formed messages, with the values
 * zod would produce. Anything unusual (a digit-string team_id, a missing field…) returns
 * undefined and goes through the schema, which is the specification and writes the error.
 * A property test holds the two equal.
 */
export function fastPostHogEvent(value: unknown): PostHogEvent | undefined {
  if (!isPlainObject(value)) return undefined;
  const { uuid, event, team_id: teamId, distinct_id: distinctId, timestamp, properties, person_properties: personProperties } = value;
  if (typeof uuid !== 'string' || typeof event !== 'string' || event === '' || typeof timestamp !== 'string') return undefined;
  if (typeof teamId !== 'number' || !Number.isSafeInteger(teamId) || teamId <= 0) return undefined;
  if (typeof distinctId !== 'string' && (typeof distinctId !== 'number' || !Number.isFinite(distinctId))) return undefined;
  if (properties !== undefined && properties !== null && typeof properties !== 'string' && !isPlainObject(properties)) return undefined;
  return {
    uuid,
    event,
    team_id: teamId,
    distinct_id: distinctId,
    timestamp,
    properties: properties,
    ...(personProperties === undefined ? {} : { person_properties: personProperties }),
  };
}

export function normalizePostHogEvent(text: string, options: NormalizeOptions = {}): Normalized {
  const parsed = parseMessage(text, options);
  if (!parsed.ok) return parsed;
  const checked = validate(parsed.value, fastPostHogEvent, PostHogEventSchema);
  if (!checked.ok) return checked;
  const msg = checked.value;

  const timestamp = parseTimestamp(msg.timestamp);
  if (timestamp === null) {
    return reject('timestamp_invalid', `timestamp ${JSON.stringify(msg.timestamp.slice(0, 64))} is not a valid timestamp`);
  }

  let properties: Properties = {};
  if (typeof msg.properties === 'string') {
    if (msg.properties !== '') {
      const props = parseJson(msg.properties, 'properties');
      if (!props.ok) return reject('malformed_json', props.message);
      if (!isPlainObject(props.value)) return reject('schema_invalid', 'properties: expected a JSON object');
      properties = props.value;
    }
  } else if (msg.properties !== null && msg.properties !== undefined) {
    properties = msg.properties;
  }

  const warnings: NormalizeWarning[] = [];
  return finishEvent(
    {
      uuid: msg.uuid,
      event: msg.event,
      teamId: msg.team_id,
      distinctId: toDistinctId(msg.distinct_id),
      timestamp,
      personProperties: personPropertiesOf(msg.person_properties),
    },
    properties,
    options,
    warnings,
  );
}

/**
 * `person_properties` of a processed event (a JSON string, or an object): only read for the
 * catalog's `person_properties.email`, so it is parsed only when it mentions "email"; a value that
 * is not a JSON object counts as absent (the event is kept: the person's email is optional).
 */
function personPropertiesOf(value: unknown): Properties | undefined {
  if (isPlainObject(value)) return value;
  if (typeof value !== 'string' || !value.includes('"email"')) return undefined;
  const parsed = parseJson(value, 'person_properties');
  return parsed.ok && isPlainObject(parsed.value) ? parsed.value : undefined;
}
