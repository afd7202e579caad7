/**
 * Normalisation reads an event's properties in one pass (common.ts, readProperties); this holds
 * what it extracts equal to a straightforward reference — one lookup by name per property, as
 * the code before that pass did — on generated properties: the event's attribution fields, the
 * catalog's EXTRACTED_PROPERTIES, the person's email and the `$feature/<key>` flags, with wrong
 * types, empty, over-long and ill-formed strings, and the truncation warning.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXTRACTED_PROPERTIES } from '../catalog.js';
import type { NormalizeWarning, SessionEvent } from '../event.js';
import { truncate, wellFormed, type Limits } from '../limits.js';
import { normalize } from './index.js';

const SESSION_HEX = Date.UTC(2026, 10, 20, 10, 0, 0, 250).toString(16).padStart(12, '0');
/** A UUIDv7 of 2026-11-20 10:00:00.250 UTC: the events below are 3 s into its session. */
const SESSION_ID = `${SESSION_HEX.slice(0, 8)}-${SESSION_HEX.slice(8, 12)}-7c41-9b7e-52d1a0f4e3c6`;
const LIMITS: Limits = { maxMessageBytes: 1_048_576, maxUrlLength: 24, maxFieldLength: 12 };

type Properties = Record<string, unknown>;

interface Reference {
  readonly fields: Pick<
    SessionEvent,
    | 'currentUrl'
    | 'referringDomain'
    | 'utmSource'
    | 'utmMedium'
    | 'utmCampaign'
    | 'utmTerm'
    | 'utmContent'
    | 'gclid'
    | 'gadSource'
    | 'fbclid'
  >;
  readonly props: Record<string, string | number> | undefined;
  readonly flags: [string, string][] | undefined;
  readonly warnings: NormalizeWarning[];
}

/** The extraction written the plain way: every property looked up by its name. */
function reference(properties: Properties, personProperties: Properties | undefined, limits: Limits): Reference {
  const warnings: NormalizeWarning[] = [];
  const str = (source: Properties, key: string, max: number): string | null => {
    const v = source[key];
    if (typeof v !== 'string' || v === '') return null;
    if (v.length <= max) return wellFormed(v);
    if (!warnings.includes('field_truncated')) warnings.push('field_truncated');
    const cut = truncate(v, max);
    return cut === '' ? null : wellFormed(cut);
  };
  const f = limits.maxFieldLength;
  const fields = {
    currentUrl: str(properties, '$current_url', limits.maxUrlLength),
    referringDomain: str(properties, '$referring_domain', f),
    utmSource: str(properties, 'utm_source', f),
    utmMedium: str(properties, 'utm_medium', f),
    utmCampaign: str(properties, 'utm_campaign', f),
    utmTerm: str(properties, 'utm_term', f),
    utmContent: str(properties, 'utm_content', f),
    gclid: str(properties, 'gclid', f),
    gadSource: str(properties, 'gad_source', f),
    fbclid: str(properties, 'fbclid', f),
  };
  const props: Record<string, string | number> = {};
  for (const { property, type } of EXTRACTED_PROPERTIES) {
    const v = properties[property];
    if (type === 'Int64') {
      if (typeof v === 'number' && Number.isSafeInteger(v)) props[property] = v;
      continue;
    }
    const kept = str(properties, property, type === 'url' ? limits.maxUrlLength : f);
    if (kept !== null) props[property] = kept;
  }
  const set = properties['$set'];
  const person = personProperties ?? (typeof set === 'object' && set !== null && !Array.isArray(set) ? (set as Properties) : undefined);
  if (person !== undefined) {
    const email = str(person, 'email', f);
    if (email !== null) props['person_properties.email'] = email;
  }
  const flags: [string, string][] = [];
  for (const key of Object.keys(properties)) {
    if (!key.startsWith('$feature/') || key === '$feature/') continue;
    const v = properties[key];
    const value = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : null;
    if (value === null || value === '' || flags.length >= 200) continue;
    flags.push([wellFormed(truncate(key.slice('$feature/'.length), f)), wellFormed(truncate(value, f))]);
  }
  return {
    fields,
    props: Object.keys(props).length === 0 ? undefined : props,
    flags: flags.length === 0 ? undefined : flags,
    warnings,
  };
}

const NAMES = [
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
  ...EXTRACTED_PROPERTIES.map((p) => p.property),
  'person_properties.email', // not read from properties: only from the person
  '$feature/',
  '$feature/new-nav',
  '$feature/pricing',
  '$feature/a-key-longer-than-the-limit',
  '$feature',
  '$featur/x',
  'feature/x',
  '$lib',
  '$os_name',
  'email',
  '0',
  '17',
];
const text = fc.oneof(
  fc.constantFrom(
    '',
    'x',
    'Chrome',
    'https://www.example.com/a/long/path?q=1',
    'exactly12chr',
    '\ud800lone',
    'pair\ud83d\ude00pair!!',
    '12',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const value = fc.oneof(
  { weight: 5, arbitrary: text },
  { weight: 2, arbitrary: fc.constantFrom(0, 1280, -3, 1.5, 2 ** 53, 2 ** 53 - 1, Number.NaN) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom(null, [], ['x'], { email: 'a@b.example' }) },
);
const properties = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 30 }),
    fc.dictionary(
      fc.string({ maxLength: 12 }).map((k) => `$feature/${k}`),
      fc.oneof(text, fc.boolean()),
      { maxKeys: 6 },
    ),
    fc.option(fc.dictionary(fc.constantFrom('email', 'name'), value), { nil: undefined }),
  )
  .map(([named, flags, set]) => ({ ...named, ...flags, ...(set === undefined ? {} : { $set: set }) }));
const person = fc.option(fc.dictionary(fc.constantFrom('email', 'plan'), value), { nil: undefined });

describe('the one-pass extraction of properties equals lookups by name', () => {
  it('posthog-events, on generated properties (with $set, person_properties, flags, small limits)', () => {
    fc.assert(
      fc.property(properties, person, (props, personProperties) => {
        const message = {
          uuid: '019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6b',
          event: '$pageview',
          team_id: 2,
          distinct_id: 'd1',
          timestamp: '2026-11-20 10:00:03.123456',
          properties: JSON.stringify({ ...props, $session_id: SESSION_ID }),
          ...(personProperties === undefined ? {} : { person_properties: JSON.stringify(personProperties) }),
        };
        const result = normalize('posthog-events', JSON.stringify(message), { limits: LIMITS });
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        // what the reference reads: the properties and person as JSON gives them back
        const parsed = JSON.parse(message.properties) as Properties;
        const parsedPerson =
          personProperties !== undefined && message.person_properties?.includes('"email"') === true
            ? (JSON.parse(message.person_properties) as Properties)
            : undefined;
        const ref = reference(parsed, parsedPerson, LIMITS);
        const { event } = result;
        expect(event).toMatchObject(ref.fields);
        expect(event.props).toEqual(ref.props);
        expect(event.flags).toEqual(ref.flags);
        expect(result.warnings).toEqual(ref.warnings);
      }),
      { numRuns: 3000, seed: 20261201 },
    );
  });

  it('keeps at most 200 flags, the first in the properties’ order', () => {
    const props: Properties = { $session_id: SESSION_ID, $browser: 'Firefox' };
    for (let i = 0; i < 330; i += 1) props[`$feature/f${i}`] = i % 3 === 0 ? '' : i % 2 === 0;
    props['$host'] = 'www.example.com'; // after the flags: still read once the flags are full
    const message = {
      uuid: '019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6b',
      event: 'x',
      team_id: 2,
      distinct_id: 'd',
      timestamp: '2026-11-20 10:00:03',
    };
    const result = normalize('posthog-events', JSON.stringify({ ...message, properties: JSON.stringify(props) }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const ref = reference(props, undefined, { maxMessageBytes: 1_048_576, maxUrlLength: 8_192, maxFieldLength: 1_024 });
    expect(result.event.flags).toHaveLength(200);
    expect(result.event.flags).toEqual(ref.flags);
    expect(result.event.props).toEqual({ $browser: 'Firefox', $host: 'www.example.com' });
  });
});
