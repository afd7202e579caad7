/**
 * `posthog-events`: the processed-event JSON PostHog's ingestion writes for ClickHouse. Every
 * rejection reason that applies to this format, the accepted shapes, the session-id bounds to
 * the microsecond, the size limits and truncation, and that normalize() never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REJECT_REASONS, type Normalized, type RejectReason, type SessionEvent } from '../event.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { formatTimestamp, MICROS_PER_HOUR } from '../time.js';
import { NO_ATTRIBUTION } from '../../../../test/support/events.js';
import { DEFAULT_SESSION_ID_TOLERANCE_MS, normalize, normalizePostHogEvent, type NormalizeOptions } from './index.js';

/** A UUIDv7 with the given millisecond prefix; `rest` is the last three groups (`7xxx-8xxx-xxxxxxxxxxxx`). */
function uuidV7(ms: number, rest = '7a3c-8f1e-2d3c4b5a6978'): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${rest}`;
}

const SESSION_MS = Date.UTC(2026, 10, 20, 10, 0, 0, 250);
const SESSION_US = SESSION_MS * 1_000;
const SESSION_ID = uuidV7(SESSION_MS, '7c41-9b7e-52d1a0f4e3c6');
const EVENT_UUID = '019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6b';

const BASE_PROPERTIES: Record<string, unknown> = {
  $os: 'Mac OS X',
  $browser: 'Chrome',
  $lib: 'web',
  $session_id: SESSION_ID,
  $current_url: 'https://www.northwind-trail.com/pricing?plan=pro#faq',
  $referring_domain: 'www.google.co.uk',
  utm_source: 'google',
  utm_medium: 'cpc',
  utm_campaign: 'winter_sale',
  utm_term: 'trail shoes',
  utm_content: 'ad_variant_b',
  gclid: 'Cj0KCQiA5rGuBhCnARIsAN11vgRz',
  gad_source: '1',
  fbclid: 'IwZXh0bgNhZW0BMABhZGlk',
};

type Line = Record<string, unknown>;

/** JSON text of any value; JSON.stringify gives undefined for undefined and functions. */
function serialise(value: unknown): string {
  const json: unknown = JSON.stringify(value);
  return typeof json === 'string' ? json : 'undefined';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A processed event as ingestion writes it, with `properties` serialised to a JSON string. */
function line(overrides: Line = {}, properties: Record<string, unknown> = {}): Line {
  return {
    uuid: EVENT_UUID,
    event: '$pageview',
    team_id: 2,
    project_id: 2,
    distinct_id: '019aa0ee-91b0-7c1d-8e2f-3a4b5c6d7e8f',
    timestamp: '2026-11-20 10:00:03.123456',
    created_at: '2026-11-20 10:00:04.001',
    elements_chain: '',
    person_id: '019aa0ee-91b0-7c1d-8e2f-000000000001',
    person_properties: '{}',
    person_created_at: '2026-11-20 10:00:03',
    person_mode: 'full',
    properties: JSON.stringify({ ...BASE_PROPERTIES, ...properties }),
    ...overrides,
  };
}

const text = (l: Line): string => JSON.stringify(l);
const run = (l: Line | string, options?: NormalizeOptions): Normalized =>
  normalizePostHogEvent(typeof l === 'string' ? l : text(l), options);

function accepted(result: Normalized): SessionEvent {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.reason}: ${result.message}`);
  return result.event;
}

function expectRejected(result: Normalized, reason: RejectReason): void {
  expect(result.ok ? 'accepted' : result.reason).toBe(reason);
  if (!result.ok) {
    expect(result.action).toBe(reason === 'no_session_id' || reason.startsWith('session_id') ? 'drop' : 'dlq');
    expect(result.message.length).toBeGreaterThan(0);
    expect(result.message.length).toBeLessThan(1_000);
  }
}

/** The line with its timestamp at `micros`. */
const at = (micros: number, properties: Record<string, unknown> = {}): Line => line({ timestamp: formatTimestamp(micros) }, properties);

describe('posthog-events: accepted input', () => {
  it('maps a processed $pageview to a SessionEvent', () => {
    const result = run(line());
    expect(result).toEqual({
      ok: true,
      warnings: [],
      event: {
        uuid: EVENT_UUID,
        event: '$pageview',
        teamId: 2,
        distinctId: '019aa0ee-91b0-7c1d-8e2f-3a4b5c6d7e8f',
        sessionId: SESSION_ID,
        timestamp: Date.parse('2026-11-20T10:00:03Z') * 1_000 + 123_456,
        currentUrl: 'https://www.northwind-trail.com/pricing?plan=pro#faq',
        referringDomain: 'www.google.co.uk',
        utmSource: 'google',
        utmMedium: 'cpc',
        utmCampaign: 'winter_sale',
        utmTerm: 'trail shoes',
        utmContent: 'ad_variant_b',
        gclid: 'Cj0KCQiA5rGuBhCnARIsAN11vgRz',
        gadSource: '1',
        fbclid: 'IwZXh0bgNhZW0BMABhZGlk',
        // the catalog's other properties (catalog.ts EXTRACTED_PROPERTIES); $lib and the rest are not kept
        props: { $browser: 'Chrome', $os: 'Mac OS X' },
      } satisfies SessionEvent,
    });
  });

  it('is what normalize("posthog-events", …) does', () => {
    expect(normalize('posthog-events', text(line()))).toEqual(run(line()));
  });

  it.each([
    ['ClickHouse, no fraction', '2026-11-20 10:00:03', 0],
    ['ClickHouse, milliseconds', '2026-11-20 10:00:03.123', 123_000],
    ['ClickHouse, microseconds', '2026-11-20 10:00:03.123456', 123_456],
    ['ISO 8601 Z', '2026-11-20T10:00:03.123Z', 123_000],
    ['ISO 8601 microseconds Z', '2026-11-20T10:00:03.123456Z', 123_456],
    ['ISO 8601 +00:00', '2026-11-20T10:00:03.5+00:00', 500_000],
    ['ISO 8601 with an offset', '2026-11-20T11:00:03+01:00', 0],
    ['ISO 8601 without a zone is UTC', '2026-11-20T10:00:03', 0],
  ])('accepts a %s timestamp', (_name, timestamp, micros) => {
    expect(accepted(run(line({ timestamp }))).timestamp).toBe(Date.parse('2026-11-20T10:00:03Z') * 1_000 + micros);
  });

  it('accepts a numeric distinct_id as its decimal string', () => {
    expect(accepted(run(line({ distinct_id: 1234567 }))).distinctId).toBe('1234567');
    expect(accepted(run(line({ distinct_id: 0 }))).distinctId).toBe('0');
  });

  it('accepts team_id as a digit string', () => {
    expect(accepted(run(line({ team_id: '2' }))).teamId).toBe(2);
    expect(accepted(run(line({ team_id: '123456' }))).teamId).toBe(123_456);
  });

  it('never maps a digit-string team_id to a different team (beyond 2^53 it must be rejected, like the number)', () => {
    // 9007199254740993 is not representable as a double: Number() rounds it to …992, another team.
    expectRejected(run(text(line({ team_id: 'BIG' })).replace('"BIG"', '9007199254740993')), 'schema_invalid');
    const result = run(line({ team_id: '9007199254740993' }));
    expect(result.ok ? String(result.event.teamId) : 'rejected').toBe('rejected');
    expect(accepted(run(line({ team_id: '9007199254740991' }))).teamId).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('accepts properties given as an object', () => {
    const event = accepted(run(line({ properties: { ...BASE_PROPERTIES } })));
    expect(event).toEqual(accepted(run(line())));
  });

  it('reads an empty properties string as no properties (so no $session_id)', () => {
    expectRejected(run(line({ properties: '' })), 'no_session_id');
    expectRejected(run(line({ properties: null })), 'no_session_id');
    const { properties: _dropped, ...without } = line();
    expectRejected(run(without), 'no_session_id');
  });

  it('ignores unknown fields', () => {
    const noisy = line({
      elements_chain: 'button.btn.btn-primary:attr__class="btn btn-primary"nth-child="1"nth-of-type="1"text="Start trial"',
      person_properties: JSON.stringify({ email: 'ana@example.com', $initial_referring_domain: '$direct' }),
      group0_properties: '{"name":"Acme"}',
      group1_properties: '',
      group0_created_at: '2026-01-01 00:00:00',
      $group_0: 'acme',
      project_id: 2,
      inserted_at: '2026-11-20 10:00:04.220',
      some_future_column: { nested: [1, 2, { deep: true }] },
      _timestamp: 1795730404,
    });
    // person_properties is read for the email only
    const { props, ...rest } = accepted(run(noisy));
    const { props: plainProps, ...plainRest } = accepted(run(line()));
    expect(rest).toEqual(plainRest);
    expect(props).toEqual({ ...plainProps, 'person_properties.email': 'ana@example.com' });
  });

  it('extracts the catalog properties with their types: strings, safe integers, the email, the flags', () => {
    const event = accepted(
      run(
        line(
          { person_properties: '{"email":"a@b.example","plan":"pro"}' },
          {
            $viewport_width: 1280,
            $viewport_height: '800',
            $device_type: 7,
            msclkid: 'abc',
            $host: 'www.northwind-trail.com',
            $external_click_url: 'https://x.example/',
            '$feature/new-nav': true,
            '$feature/pricing': 'variant-b',
            '$feature/': 'ignored',
            '$feature/off': false,
            $active_feature_flags: ['new-nav'],
            $lib: 'web',
          },
        ),
      ),
    );
    expect(event.props).toMatchObject({
      $viewport_width: 1280,
      msclkid: 'abc',
      $host: 'www.northwind-trail.com',
      $external_click_url: 'https://x.example/',
      'person_properties.email': 'a@b.example',
    });
    expect(event.props).not.toHaveProperty('$viewport_height');
    expect(event.props).not.toHaveProperty('$device_type');
    expect(event.props).not.toHaveProperty('$lib');
    expect(event.flags).toEqual([
      ['new-nav', 'true'],
      ['pricing', 'variant-b'],
      ['off', 'false'],
    ]);
  });

  it('treats a person_properties that is not a JSON object as no email (the event is kept)', () => {
    const event = accepted(run(line({ person_properties: '{"email": broken' })));
    expect(event.props?.['person_properties.email']).toBeUndefined();
  });

  it('canonicalises an uppercase event uuid and an uppercase $session_id', () => {
    const event = accepted(run(line({ uuid: EVENT_UUID.toUpperCase() }, { $session_id: SESSION_ID.toUpperCase() })));
    expect(event.uuid).toBe(EVENT_UUID);
    expect(event.sessionId).toBe(SESSION_ID);
  });

  it('keeps attribution strings raw (no trimming, no case change)', () => {
    const event = accepted(run(line({}, { utm_source: ' Google ', $referring_domain: 'WWW.Google.CO.UK' })));
    expect(event.utmSource).toBe(' Google ');
    expect(event.referringDomain).toBe('WWW.Google.CO.UK');
  });

  it.each([
    ['empty string', ''],
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
    ['an object', { value: 'google' }],
    ['an array', ['google']],
  ])('turns attribution given as %s into null', (_name, value) => {
    const props = {
      $current_url: value,
      $referring_domain: value,
      utm_source: value,
      utm_medium: value,
      utm_campaign: value,
      utm_term: value,
      utm_content: value,
      gclid: value,
      gad_source: value,
      fbclid: value,
    };
    const event = accepted(run(line({}, props)));
    for (const key of [
      'currentUrl',
      'referringDomain',
      'utmSource',
      'utmMedium',
      'utmCampaign',
      'utmTerm',
      'utmContent',
      'gclid',
      'gadSource',
      'fbclid',
    ] as const) {
      expect(event[key], key).toBeNull();
    }
  });

  it('turns missing attribution into null', () => {
    const event = accepted(run(line({ properties: JSON.stringify({ $session_id: SESSION_ID }) })));
    expect(event).toMatchObject(NO_ATTRIBUTION);
  });

  it('does not clamp future timestamps (processed events carry their final time)', () => {
    const t = SESSION_US + 23 * MICROS_PER_HOUR + 1;
    expect(accepted(run(at(t))).timestamp).toBe(t);
  });
});

describe('posthog-events: rejections', () => {
  it.each(['{', '', ' ', 'not json', '{"uuid": "x",}', '{"a":1} trailing', "{'uuid':'x'}", '{"uuid":"x"'])(
    'malformed_json: message %j',
    (raw) => {
      expectRejected(run(raw), 'malformed_json');
    },
  );

  it.each(['{"$session_id":', '{not json}', '[1,'])('malformed_json: properties string %j', (properties) => {
    expectRejected(run(line({ properties })), 'malformed_json');
  });

  it.each(['123', '[]', 'null', '"a string"', 'true', '[{"uuid":"x"}]'])('schema_invalid: non-object JSON %s', (raw) => {
    expectRejected(run(raw), 'schema_invalid');
  });

  it.each(['123', '[]', '[{"$session_id":"x"}]', 'null', '"{}"', 'true'])(
    'schema_invalid: properties JSON %s is not an object',
    (properties) => {
      expectRejected(run(line({ properties })), 'schema_invalid');
    },
  );

  it.each<[string, Line]>([
    ['uuid missing', { uuid: undefined }],
    ['uuid a number', { uuid: 42 }],
    ['event missing', { event: undefined }],
    ['event empty', { event: '' }],
    ['event a number', { event: 1 }],
    ['team_id missing', { team_id: undefined }],
    ['team_id zero', { team_id: 0 }],
    ['team_id negative', { team_id: -2 }],
    ['team_id fractional', { team_id: 2.5 }],
    ['team_id "0"', { team_id: '0' }],
    ['team_id "02"', { team_id: '02' }],
    ['team_id " 2"', { team_id: ' 2' }],
    ['team_id "2.0"', { team_id: '2.0' }],
    ['team_id "-2"', { team_id: '-2' }],
    ['team_id "two"', { team_id: 'two' }],
    ['team_id null', { team_id: null }],
    ['distinct_id missing', { distinct_id: undefined }],
    ['distinct_id null', { distinct_id: null }],
    ['distinct_id an object', { distinct_id: { id: 1 } }],
    ['timestamp missing', { timestamp: undefined }],
    ['timestamp a number', { timestamp: 1795730403123 }],
    ['properties a number', { properties: 12 }],
    ['properties an array', { properties: [] }],
  ])('schema_invalid: %s', (_name, overrides) => {
    expectRejected(run(line(overrides)), 'schema_invalid');
  });

  it.each([
    'not-a-uuid',
    '',
    '019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6',
    '{019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6b}',
    '019aa0f12c3d7e4f9a0b1c2d3e4f5a6b',
    '019aa0f1-2c3d-7e4f-9a0b-1c2d3e4f5a6g',
  ])('schema_invalid: event uuid %j', (uuid) => {
    expectRejected(run(line({ uuid })), 'schema_invalid');
  });

  it.each([
    '',
    'yesterday',
    '2026-02-30 10:00:00',
    '2026-11-20 24:00:00',
    '2026-11-20',
    '1795730403123',
    '2026-11-20 10:00:03 UTC',
    '20/11/2026 10:00:03',
  ])('timestamp_invalid: %j', (timestamp) => {
    expectRejected(run(line({ timestamp })), 'timestamp_invalid');
  });

  it.each<[string, Record<string, unknown>]>([
    ['missing', { $session_id: undefined }],
    ['null', { $session_id: null }],
    ['empty', { $session_id: '' }],
  ])('no_session_id: $session_id %s', (_name, props) => {
    expectRejected(run(line({}, props)), 'no_session_id');
  });

  it.each<[string, unknown]>([
    ['a UUIDv4', '2f1e6c0a-8d4b-4e6f-9a3c-5b7d1e2f4a60'],
    ['a UUIDv1', 'c232ab00-9414-11ec-b3c8-9f6bdeced846'],
    ['a v7 with the wrong variant', SESSION_ID.slice(0, 19) + 'c' + SESSION_ID.slice(20)],
    ['a v7 without hyphens', SESSION_ID.replaceAll('-', '')],
    ['a v7 in braces', `{${SESSION_ID}}`],
    ['not a uuid', 'session-123'],
    ['a number', 123],
    ['an object', { id: SESSION_ID }],
    ['an array', [SESSION_ID]],
    ['a boolean', true],
  ])('session_id_not_uuidv7: $session_id is %s', (_name, value) => {
    expectRejected(run(line({}, { $session_id: value })), 'session_id_not_uuidv7');
  });

  const DAY = 24 * MICROS_PER_HOUR;
  const STRICT: NormalizeOptions = { sessionIdToleranceMs: 0 };

  it('the default window: uuid_ms - 24h <= t < uuid_ms + 24h, to the microsecond', () => {
    expect(DEFAULT_SESSION_ID_TOLERANCE_MS).toBe(86_400_000);
    expect(accepted(run(at(SESSION_US))).timestamp).toBe(SESSION_US);
    expect(accepted(run(at(SESSION_US - DAY))).timestamp).toBe(SESSION_US - DAY);
    expectRejected(run(at(SESSION_US - DAY - 1)), 'session_id_in_future');
    expectRejected(run(at(SESSION_US - 2 * DAY)), 'session_id_in_future');
    const lastMicro = SESSION_US + DAY - 1;
    expect(accepted(run(at(lastMicro))).timestamp).toBe(lastMicro);
    expectRejected(run(at(SESSION_US + DAY)), 'session_id_expired');
    expectRejected(run(at(SESSION_US + 25 * MICROS_PER_HOUR)), 'session_id_expired');
  });

  it('a client clock 3 minutes fast keeps its session: the id is minutes after the server-clock times', () => {
    // the session started at real time R; the id carries R + 3 min; ingestion wrote real times
    const fast = 3 * 60_000_000;
    const first = SESSION_US - fast - 41_000; // stamped 41 ms before the id was minted (posthog-js)
    for (const t of [first, first + 12_000_000, SESSION_US - 1, SESSION_US + 60_000_000]) {
      expect(accepted(run(at(t))).timestamp).toBe(t);
    }
    expectRejected(run(at(first), STRICT), 'session_id_in_future');
  });

  it('a client clock slow by hours: events stay inside until 24h after the id on the server clock', () => {
    expect(accepted(run(at(SESSION_US + 5 * MICROS_PER_HOUR))).timestamp).toBe(SESSION_US + 5 * MICROS_PER_HOUR);
    expectRejected(run(at(SESSION_US + DAY + 5 * MICROS_PER_HOUR)), 'session_id_expired');
  });

  it('the strict rule (tolerance 0): uuid_ms <= t', () => {
    expect(accepted(run(at(SESSION_US), STRICT)).timestamp).toBe(SESSION_US);
    expectRejected(run(at(SESSION_US - 1), STRICT), 'session_id_in_future');
    expect(accepted(run(at(SESSION_US + DAY - 1), STRICT)).timestamp).toBe(SESSION_US + DAY - 1);
    expectRejected(run(at(SESSION_US + DAY), STRICT), 'session_id_expired');
  });

  it('sessionIdToleranceMs relaxes only the lower bound', () => {
    const options = { sessionIdToleranceMs: 5_000 };
    expect(accepted(run(at(SESSION_US - 5_000_000), options)).timestamp).toBe(SESSION_US - 5_000_000);
    expect(accepted(run(at(SESSION_US - 1), options)).timestamp).toBe(SESSION_US - 1);
    expectRejected(run(at(SESSION_US - 5_000_001), options), 'session_id_in_future');
    expect(accepted(run(at(SESSION_US + DAY - 1), options)).timestamp).toBe(SESSION_US + DAY - 1);
    expectRejected(run(at(SESSION_US + DAY), options), 'session_id_expired');
  });

  it('the client-clock tolerance does not apply: a processed event carries no client clock', () => {
    const options = { sessionIdToleranceMs: 0, sessionIdClientToleranceMs: 3_600_000 };
    expectRejected(run(at(SESSION_US - 1), options), 'session_id_in_future');
  });

  it('the exclusion says by how much, on which clock, and the tolerance', () => {
    const result = run(at(SESSION_US - 3 * 60_000_000 - 41_000), STRICT);
    expect(result.ok ? '' : result.message).toBe(
      `$session_id ${SESSION_ID} starts 3 min 0.041 s after the event's server-clock time (tolerance 0 s)`,
    );
    const expired = run(at(SESSION_US + 25 * MICROS_PER_HOUR + 678));
    expect(expired.ok ? '' : expired.message).toBe(
      `$session_id ${SESSION_ID} is 25 h 0 min 0.000678 s older than the event (server clock; limit 24 h)`,
    );
  });

  it('the session id rules apply after canonicalisation of an uppercase id', () => {
    expectRejected(run(at(SESSION_US - 1, { $session_id: SESSION_ID.toUpperCase() }), STRICT), 'session_id_in_future');
    expect(accepted(run(at(SESSION_US, { $session_id: SESSION_ID.toUpperCase() }), STRICT)).sessionId).toBe(SESSION_ID);
  });

  it('has no unknown_token: processed events always carry team_id', () => {
    const result = run(line({ token: 'phc_unknown' }, { token: 'phc_unknown' }));
    expect(result.ok).toBe(true);
  });

  it('covers every reason but unknown_token', () => {
    // a guard against a reason being added without a test here
    expect(REJECT_REASONS.filter((r) => r !== 'unknown_token')).toEqual([
      'malformed_json',
      'schema_invalid',
      'timestamp_invalid',
      'event_too_large',
      'no_session_id',
      'session_id_not_uuidv7',
      'session_id_in_future',
      'session_id_expired',
    ]);
  });
});

describe('posthog-events: size limits and truncation', () => {
  const MiB = 1_048_576;
  const BIG: Limits = { ...DEFAULT_LIMITS, maxMessageBytes: 32 * MiB };

  it('event_too_large: a 10 MiB property', () => {
    expectRejected(run(line({}, { $el_text: 'x'.repeat(10 * MiB) })), 'event_too_large');
  });

  it('event_too_large: a 1 MiB URL', () => {
    expectRejected(run(line({}, { $current_url: `https://www.northwind-trail.com/?q=${'a'.repeat(MiB)}` })), 'event_too_large');
  });

  it('event_too_large is decided before parsing (even for junk)', () => {
    expectRejected(run('{'.repeat(MiB + 1)), 'event_too_large');
  });

  it('accepts a message of exactly maxMessageBytes, rejects one byte more', () => {
    const raw = text(line());
    const limits: Limits = { ...DEFAULT_LIMITS, maxMessageBytes: raw.length };
    expect(run(raw, { limits }).ok).toBe(true);
    expectRejected(run(raw, { limits: { ...limits, maxMessageBytes: raw.length - 1 } }), 'event_too_large');
  });

  it('counts the limit in UTF-8 bytes, not UTF-16 code units', () => {
    // 400,000 '€' are 400,000 UTF-16 units but 1,200,000 UTF-8 bytes: over the default 1 MiB.
    expectRejected(run(line({}, { $el_text: '€'.repeat(400_000) })), 'event_too_large');
    // the same at a small scale: one 3-byte character over a limit set to the UTF-16 length
    const raw = text(line({}, { $el_text: '€' }));
    expectRejected(run(raw, { limits: { ...DEFAULT_LIMITS, maxMessageBytes: raw.length } }), 'event_too_large');
  });

  it('with a raised maxMessageBytes, cuts a 1 MiB URL to maxUrlLength with field_truncated', () => {
    const url = `https://www.northwind-trail.com/search?q=${'a'.repeat(MiB)}`;
    const result = run(line({}, { $current_url: url }), { limits: BIG });
    const event = accepted(result);
    expect(event.currentUrl).toBe(url.slice(0, 8_192));
    expect(result.ok && result.warnings).toEqual(['field_truncated']);
  });

  it('with a raised maxMessageBytes, a 10 MiB attribution string is cut to maxFieldLength', () => {
    const result = run(line({}, { utm_campaign: 'c'.repeat(10 * MiB) }), { limits: BIG });
    expect(accepted(result).utmCampaign).toBe('c'.repeat(1_024));
    expect(result.ok && result.warnings).toEqual(['field_truncated']);
  });

  it('cuts every attribution string, distinct_id and the event name to maxFieldLength, warning once', () => {
    const long = (c: string): string => c.repeat(5_000);
    const props = {
      $referring_domain: long('r'),
      utm_source: long('s'),
      utm_medium: long('m'),
      utm_campaign: long('c'),
      utm_term: long('t'),
      utm_content: long('o'),
      gclid: long('g'),
      gad_source: long('a'),
      fbclid: long('f'),
    };
    const result = run(line({ distinct_id: long('d'), event: long('e') }, props));
    const event = accepted(result);
    expect(event).toMatchObject({
      event: 'e'.repeat(1_024),
      distinctId: 'd'.repeat(1_024),
      referringDomain: 'r'.repeat(1_024),
      utmSource: 's'.repeat(1_024),
      utmMedium: 'm'.repeat(1_024),
      utmCampaign: 'c'.repeat(1_024),
      utmTerm: 't'.repeat(1_024),
      utmContent: 'o'.repeat(1_024),
      gclid: 'g'.repeat(1_024),
      gadSource: 'a'.repeat(1_024),
      fbclid: 'f'.repeat(1_024),
    });
    expect(result.ok && result.warnings).toEqual(['field_truncated']);
  });

  it('keeps strings at exactly the limit, without a warning', () => {
    const url = 'https://x.test/' + 'u'.repeat(8_192 - 15);
    const result = run(line({ distinct_id: 'd'.repeat(1_024) }, { $current_url: url, utm_source: 's'.repeat(1_024) }));
    const event = accepted(result);
    expect(event.currentUrl).toBe(url);
    expect(event.distinctId).toHaveLength(1_024);
    expect(event.utmSource).toHaveLength(1_024);
    expect(result.ok && result.warnings).toEqual([]);
  });

  it('never splits a surrogate pair at the cut', () => {
    // '😀' is two UTF-16 units; the pair straddles the limit, so it is dropped whole.
    const url = 'https://x.test/' + 'u'.repeat(8_192 - 16) + '😀' + 'tail';
    const source = 's'.repeat(1_023) + '😀😀';
    const event = accepted(run(line({ distinct_id: 'd'.repeat(1_023) + '🦔' }, { $current_url: url, utm_source: source })));
    expect(event.currentUrl).toBe(url.slice(0, 8_191));
    expect(event.utmSource).toBe('s'.repeat(1_023));
    expect(event.distinctId).toBe('d'.repeat(1_023));
    // a pair that ends exactly at the limit is kept
    const fits = 's'.repeat(1_022) + '😀';
    expect(accepted(run(line({}, { utm_source: fits + 'x' }))).utmSource).toBe(fits);
    for (const s of [event.currentUrl, event.utmSource, event.distinctId]) expect(LONE_SURROGATE.test(s ?? '')).toBe(false);
  });

  it('an attribution string cut to nothing (a pair at a limit of 1) is null, not ""', () => {
    const limits: Limits = { maxMessageBytes: MiB, maxUrlLength: 1, maxFieldLength: 1 };
    const result = run(line({}, { $current_url: '😀/x', utm_source: '😀', $referring_domain: 'ab' }), { limits });
    const event = accepted(result);
    expect(event.referringDomain).toBe('a');
    expect(event.utmSource).toBeNull();
    expect(event.currentUrl).toBeNull();
  });

  it('honours custom maxUrlLength and maxFieldLength', () => {
    const limits: Limits = { maxMessageBytes: MiB, maxUrlLength: 20, maxFieldLength: 3 };
    const event = accepted(run(line(), { limits }));
    expect(event.currentUrl).toBe('https://www.northwin');
    expect(event.utmSource).toBe('goo');
    expect(event.distinctId).toBe('019');
  });
});

describe('posthog-events: normalize never throws', () => {
  const RUNS = { numRuns: 500, seed: 20261120 };
  const REASONS = new Set<string>(REJECT_REASONS);

  function wellFormed(result: Normalized): void {
    if (result.ok) {
      expect(typeof result.event.uuid).toBe('string');
      expect(Number.isSafeInteger(result.event.timestamp)).toBe(true);
    } else {
      expect(REASONS.has(result.reason)).toBe(true);
    }
  }

  const check = (raw: string): void => {
    // a throw fails the property with the input as counterexample
    wellFormed(normalize('posthog-events', raw));
  };

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), RUNS);
  });

  it('on arbitrary JSON text', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), check), RUNS);
  });

  it('on arbitrary values serialised', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 5 }), (value) => {
        check(serialise(value));
      }),
      RUNS,
    );
  });

  it('on a valid line with any field replaced by an arbitrary value', () => {
    const keys = ['uuid', 'event', 'team_id', 'distinct_id', 'timestamp', 'properties', 'elements_chain'];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.anything({ maxDepth: 4 }), (key, value) => {
        check(text(line({ [key]: value })));
      }),
      RUNS,
    );
  });

  it('on a valid line with any property replaced by an arbitrary value, as a string or an object', () => {
    const keys = [...Object.keys(BASE_PROPERTIES), '$ignore_sent_at', '__proto__', 'constructor', 'toString'];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (key, value, asObject) => {
        const props = { ...BASE_PROPERTIES, [key]: value };
        check(text(line({ properties: asObject ? props : JSON.stringify(props) })));
      }),
      RUNS,
    );
  });

  it('on deeply nested arrays and objects', () => {
    const n = 100_000;
    for (const raw of [
      '['.repeat(n),
      '['.repeat(n) + ']'.repeat(n),
      '{"a":'.repeat(n),
      '{"a":'.repeat(n) + '1' + '}'.repeat(n),
      text(line({ properties: '['.repeat(n) + ']'.repeat(n) })),
      text(line({ properties: '{"$session_id":' + '['.repeat(n) + ']'.repeat(n) + '}' })),
      text(line({ properties: '['.repeat(n) })),
    ]) {
      check(raw);
    }
  });
});
