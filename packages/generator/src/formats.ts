/**
 * A simulated event written as a message of either input format, and the faults: malformed
 * messages and events the session rules exclude.
 */
import type { RejectReason } from '@sessionizer/core';
import type { ElementSpec } from './catalog.js';
import type { SimEvent } from './model.js';
import type { Rng } from './random.js';
import { chMicros, chMillis, isoMicros, isoMillis } from './time.js';

export type Format = 'posthog-events' | 'posthog-capture';

/** What is wrong with a message of kind 'invalid'. */
export type InvalidFault = 'malformed_json' | 'truncated_json' | 'wrong_type' | 'missing_uuid' | 'session_id_v4' | 'session_expired';

export const INVALID_FAULTS: readonly InvalidFault[] = [
  'malformed_json',
  'truncated_json',
  'wrong_type',
  'missing_uuid',
  'session_id_v4',
  'session_expired',
];

/** The rejection reason the sessionizer's normalize() gives each fault. */
export const FAULT_REASONS: Readonly<Record<InvalidFault, RejectReason>> = {
  malformed_json: 'malformed_json',
  truncated_json: 'malformed_json',
  wrong_type: 'schema_invalid',
  missing_uuid: 'schema_invalid',
  session_id_v4: 'session_id_not_uuidv7',
  session_expired: 'session_id_expired',
};

function chainOf(elements: readonly ElementSpec[]): string {
  return elements
    .map((el) => {
      let s = el.tag;
      if (el.classes !== undefined && el.classes.length > 0) s += `.${el.classes.join('.')}`;
      s += ':';
      if (el.classes !== undefined && el.classes.length > 0) s += `attr__class="${el.classes.join(' ')}"`;
      if (el.href !== undefined) s += `attr__href="${el.href}"`;
      if (el.id !== undefined) s += `attr__id="${el.id}"`;
      for (const [k, v] of el.attrs ?? []) s += `attr__${k}="${v}"`;
      if (el.href !== undefined) s += `href="${el.href}"`;
      if (el.id !== undefined) s += `attr_id="${el.id}"`;
      s += `nth-child="${el.nthChild}"nth-of-type="${el.nthOfType}"`;
      if (el.text !== undefined) s += `text="${el.text.replace(/"/g, '\\"')}"`;
      return s;
    })
    .join(';');
}

function elementsOf(elements: readonly ElementSpec[]): Record<string, unknown>[] {
  return elements.map((el) => {
    const o: Record<string, unknown> = { tag_name: el.tag };
    if (el.text !== undefined) o['$el_text'] = el.text;
    if (el.classes !== undefined && el.classes.length > 0) {
      o['classes'] = el.classes;
      o['attr__class'] = el.classes.join(' ');
    }
    if (el.href !== undefined) o['attr__href'] = el.href;
    if (el.id !== undefined) o['attr__id'] = el.id;
    for (const [k, v] of el.attrs ?? []) o[`attr__${k}`] = v;
    o['nth_child'] = el.nthChild;
    o['nth_of_type'] = el.nthOfType;
    return o;
  });
}

/** Client clock readings of the event and of its send: their difference is the true delay. */
function clientTimes(e: SimEvent): { eventMs: number; sentMs: number } {
  const eventMs = Math.floor(e.timeUs / 1_000) + e.client.skewMs;
  return { eventMs, sentMs: eventMs + e.sendDelayMs };
}

/**
 * The properties PostHog's GeoIP step adds from the client's IP (MaxMind GeoLite2 City): all of
 * them when the city resolves, the country's alone when only it does. Clients never send them.
 */
export function geoipProperties(e: SimEvent): Record<string, unknown> {
  const g = e.client.geo;
  if (e.client.geoip === 'none') return {};
  const country = {
    $geoip_country_name: g.country,
    $geoip_country_code: g.countryCode,
    $geoip_continent_name: g.continent,
    $geoip_continent_code: g.continentCode,
  };
  if (e.client.geoip === 'country') return country;
  return {
    $geoip_city_name: g.city,
    ...country,
    $geoip_postal_code: g.postalCode,
    $geoip_latitude: g.latitude,
    $geoip_longitude: g.longitude,
    $geoip_time_zone: g.timezone,
    ...(g.subdivisionCode === null ? {} : { $geoip_subdivision_1_code: g.subdivisionCode, $geoip_subdivision_1_name: g.subdivision }),
  };
}

/** posthog-events: the person's properties at ingestion, a JSON string: `{}` while anonymous (identified_only). */
function personProperties(e: SimEvent): string {
  return e.person.email === null ? '{}' : JSON.stringify({ email: e.person.email, plan: e.person.plan });
}

/** posthog-events: the processed event as PostHog's ingestion writes it for ClickHouse. */
export function eventsObject(e: SimEvent): Record<string, unknown> {
  const props: Record<string, unknown> = { ...e.properties, ...geoipProperties(e) };
  props['$ip'] = e.client.ip;
  if (e.set !== null) props['$set'] = e.set;
  const receivedMs = Math.floor(e.timeUs / 1_000) + e.sendDelayMs;
  return {
    uuid: e.uuid,
    event: e.event,
    properties: JSON.stringify(props),
    timestamp: chMicros(e.timeUs),
    team_id: e.team.id,
    project_id: e.team.id,
    distinct_id: e.distinctId,
    elements_chain: e.elements === null ? '' : chainOf(e.elements),
    created_at: chMillis(receivedMs + e.ingestLagMs),
    person_id: e.person.id,
    person_created_at: e.person.createdAt,
    person_properties: personProperties(e),
  };
}

/**
 * posthog-capture: the raw message capture writes to Kafka. `timestamp` and `sent_at` are read
 * on the client's (skewed) clock; `now` is the server's. PostHog's correction
 * now + (timestamp − sent_at) gives back exactly `timeUs`; so does now − offset.
 */
export function captureObject(e: SimEvent): Record<string, unknown> {
  const props: Record<string, unknown> = { ...e.properties };
  if (e.elements !== null) props['$elements'] = elementsOf(e.elements);
  const { eventMs, sentMs } = clientTimes(e);
  const data: Record<string, unknown> = {
    uuid: e.client.upperCaseIds ? e.uuid.toUpperCase() : e.uuid,
    event: e.event,
    properties: props,
  };
  if (e.set !== null) data['$set'] = e.set;
  if (e.useOffset) data['offset'] = e.sendDelayMs;
  else data['timestamp'] = isoMillis(eventMs);
  return {
    uuid: e.uuid,
    distinct_id: e.distinctId,
    ip: e.client.ip,
    site_url: e.team.apiHost,
    data: JSON.stringify(data),
    now: isoMicros(e.timeUs + e.sendDelayMs * 1_000),
    sent_at: isoMillis(sentMs),
    token: e.team.token,
  };
}

export function messageObject(format: Format, e: SimEvent): Record<string, unknown> {
  return format === 'posthog-capture' ? captureObject(e) : eventsObject(e);
}

export function serialize(format: Format, e: SimEvent): string {
  return JSON.stringify(messageObject(format, e));
}

const TEAM_WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** A well-formed message of the wrong shape: a team id spelled out, an object distinct id, a numeric time. */
export function wrongType(format: Format, e: SimEvent, rng: Rng): string {
  const o = messageObject(format, e);
  const r = rng.next();
  if (r < 0.6) o['team_id'] = TEAM_WORDS[(e.team.id - 1) % TEAM_WORDS.length] ?? 'unknown';
  else if (r < 0.8) o['distinct_id'] = { id: e.distinctId };
  else if (format === 'posthog-capture') o['now'] = Math.floor(e.timeUs / 1_000);
  else o['timestamp'] = Math.floor(e.timeUs / 1_000);
  return JSON.stringify(o);
}

export function missingUuid(format: Format, e: SimEvent): string {
  const o = messageObject(format, e);
  delete o['uuid'];
  return JSON.stringify(o);
}

/** Text that is not JSON: a broken producer, a log line on the wrong topic, a bad hand edit. */
export function malformed(text: string, rng: Rng): string {
  switch (rng.int(0, 4)) {
    case 0:
      return `${text}}`;
    case 1:
      return text.replace('{"uuid"', "{'uuid'");
    case 2:
      // a raw control character inside a string (not a newline: values stay one NDJSON line)
      return text.replace('","', '\t","');
    case 3:
      return text.replace(/,"/, ',,"');
    default:
      return rng.pick([
        'upstream request timeout',
        '<html><head><title>502 Bad Gateway</title></head></html>',
        'ERROR 2026-11-20 10:00:00 capture: kafka produce failed: Broker: Message size too large',
        '',
        'null,',
      ]);
  }
}

/** A message cut short (a partial write): any proper prefix of a JSON object is invalid JSON. */
export function truncated(text: string, rng: Rng): string {
  return text.slice(0, rng.int(1, Math.max(1, text.length - 1)));
}
