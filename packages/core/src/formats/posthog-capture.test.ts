/**
 * `posthog-capture`: the raw message capture writes to Kafka. Every rejection reason, the team
 * lookup, PostHog's clock-skew rule case by case (to the microsecond at the 23h clamp), the
 * session-id bounds, the size limits and truncation, and that normalize() never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REJECT_REASONS, type Normalized, type RejectReason, type SessionEvent } from '../event.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { MICROS_PER_HOUR } from '../time.js';
import { NO_ATTRIBUTION } from '../../../../test/support/events.js';
import {
  captureEventTime,
  DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS,
  DEFAULT_SESSION_ID_TOLERANCE_MS,
  FUTURE_CUTOFF_MICROS,
  normalize,
  normalizeCaptureMessage,
  type NormalizeOptions,
} from './index.js';

/** A UUIDv7 with the given millisecond prefix; `rest` is the last three groups (`7xxx-8xxx-xxxxxxxxxxxx`). */
function uuidV7(ms: number, rest = '7a3c-8f1e-2d3c4b5a6978'): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${rest}`;
}

/** Microseconds of an ISO 8601 instant, plus extra microseconds. */
const us = (iso: string, micros = 0): number => Date.parse(iso) * 1_000 + micros;

/** An ISO 8601 UTC instant with microseconds, from microseconds since the epoch. */
function iso(micros: number): string {
  const ms = Math.floor(micros / 1_000);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = String(micros - Math.floor(micros / 1_000_000) * 1_000_000).padStart(6, '0');
  return `${base}.${frac}Z`;
}

const TOKEN = 'phc_sessionizerGoldenToken0000000000000000';
const OTHER_TOKEN = 'phc_sessionizerGoldenOtherTeam000000000000';
const TOKEN_TEAMS: ReadonlyMap<string, number> = new Map([
  [TOKEN, 2],
  [OTHER_TOKEN, 3],
]);
const OPTIONS: NormalizeOptions = { tokenTeams: TOKEN_TEAMS };

const SESSION_MS = Date.UTC(2026, 10, 20, 9, 55, 0, 250);
const SESSION_US = SESSION_MS * 1_000;
const SESSION_ID = uuidV7(SESSION_MS, '7c41-9b7e-52d1a0f4e3c6');
const EVENT_UUID = '01a1f869-5d2e-7e4f-9a0b-1c2d3e4f5a6b';

/** Server receive time. */
const NOW = '2026-11-20T10:00:05.208433Z';
const NOW_US = us('2026-11-20T10:00:05Z', 208_433);

const BASE_PROPERTIES: Record<string, unknown> = {
  $os: 'Mac OS X',
  $browser: 'Chrome',
  $lib: 'web',
  $lib_version: '1.298.0',
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
  token: TOKEN,
};

type Obj = Record<string, unknown>;

/** The client event (the `data` of a capture message). No timestamp by default: t = now. */
function data(overrides: Obj = {}, properties: Obj = {}): Obj {
  return { event: '$pageview', properties: { ...BASE_PROPERTIES, ...properties }, ...overrides };
}

/** A capture message; `data` is serialised to a JSON string as capture does. */
function message(overrides: Obj = {}, d: Obj | string = data()): Obj {
  return {
    uuid: EVENT_UUID,
    distinct_id: '019aa0ee-91b0-7c1d-8e2f-3a4b5c6d7e8f',
    ip: '203.0.113.42',
    site_url: 'https://eu.i.posthog.com',
    now: NOW,
    sent_at: null,
    token: TOKEN,
    data: typeof d === 'string' ? d : JSON.stringify(d),
    ...overrides,
  };
}

const text = (m: Obj): string => JSON.stringify(m);
const run = (m: Obj | string, options: NormalizeOptions = OPTIONS): Normalized =>
  normalizeCaptureMessage(typeof m === 'string' ? m : text(m), options);

function accepted(result: Normalized): SessionEvent {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.reason}: ${result.message}`);
  return result.event;
}

const warningsOf = (result: Normalized): readonly string[] => (result.ok ? result.warnings : ['(rejected)']);

function expectRejected(result: Normalized, reason: RejectReason): void {
  expect(result.ok ? 'accepted' : result.reason).toBe(reason);
  if (!result.ok) {
    expect(result.action).toBe(reason === 'no_session_id' || reason.startsWith('session_id') ? 'drop' : 'dlq');
    expect(result.message.length).toBeGreaterThan(0);
    expect(result.message.length).toBeLessThan(1_000);
  }
}

/** A message whose event time is exactly `micros` (received then, no timestamp or offset: t = now). */
const at = (micros: number, properties: Obj = {}): Obj => message({ now: iso(micros) }, data({}, properties));

/** JSON text of any value; JSON.stringify gives undefined for undefined and functions. */
function serialise(value: unknown): string {
  const json: unknown = JSON.stringify(value);
  return typeof json === 'string' ? json : 'undefined';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('posthog-capture: accepted input', () => {
  it('maps a capture message to a SessionEvent, team from the token', () => {
    expect(run(message())).toEqual({
      ok: true,
      warnings: [],
      event: {
        uuid: EVENT_UUID,
        event: '$pageview',
        teamId: 2,
        distinctId: '019aa0ee-91b0-7c1d-8e2f-3a4b5c6d7e8f',
        sessionId: SESSION_ID,
        timestamp: NOW_US,
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
        props: { $browser: 'Chrome', $os: 'Mac OS X' },
      } satisfies SessionEvent,
    });
  });

  it('is what normalize("posthog-capture", …) does', () => {
    expect(normalize('posthog-capture', text(message()), OPTIONS)).toEqual(run(message()));
  });

  it('maps a second token to its own team', () => {
    expect(accepted(run(message({ token: OTHER_TOKEN }))).teamId).toBe(3);
  });

  it('prefers team_id over the token, even an unknown one or without a token map', () => {
    expect(accepted(run(message({ team_id: 7 }))).teamId).toBe(7);
    expect(accepted(run(message({ team_id: 7, token: 'phc_unknown' }))).teamId).toBe(7);
    expect(accepted(run(message({ team_id: 7, token: undefined }), {})).teamId).toBe(7);
  });

  it('falls back to the token when team_id is null', () => {
    expect(accepted(run(message({ team_id: null }))).teamId).toBe(2);
  });

  it('accepts a numeric distinct_id as its decimal string', () => {
    expect(accepted(run(message({ distinct_id: 9120 }))).distinctId).toBe('9120');
  });

  it('accepts data given as an object', () => {
    expect(run(message({ data: data() }))).toEqual(run(message()));
  });

  it('reads missing or null properties as none (so no $session_id)', () => {
    expectRejected(run(message({}, { event: '$pageview' })), 'no_session_id');
    expectRejected(run(message({}, { event: '$pageview', properties: null })), 'no_session_id');
  });

  it('ignores unknown fields of the message and of data', () => {
    const noisy = message(
      { ip: '198.51.100.7', site_url: 'https://us.i.posthog.com', is_cookieless_mode: false, lib: 'web', future: { x: [1] } },
      data({ uuid: EVENT_UUID, $set_once: { $initial_os: 'Mac OS X' }, extra: 1 }),
    );
    expect(run(noisy)).toEqual(run(message()));
  });

  it("reads the person's email from data.$set (posthog-js $identify) and nothing else of it", () => {
    const identified = accepted(run(message({}, data({ $set: { email: 'ana@example.com', plan: 'pro' } }))));
    const plain = accepted(run(message()));
    expect(identified.props).toEqual({ ...plain.props, 'person_properties.email': 'ana@example.com' });
  });

  it('canonicalises an uppercase event uuid and an uppercase $session_id (posthog-ios sends uppercase)', () => {
    const event = accepted(run(message({ uuid: EVENT_UUID.toUpperCase() }, data({}, { $session_id: SESSION_ID.toUpperCase() }))));
    expect(event.uuid).toBe(EVENT_UUID);
    expect(event.sessionId).toBe(SESSION_ID);
  });

  it.each([
    ['empty string', ''],
    ['a number', 42],
    ['a boolean', false],
    ['null', null],
    ['an object', { value: 'google' }],
  ])('turns attribution given as %s into null', (_name, value) => {
    const keys = [
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
    ];
    const event = accepted(run(message({}, data({}, Object.fromEntries(keys.map((k) => [k, value]))))));
    expect(event).toMatchObject(NO_ATTRIBUTION);
  });
});

describe('posthog-capture: the clock-skew rule', () => {
  const CLIENT_TS = '2026-11-20T09:56:12.345Z'; // client clock, 4 minutes slow
  const SENT_AT = '2026-11-20T09:56:13.900Z';

  const timeOf = (result: Normalized): number => accepted(result).timestamp;

  it('timestamp and sent_at: t = now + (timestamp − sent_at)', () => {
    const result = run(message({ sent_at: SENT_AT }, data({ timestamp: CLIENT_TS })));
    expect(timeOf(result)).toBe(NOW_US - 1_555_000);
    expect(warningsOf(result)).toEqual([]);
  });

  it('timestamp and sent_at win over offset', () => {
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ timestamp: CLIENT_TS, offset: 99_000 }))))).toBe(NOW_US - 1_555_000);
  });

  it('keeps microseconds of now, timestamp and sent_at', () => {
    const result = run(message({ sent_at: '2026-11-20T09:56:13.000002Z' }, data({ timestamp: '2026-11-20T09:56:12.000001Z' })));
    expect(timeOf(result)).toBe(NOW_US - 1_000_001);
  });

  it('the skew can move t forward too (client timestamp after sent_at)', () => {
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ timestamp: '2026-11-20T09:56:14.000Z' }))))).toBe(NOW_US + 100_000);
  });

  it.each([true, 'true', 1, 'yes', {}])('$ignore_sent_at = %j: t = timestamp', (flag) => {
    const result = run(message({ sent_at: SENT_AT }, data({ timestamp: CLIENT_TS }, { $ignore_sent_at: flag })));
    expect(timeOf(result)).toBe(us(CLIENT_TS));
    expect(warningsOf(result)).toEqual([]);
  });

  it('$ignore_sent_at with an offset: the offset applies', () => {
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ timestamp: CLIENT_TS, offset: 1_500 }, { $ignore_sent_at: true }))))).toBe(
      NOW_US - 1_500_000,
    );
  });

  it.each([false, 0, '', null])('$ignore_sent_at = %j (falsy): sent_at is used', (flag) => {
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ timestamp: CLIENT_TS }, { $ignore_sent_at: flag }))))).toBe(NOW_US - 1_555_000);
  });

  it('offset only: t = now − offset', () => {
    expect(timeOf(run(message({}, data({ offset: 2_500 }))))).toBe(NOW_US - 2_500_000);
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ offset: 2_500 }))))).toBe(NOW_US - 2_500_000);
    expect(timeOf(run(message({}, data({ offset: 0 }))))).toBe(NOW_US);
    expect(timeOf(run(message({}, data({ offset: 1.5 }))))).toBe(NOW_US - 1_500);
  });

  it('offset with a timestamp but no sent_at: offset first (the rule’s order)', () => {
    expect(timeOf(run(message({}, data({ timestamp: CLIENT_TS, offset: 2_500 }))))).toBe(NOW_US - 2_500_000);
  });

  it('timestamp only: t = timestamp', () => {
    expect(timeOf(run(message({}, data({ timestamp: CLIENT_TS }))))).toBe(us(CLIENT_TS));
    expect(timeOf(run(message({ sent_at: '' }, data({ timestamp: CLIENT_TS }))))).toBe(us(CLIENT_TS));
  });

  it('accepts ClickHouse-style and offset timestamps in now, sent_at and timestamp', () => {
    const result = run(
      message(
        { now: '2026-11-20 10:00:05.208433', sent_at: '2026-11-20T10:56:13.900+01:00' },
        data({ timestamp: '2026-11-20 09:56:12.345' }),
      ),
    );
    expect(timeOf(result)).toBe(NOW_US - 1_555_000);
  });

  it('neither timestamp nor offset: t = now (sent_at alone changes nothing)', () => {
    expect(timeOf(run(message()))).toBe(NOW_US);
    expect(timeOf(run(message({ sent_at: SENT_AT })))).toBe(NOW_US);
    expect(timeOf(run(message({ sent_at: SENT_AT }, data({ timestamp: null, offset: null }))))).toBe(NOW_US);
    expect(timeOf(run(message({}, data({ timestamp: '' }))))).toBe(NOW_US);
  });

  describe('future clamp at now + 23h', () => {
    const withTimestamp = (micros: number): Normalized => run(message({}, data({ timestamp: iso(micros) })));

    it('23h − 1µs after now is kept', () => {
      const result = withTimestamp(NOW_US + 23 * MICROS_PER_HOUR - 1);
      expect(timeOf(result)).toBe(NOW_US + 23 * MICROS_PER_HOUR - 1);
      expect(warningsOf(result)).toEqual([]);
    });

    it('exactly 23h after now is kept (only “more than 23h” is clamped)', () => {
      const result = withTimestamp(NOW_US + 23 * MICROS_PER_HOUR);
      expect(timeOf(result)).toBe(NOW_US + 23 * MICROS_PER_HOUR);
      expect(warningsOf(result)).toEqual([]);
    });

    it('23h + 1µs after now becomes now, with timestamp_in_future_clamped', () => {
      const result = withTimestamp(NOW_US + 23 * MICROS_PER_HOUR + 1);
      expect(timeOf(result)).toBe(NOW_US);
      expect(warningsOf(result)).toEqual(['timestamp_in_future_clamped']);
    });

    it('applies to the skew-corrected time and to a negative offset', () => {
      // timestamp 23h + 1µs after sent_at
      const skewed = run(message({ sent_at: SENT_AT }, data({ timestamp: iso(us(SENT_AT) + 23 * MICROS_PER_HOUR + 1) })));
      expect(timeOf(skewed)).toBe(NOW_US);
      expect(warningsOf(skewed)).toEqual(['timestamp_in_future_clamped']);
      const offset = run(message({}, data({ offset: -(24 * 3_600_000) })));
      expect(timeOf(offset)).toBe(NOW_US);
      expect(warningsOf(offset)).toEqual(['timestamp_in_future_clamped']);
    });

    it('FUTURE_CUTOFF_MICROS is 23 hours', () => {
      expect(FUTURE_CUTOFF_MICROS).toBe(23 * MICROS_PER_HOUR);
    });
  });

  it('an unparseable sent_at is ignored with sent_at_invalid_ignored', () => {
    const result = run(message({ sent_at: 'not a date' }, data({ timestamp: CLIENT_TS })));
    expect(timeOf(result)).toBe(us(CLIENT_TS));
    expect(warningsOf(result)).toEqual(['sent_at_invalid_ignored']);
    // then offset, then now, as if sent_at were absent
    expect(timeOf(run(message({ sent_at: '2026-02-30T00:00:00Z' }, data({ timestamp: CLIENT_TS, offset: 700 }))))).toBe(NOW_US - 700_000);
    const none = run(message({ sent_at: '1795730403123' }));
    expect(timeOf(none)).toBe(NOW_US);
    expect(warningsOf(none)).toEqual(['sent_at_invalid_ignored']);
  });

  it('both warnings at once', () => {
    // a client clock 30 h fast, whose session id is from the same clock
    const clientNow = NOW_US + 30 * MICROS_PER_HOUR;
    const ownId = uuidV7(Math.floor(clientNow / 1_000) - 1_000);
    const result = run(message({ sent_at: 'garbage' }, data({ timestamp: iso(clientNow) }, { $session_id: ownId })));
    expect(timeOf(result)).toBe(NOW_US);
    expect([...warningsOf(result)].sort()).toEqual(['sent_at_invalid_ignored', 'timestamp_in_future_clamped']);
  });

  it('captureEventTime reports an unparseable timestamp as an error', () => {
    expect(captureEventTime(NOW_US, 'nope', SENT_AT, null, false)).toHaveProperty('error');
    expect(captureEventTime(NOW_US, CLIENT_TS, SENT_AT, null, false)).toEqual({
      timestamp: NOW_US - 1_555_000,
      clientTimestamp: us('2026-11-20T09:56:12.345Z'),
      warnings: [],
    });
  });
});

describe('posthog-capture: rejections', () => {
  it.each(['{', '', 'not json', '{"uuid": "x",}', '{"a":1} trailing'])('malformed_json: message %j', (raw) => {
    expectRejected(run(raw), 'malformed_json');
  });

  it.each(['{"event":', '{not json}', '', "{'event':'$pageview'}"])('malformed_json: data string %j', (d) => {
    expectRejected(run(message({ data: d })), 'malformed_json');
  });

  it.each(['123', '[]', 'null', '"a string"', 'false'])('schema_invalid: non-object JSON message %s', (raw) => {
    expectRejected(run(raw), 'schema_invalid');
  });

  it.each(['123', '[]', 'null', '"{}"', '[{"event":"$pageview"}]'])('schema_invalid: data JSON %s is not an object', (d) => {
    expectRejected(run(message({ data: d })), 'schema_invalid');
  });

  it.each<[string, unknown]>([
    ['a number', 123],
    ['an array', []],
    ['a string', '{"$session_id":"x"}'],
    ['true', true],
  ])('schema_invalid: data.properties is %s', (_name, properties) => {
    expectRejected(run(message({}, { event: '$pageview', properties })), 'schema_invalid');
  });

  it.each<[string, Obj]>([
    ['uuid missing', { uuid: undefined }],
    ['uuid a number', { uuid: 1 }],
    ['distinct_id missing', { distinct_id: undefined }],
    ['distinct_id null', { distinct_id: null }],
    ['distinct_id an array', { distinct_id: ['a'] }],
    ['now missing', { now: undefined }],
    ['now a number', { now: 1795730405208 }],
    ['data missing', { data: undefined }],
    ['data a number', { data: 5 }],
    ['team_id zero', { team_id: 0 }],
    ['team_id fractional', { team_id: 2.5 }],
    ['token a number', { token: 2 }],
    ['sent_at a number', { sent_at: 1795730405208 }],
  ])('schema_invalid: %s', (_name, overrides) => {
    expectRejected(run(message(overrides)), 'schema_invalid');
  });

  it.each<[string, Obj]>([
    ['event missing', { event: undefined }],
    ['event empty', { event: '' }],
    ['event a number', { event: 1 }],
    ['timestamp a number', { timestamp: 1795730405208 }],
    ['offset a string', { offset: '1000' }],
  ])('schema_invalid: data.%s', (_name, overrides) => {
    expectRejected(run(message({}, data(overrides))), 'schema_invalid');
  });

  it.each([
    'not-a-uuid',
    '',
    '01a1f869-5d2e-7e4f-9a0b-1c2d3e4f5a6',
    '01a1f8695d2e7e4f9a0b1c2d3e4f5a6b',
    '{01a1f869-5d2e-7e4f-9a0b-1c2d3e4f5a6b}',
  ])('schema_invalid: event uuid %j', (uuid) => {
    expectRejected(run(message({ uuid })), 'schema_invalid');
  });

  it.each(['', 'yesterday', '2026-02-30T10:00:05Z', '1795730405208', '2026-11-20'])('timestamp_invalid: now %j', (now) => {
    expectRejected(run(message({ now })), 'timestamp_invalid');
  });

  it.each(['yesterday', '2026-11-31T10:00:00Z', '1795730405208', '2026-11-20T25:00:00Z'])(
    'timestamp_invalid: data.timestamp %j',
    (timestamp) => {
      expectRejected(run(message({}, data({ timestamp }))), 'timestamp_invalid');
      // whatever sent_at and offset say
      expectRejected(run(message({ sent_at: '2026-11-20T10:00:00Z' }, data({ timestamp, offset: 10 }))), 'timestamp_invalid');
    },
  );

  it('timestamp_invalid: data.timestamp even when $ignore_sent_at', () => {
    expectRejected(run(message({}, data({ timestamp: 'soon' }, { $ignore_sent_at: true }))), 'timestamp_invalid');
  });

  it.each<[string, Obj, NormalizeOptions]>([
    ['a token that maps to no team', { token: 'phc_UnknownProjectToken7f3a9c2b1d0e8f6a5b4c3' }, OPTIONS],
    ['no token and no team_id', { token: undefined }, OPTIONS],
    ['a null token', { token: null }, OPTIONS],
    ['an empty token', { token: '' }, OPTIONS],
    ['no token map configured', {}, {}],
    ['an empty token map', {}, { tokenTeams: new Map() }],
    ['a token differing in case', { token: TOKEN.toUpperCase() }, OPTIONS],
  ])('unknown_token: %s', (_name, overrides, options) => {
    expectRejected(run(message(overrides), options), 'unknown_token');
  });

  it.each<[string, Obj]>([
    ['missing', { $session_id: undefined }],
    ['null', { $session_id: null }],
    ['empty', { $session_id: '' }],
  ])('no_session_id: $session_id %s', (_name, props) => {
    expectRejected(run(message({}, data({}, props))), 'no_session_id');
  });

  it.each<[string, unknown]>([
    ['a UUIDv4', '2f1e6c0a-8d4b-4e6f-9a3c-5b7d1e2f4a60'],
    ['a v7 with the wrong variant', SESSION_ID.slice(0, 19) + 'c' + SESSION_ID.slice(20)],
    ['a v7 without hyphens', SESSION_ID.replaceAll('-', '')],
    ['not a uuid', 'sess_123'],
    ['a number', 17],
    ['an object', { id: SESSION_ID }],
  ])('session_id_not_uuidv7: $session_id is %s', (_name, value) => {
    expectRejected(run(message({}, data({}, { $session_id: value }))), 'session_id_not_uuidv7');
  });
});

describe('posthog-capture: the session-id window', () => {
  const DAY = 24 * MICROS_PER_HOUR;
  const MINUTES_3 = 3 * 60_000_000;
  /** The server-clock rule at its strictest, so that the client clock's verdict decides. */
  const STRICT: NormalizeOptions = { ...OPTIONS, sessionIdToleranceMs: 0 };

  /**
   * An event whose own timestamp is `client` on the client's clock, sent 200 ms later, and
   * received 30 ms after that by a server whose clock is `fastBy` behind the client's:
   * t = now + (timestamp - sent_at) = client - fastBy + 30 ms.
   */
  const fromClient = (client: number, fastBy: number, properties: Obj = {}): Obj =>
    message({ now: iso(client + 230_000 - fastBy), sent_at: iso(client + 200_000) }, data({ timestamp: iso(client) }, properties));

  const messageOf = (result: Normalized): string => (result.ok ? '(accepted)' : result.message);

  it('defaults: 60 s on the client clock, 24 h on the server clock', () => {
    expect(DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS).toBe(60_000);
    expect(DEFAULT_SESSION_ID_TOLERANCE_MS).toBe(86_400_000);
  });

  it("keeps a first event stamped 41 ms before its session id was minted (posthog-js's ordering), even with the strict server rule", () => {
    const first = SESSION_US - 41_000;
    expect(accepted(run(fromClient(first, 0), STRICT)).timestamp).toBe(first + 30_000);
    // the old rule judged the corrected time with no tolerance: 11 ms before the id
    expectRejected(run(fromClient(first, 0), { ...STRICT, sessionIdClientToleranceMs: 0 }), 'session_id_in_future');
  });

  it.each([
    ['3 minutes fast', MINUTES_3],
    ['3 minutes slow', -MINUTES_3],
    ['5 hours fast', 5 * MICROS_PER_HOUR],
    ['2 days slow', -2 * DAY],
  ])('a client clock %s keeps every event: the window is judged on its own timestamps', (_name, fastBy) => {
    for (const client of [SESSION_US - 41_000, SESSION_US + 1_500_000, SESSION_US + 20 * 60_000_000, SESSION_US + DAY - 1]) {
      expect(accepted(run(fromClient(client, fastBy), STRICT)).timestamp).toBe(client - fastBy + 30_000);
    }
  });

  it('client-clock bounds, to the microsecond: uuid_ms - 60 s <= timestamp < uuid_ms + 24h', () => {
    expect(accepted(run(fromClient(SESSION_US - 60_000_000, MINUTES_3), STRICT)).timestamp).toBe(
      SESSION_US - 60_000_000 - MINUTES_3 + 30_000,
    );
    const early = run(fromClient(SESSION_US - 60_000_001, MINUTES_3), STRICT);
    expectRejected(early, 'session_id_in_future');
    expect(messageOf(early)).toBe(
      `$session_id ${SESSION_ID} starts 1 min 0.000001 s after the event's own timestamp (tolerance 1 min 0 s) and 3 min 59.970001 s after the event's server-clock time (tolerance 0 s)`,
    );
    // slow clock: on the server clock the last microsecond is 3 min past the 24 h; on its own, inside
    expect(accepted(run(fromClient(SESSION_US + DAY - 1, -MINUTES_3), STRICT)).timestamp).toBe(SESSION_US + DAY - 1 + MINUTES_3 + 30_000);
    // fast clock: on the server clock 24 h after the id is still inside; on its own, expired
    const late = run(fromClient(SESSION_US + DAY, MINUTES_3));
    expectRejected(late, 'session_id_expired');
    expect(messageOf(late)).toBe(`$session_id ${SESSION_ID} is 24 h 0 min 0 s older than the event (client clock; limit 24 h)`);
  });

  it('sessionIdClientToleranceMs moves only the client lower bound', () => {
    const none = { ...STRICT, sessionIdClientToleranceMs: 0 };
    expect(accepted(run(fromClient(SESSION_US, MINUTES_3), none)).timestamp).toBe(SESSION_US - MINUTES_3 + 30_000);
    expectRejected(run(fromClient(SESSION_US - 1, MINUTES_3), none), 'session_id_in_future');
    const five = { ...STRICT, sessionIdClientToleranceMs: 5_000 };
    expect(accepted(run(fromClient(SESSION_US - 5_000_000, 0), five)).timestamp).toBe(SESSION_US - 5_000_000 + 30_000);
    expectRejected(run(fromClient(SESSION_US - 5_000_001, 0), five), 'session_id_in_future');
    expectRejected(
      run(fromClient(SESSION_US + DAY, -MINUTES_3), { ...OPTIONS, sessionIdClientToleranceMs: 86_400_000 }),
      'session_id_expired',
    );
  });

  it("keeps an event inside the window on either clock: a backend SDK forwarding a fast browser's session id", () => {
    // the browser, 3 min fast, minted the id; posthog-node (server clock) sends an event 10 s later
    const backend = SESSION_US - MINUTES_3 + 10_000_000;
    expect(accepted(run(fromClient(backend, 0, { $lib: 'posthog-node' }))).timestamp).toBe(backend + 30_000);
    const strict = run(fromClient(backend, 0, { $lib: 'posthog-node' }), STRICT);
    expectRejected(strict, 'session_id_in_future');
    expect(messageOf(strict)).toContain("2 min 50 s after the event's own timestamp (tolerance 1 min 0 s)");
  });

  it('$ignore_sent_at: the timestamp as sent is both the time and the client clock', () => {
    const result = run(message({ sent_at: iso(NOW_US) }, data({ timestamp: iso(SESSION_US - 41_000) }, { $ignore_sent_at: true })), STRICT);
    expect(accepted(result).timestamp).toBe(SESSION_US - 41_000);
  });

  it('without a client timestamp (offset only, or nothing): judged on the server clock, default 24 h', () => {
    const offsetOnly = (t: number): Obj => message({ now: iso(t + 1_000_000) }, data({ offset: 1_000 }));
    expect(accepted(run(offsetOnly(SESSION_US - MINUTES_3))).timestamp).toBe(SESSION_US - MINUTES_3);
    expect(accepted(run(offsetOnly(SESSION_US - DAY))).timestamp).toBe(SESSION_US - DAY);
    expectRejected(run(offsetOnly(SESSION_US - DAY - 1)), 'session_id_in_future');
    expect(accepted(run(offsetOnly(SESSION_US), STRICT)).timestamp).toBe(SESSION_US);
    const strict = run(offsetOnly(SESSION_US - 1), { ...STRICT, sessionIdClientToleranceMs: 86_400_000 });
    expectRejected(strict, 'session_id_in_future');
    expect(messageOf(strict)).toBe(`$session_id ${SESSION_ID} starts 0.000001 s after the event's server-clock time (tolerance 0 s)`);
    // neither timestamp nor offset: t = now
    expect(accepted(run(at(SESSION_US - DAY))).timestamp).toBe(SESSION_US - DAY);
    expectRejected(run(at(SESSION_US - DAY - 1)), 'session_id_in_future');
    expect(accepted(run(at(SESSION_US + DAY - 1))).timestamp).toBe(SESSION_US + DAY - 1);
    expectRejected(run(at(SESSION_US + DAY)), 'session_id_expired');
    expect(accepted(run(at(SESSION_US), STRICT)).timestamp).toBe(SESSION_US);
    expectRejected(run(at(SESSION_US - 1), STRICT), 'session_id_in_future');
  });

  it('the session id rules apply after canonicalisation of an uppercase id', () => {
    expectRejected(run(at(SESSION_US - 1, { $session_id: SESSION_ID.toUpperCase() }), STRICT), 'session_id_in_future');
    expectRejected(run(at(SESSION_US + DAY, { $session_id: SESSION_ID.toUpperCase() })), 'session_id_expired');
  });

  it('a clamped future time: the window is still judged on the client timestamp', () => {
    // a client clock 30 h fast with an id from that clock: t is clamped to now, the session kept
    const clientNow = NOW_US + 30 * MICROS_PER_HOUR;
    const ownId = uuidV7(Math.floor(clientNow / 1_000) - 60_000);
    const kept = run(message({}, data({ timestamp: iso(clientNow) }, { $session_id: ownId })), STRICT);
    expect(accepted(kept).timestamp).toBe(NOW_US);
    expect(warningsOf(kept)).toEqual(['timestamp_in_future_clamped']);
    // the same timestamp with an id 30 h older on that clock: past the 24 h limit
    expectRejected(run(message({}, data({ timestamp: iso(clientNow) }))), 'session_id_expired');
  });
});

describe('posthog-capture: size limits and truncation', () => {
  const MiB = 1_048_576;
  const BIG: Limits = { ...DEFAULT_LIMITS, maxMessageBytes: 48 * MiB };

  it('event_too_large: a 10 MiB property', () => {
    expectRejected(run(message({}, data({}, { $el_text: 'x'.repeat(10 * MiB) }))), 'event_too_large');
  });

  it('event_too_large: a 1 MiB URL', () => {
    expectRejected(
      run(message({}, data({}, { $current_url: `https://www.northwind-trail.com/?q=${'a'.repeat(MiB)}` }))),
      'event_too_large',
    );
  });

  it('event_too_large: data given as an object counts too', () => {
    expectRejected(run(message({ data: data({}, { $el_text: 'x'.repeat(MiB) }) })), 'event_too_large');
  });

  it('accepts a message of exactly maxMessageBytes, rejects one byte more', () => {
    const raw = text(message());
    expect(run(raw, { ...OPTIONS, limits: { ...DEFAULT_LIMITS, maxMessageBytes: raw.length } }).ok).toBe(true);
    expectRejected(run(raw, { ...OPTIONS, limits: { ...DEFAULT_LIMITS, maxMessageBytes: raw.length - 1 } }), 'event_too_large');
  });

  it('counts the limit in UTF-8 bytes, not UTF-16 code units', () => {
    // 400,000 '€' are 400,000 UTF-16 units but 1,200,000 UTF-8 bytes: over the default 1 MiB.
    expectRejected(run(message({}, data({}, { $el_text: '€'.repeat(400_000) }))), 'event_too_large');
    const raw = text(message({}, data({}, { $el_text: '€' })));
    expectRejected(run(raw, { ...OPTIONS, limits: { ...DEFAULT_LIMITS, maxMessageBytes: raw.length } }), 'event_too_large');
  });

  it('with a raised maxMessageBytes, cuts a 1 MiB URL to maxUrlLength with field_truncated', () => {
    const url = `https://www.northwind-trail.com/search?q=${'a'.repeat(MiB)}`;
    const result = run(message({}, data({}, { $current_url: url })), { ...OPTIONS, limits: BIG });
    expect(accepted(result).currentUrl).toBe(url.slice(0, 8_192));
    expect(warningsOf(result)).toEqual(['field_truncated']);
  });

  it('with a raised maxMessageBytes, a 10 MiB attribution string is cut to maxFieldLength', () => {
    const result = run(message({}, data({}, { $referring_domain: 'r'.repeat(10 * MiB) })), { ...OPTIONS, limits: BIG });
    expect(accepted(result).referringDomain).toBe('r'.repeat(1_024));
    expect(warningsOf(result)).toEqual(['field_truncated']);
  });

  it('cuts distinct_id and click ids to maxFieldLength, warning once, next to other warnings', () => {
    const result = run(
      message(
        { distinct_id: 'd'.repeat(3_000), sent_at: 'bad' },
        data({}, { gclid: 'g'.repeat(3_000), fbclid: 'f'.repeat(1_025), utm_term: 't'.repeat(1_024) }),
      ),
    );
    const event = accepted(result);
    expect(event.distinctId).toBe('d'.repeat(1_024));
    expect(event.gclid).toBe('g'.repeat(1_024));
    expect(event.fbclid).toBe('f'.repeat(1_024));
    expect(event.utmTerm).toBe('t'.repeat(1_024));
    expect([...warningsOf(result)].sort()).toEqual(['field_truncated', 'sent_at_invalid_ignored']);
  });

  it('never splits a surrogate pair at the cut', () => {
    const url = 'https://x.test/' + 'u'.repeat(8_192 - 16) + '🦔🦔';
    const result = run(message({ distinct_id: '🦔'.repeat(600) }, data({}, { $current_url: url, utm_campaign: 'c'.repeat(1_023) + '🎄' })));
    const event = accepted(result);
    expect(event.currentUrl).toBe(url.slice(0, 8_191));
    expect(event.utmCampaign).toBe('c'.repeat(1_023));
    expect(event.distinctId).toBe('🦔'.repeat(512));
    for (const s of [event.currentUrl, event.utmCampaign, event.distinctId]) expect(LONE_SURROGATE.test(s ?? '')).toBe(false);
  });
});

describe('posthog-capture: normalize never throws', () => {
  const RUNS = { numRuns: 500, seed: 20261120 };
  const REASONS = new Set<string>(REJECT_REASONS);

  const check = (raw: string, options: NormalizeOptions = OPTIONS): void => {
    // a throw fails the property with the input as counterexample
    const result = normalize('posthog-capture', raw, options);
    if (result.ok) expect(Number.isSafeInteger(result.event.timestamp)).toBe(true);
    else expect(REASONS.has(result.reason)).toBe(true);
  };

  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        check(s);
      }),
      RUNS,
    );
  });

  it('on arbitrary JSON text', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (s) => {
        check(s);
      }),
      RUNS,
    );
  });

  it('on arbitrary values serialised, as the message or as its data', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 5 }), (value) => {
        const json = serialise(value);
        check(json);
        check(text(message({ data: json })));
        check(text(message({ data: value })));
      }),
      RUNS,
    );
  });

  it('on a valid message with any field of the message or of data replaced by an arbitrary value', () => {
    const messageKeys = ['uuid', 'distinct_id', 'now', 'sent_at', 'token', 'team_id', 'data'];
    const dataKeys = ['event', 'properties', 'timestamp', 'offset'];
    fc.assert(
      fc.property(
        fc.constantFrom(...messageKeys),
        fc.constantFrom(...dataKeys),
        fc.anything({ maxDepth: 4 }),
        fc.jsonValue({ maxDepth: 3 }),
        (mKey, dKey, mValue, dValue) => {
          check(text(message({ [mKey]: mValue })));
          check(text(message({ sent_at: '2026-11-20T09:56:13.900Z' }, data({ timestamp: '2026-11-20T09:56:12.345Z', [dKey]: dValue }))));
        },
      ),
      RUNS,
    );
  });

  it('on arbitrary timing fields (extreme offsets, timestamps and sent_at)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.double(), fc.integer()), { nil: undefined }),
        fc.option(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          { nil: undefined },
        ),
        fc.option(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          { nil: undefined },
        ),
        fc.boolean(),
        (offset, timestamp, sentAt, ignore) => {
          check(text(message({ sent_at: sentAt }, data({ offset, timestamp }, { $ignore_sent_at: ignore }))));
        },
      ),
      RUNS,
    );
  });

  it('on any property replaced by an arbitrary value', () => {
    const keys = [...Object.keys(BASE_PROPERTIES), '$ignore_sent_at', '__proto__', 'constructor', 'hasOwnProperty'];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 4 }), (key, value) => {
        check(text(message({}, data({}, { [key]: value }))));
      }),
      RUNS,
    );
  });

  it('on deeply nested arrays and objects', () => {
    const n = 100_000;
    for (const raw of [
      '['.repeat(n),
      '['.repeat(n) + ']'.repeat(n),
      '{"a":'.repeat(n) + '1' + '}'.repeat(n),
      text(message({ data: '['.repeat(n) + ']'.repeat(n) })),
      text(message({ data: '['.repeat(n) })),
      text(message({ data: '{"event":"x","properties":{"a":' + '['.repeat(n) + ']'.repeat(n) + '}}' })),
    ]) {
      check(raw);
    }
  });
});
