/**
 * Golden fixtures: the same hand-written scenario in both input formats (fixtures/README.md).
 * Every line is normalised; rejections per reason must equal expected-rejections.json and the
 * oracle's sessions of the accepted events must equal expected-sessions.json, which was worked
 * out by hand. A few raw facts keep the fixtures honest (realistic size, skew that matters).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SessionBuffer, stateToSession } from './buffer.js';
import { compareSessions, SESSION_COLUMNS, type Session } from './derive.js';
import { REJECT_REASONS, type InputFormat, type Normalized, type SessionEvent } from './event.js';
import { normalize, type NormalizeOptions } from './formats/index.js';
import { sessionize } from './oracle.js';
import { cloneState, mergeInto, sessionKey, type SessionState } from './session.js';
import { parseTimestamp } from './time.js';
import { uuidV7Millis } from './uuid.js';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, what: string): Obj {
  if (!isObj(value)) throw new Error(`${what}: not an object`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: not a string`);
  return value;
}

const OPTIONS: NormalizeOptions = {
  tokenTeams: new Map([
    ['phc_sessionizerGoldenToken0000000000000000', 2],
    ['phc_sessionizerGoldenOtherTeam000000000000', 3],
  ]),
};

const FILES: readonly { readonly format: InputFormat; readonly file: string }[] = [
  { format: 'posthog-events', file: 'posthog-events.ndjson' },
  { format: 'posthog-capture', file: 'posthog-capture.ndjson' },
];

const expectedSessions = JSON.parse(read('expected-sessions.json')) as Session[];

/**
 * GeoIP properties are added by PostHog's ingestion: processed events carry them, raw capture
 * messages do not. Everything else is the same in both files.
 */
const GEOIP_COLUMNS = [
  'geoip_country_code',
  'geoip_subdivision_1_code',
  'geoip_subdivision_1_name',
  'geoip_city_name',
  'geoip_time_zone',
] as const;
const expectedFor = (format: InputFormat): Session[] =>
  format === 'posthog-events'
    ? expectedSessions
    : expectedSessions.map((s) => ({ ...s, ...Object.fromEntries(GEOIP_COLUMNS.map((c) => [c, null])) }));
const withoutGeoip = (e: SessionEvent): SessionEvent => {
  if (e.props === undefined) return e;
  const props = Object.fromEntries(Object.entries(e.props).filter(([k]) => !k.startsWith('$geoip_')));
  const { props: _drop, ...rest } = e;
  return Object.keys(props).length === 0 ? rest : { ...rest, props };
};
const expectedRejections = obj(JSON.parse(read('expected-rejections.json')), 'expected-rejections.json');

function linesOf(file: string): string[] {
  const text = read(file);
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

interface Run {
  readonly lines: readonly string[];
  readonly results: readonly Normalized[];
  readonly events: readonly SessionEvent[];
}

function run(format: InputFormat, file: string): Run {
  const lines = linesOf(file);
  const results = lines.map((line) => normalize(format, line, OPTIONS));
  const events = results.flatMap((r) => (r.ok ? [r.event] : []));
  return { lines, results, events };
}

/** The event's properties, whichever the format. Null for a line that is not JSON. */
function propertiesOf(format: InputFormat, line: string): { event: string; properties: Obj; data: Obj | null; message: Obj } | null {
  let message: Obj;
  try {
    message = obj(JSON.parse(line), 'line');
  } catch {
    return null;
  }
  if (format === 'posthog-events') {
    return {
      event: str(message['event'], 'event'),
      properties: obj(JSON.parse(str(message['properties'], 'properties')), 'properties'),
      data: null,
      message,
    };
  }
  const data = obj(JSON.parse(str(message['data'], 'data')), 'data');
  return { event: str(data['event'], 'data.event'), properties: obj(data['properties'], 'data.properties'), data, message };
}

describe.each(FILES)('golden $file', ({ format, file }) => {
  const { lines, results, events } = run(format, file);

  it('rejects exactly the expected lines, per reason', () => {
    const expected = obj(expectedRejections[file], file);
    const counts = Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0]));
    for (const r of results) if (!r.ok) counts[r.reason] = (counts[r.reason] ?? 0) + 1;
    expect(counts).toEqual(expected);
  });

  it('accepts every other line, without warnings', () => {
    const rejected = Object.values(obj(expectedRejections[file], file)).reduce<number>((n, c) => n + Number(c), 0);
    expect(events).toHaveLength(lines.length - rejected);
    for (const r of results) if (r.ok) expect(r.warnings).toEqual([]);
  });

  it('sessionizes to expected-sessions.json', () => {
    expect(sessionize(events)).toEqual(expectedFor(format));
  });

  it('gives the same results under the strict session-id window (tolerances 0): every clock here is slow', () => {
    const strict = { ...OPTIONS, sessionIdToleranceMs: 0, sessionIdClientToleranceMs: 0 };
    expect(lines.map((line) => normalize(format, line, strict))).toEqual(results);
  });

  it('streams to the same sessions, whatever the flush split (partial states merged)', () => {
    for (const cut of [0, 3, 8, 13, 21]) {
      const buffer = new SessionBuffer();
      const partials: SessionState[] = [];
      events.forEach((e, i) => {
        if (i === cut) partials.push(...buffer.drain());
        buffer.add(e);
      });
      partials.push(...buffer.drain());
      const merged = new Map<string, SessionState>();
      for (const state of partials.reverse()) {
        const key = sessionKey(state.teamId, state.sessionId);
        const into = merged.get(key);
        if (into === undefined) merged.set(key, cloneState(state));
        else mergeInto(into, state);
      }
      expect([...merged.values()].map((s) => stateToSession(s)).sort(compareSessions)).toEqual(expectedFor(format));
    }
  });

  it('keeps the pageviews realistic: at least 25 distinct $-properties each', () => {
    let pageviews = 0;
    for (const line of lines) {
      const parsed = propertiesOf(format, line);
      if (parsed?.event !== '$pageview') continue;
      pageviews += 1;
      const dollar = Object.keys(parsed.properties).filter((k) => k.startsWith('$'));
      expect(dollar.length, line.slice(0, 120)).toBeGreaterThanOrEqual(25);
      for (const key of [
        '$session_id',
        '$current_url',
        '$referring_domain',
        '$lib',
        '$lib_version',
        '$os',
        '$browser',
        '$device_id',
        '$window_id',
        '$pageview_id',
        '$insert_id',
        '$raw_user_agent',
      ]) {
        expect(parsed.properties, key).toHaveProperty([key]);
      }
    }
    expect(pageviews).toBeGreaterThanOrEqual(10);
  });

  it('carries autocapture elements the way the format does', () => {
    let autocaptures = 0;
    for (const line of lines) {
      const parsed = propertiesOf(format, line);
      if (parsed?.event !== '$autocapture') continue;
      autocaptures += 1;
      expect(parsed.properties).toHaveProperty(['$event_type'], 'click');
      expect(typeof parsed.properties['$el_text']).toBe('string');
      if (format === 'posthog-events') expect(str(parsed.message['elements_chain'], 'elements_chain')).toMatch(/^[a-z]+[.:]/);
      else expect(Array.isArray(parsed.properties['$elements'])).toBe(true);
    }
    expect(autocaptures).toBe(4);
  });

  it('repeats exactly two lines byte for byte (duplicates)', () => {
    const seen = new Map<string, number>();
    for (const line of lines) seen.set(line, (seen.get(line) ?? 0) + 1);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([2, 2]);
  });

  it('uses session ids whose UUIDv7 time is at or just before their events (2026-11-20)', () => {
    for (const e of events) {
      const startMs = uuidV7Millis(e.sessionId);
      expect(e.timestamp / 1_000 - startMs).toBeGreaterThanOrEqual(0);
      expect(e.timestamp / 1_000 - startMs).toBeLessThan(60 * 60 * 1_000);
      expect(new Date(startMs).toISOString().slice(0, 10)).toBe('2026-11-20');
    }
  });
});

describe('golden: both formats', () => {
  const byFormat = FILES.map(({ format, file }) => run(format, file));

  it('describe the same accepted events', () => {
    const sorted = (events: readonly SessionEvent[]): SessionEvent[] =>
      [...events].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
    const [events, capture] = byFormat;
    expect(sorted(capture?.events ?? [])).toEqual(sorted(events?.events ?? []).map(withoutGeoip));
  });

  it('expected-sessions.json has exactly the Session columns, sorted by team then session id', () => {
    for (const s of expectedSessions) expect(Object.keys(s)).toEqual([...SESSION_COLUMNS]);
    expect([...expectedSessions].sort(compareSessions)).toEqual(expectedSessions);
    expect(expectedSessions.map((s) => s.channel_type)).toEqual([
      'Organic Search',
      'Paid Social',
      'Direct',
      'Email',
      'Paid Search',
      'Unknown',
      'Referral',
    ]);
  });

  it('team 3 reuses the session id of team 2’s Google visit', () => {
    const ids = expectedSessions.map((s) => `${s.team_id}:${s.session_id}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(expectedSessions[0]?.session_id).toBe(expectedSessions[6]?.session_id);
  });
});

describe('golden capture file: the clock-skew rule matters', () => {
  const lines = linesOf('posthog-capture.ndjson');
  const parsed = lines.flatMap((line) => {
    const p = propertiesOf('posthog-capture', line);
    const result = normalize('posthog-capture', line, OPTIONS);
    return p?.data && result.ok ? [{ ...p, data: p.data, event: result.event }] : [];
  });

  it('has a client clock minutes off: client timestamps differ from the corrected time by more than a minute', () => {
    const skewed = parsed.filter(({ data, event }) => {
      const ts = typeof data['timestamp'] === 'string' ? parseTimestamp(data['timestamp']) : null;
      return ts !== null && Math.abs(ts - event.timestamp) > 60_000_000;
    });
    expect(skewed.length).toBeGreaterThanOrEqual(10);
    // and every message carries sent_at
    for (const { message } of parsed) expect(typeof message['sent_at']).toBe('string');
  });

  it('has exactly one event with offset only, and it lands at now − offset', () => {
    const withOffset = parsed.filter(({ data }) => data['offset'] !== undefined);
    expect(withOffset).toHaveLength(1);
    const [only] = withOffset;
    if (only === undefined) throw new Error('unreachable');
    expect(only.data['timestamp']).toBeUndefined();
    const now = parseTimestamp(str(only.message['now'], 'now'));
    expect(now).not.toBeNull();
    expect(only.event.timestamp).toBe((now ?? 0) - Number(only.data['offset']) * 1_000);
  });

  it('has exactly one event with $ignore_sent_at, and it keeps its own timestamp', () => {
    const ignoring = parsed.filter(({ properties }) => properties['$ignore_sent_at'] === true);
    expect(ignoring).toHaveLength(1);
    const [only] = ignoring;
    if (only === undefined) throw new Error('unreachable');
    expect(only.event.timestamp).toBe(parseTimestamp(str(only.data['timestamp'], 'timestamp')));
    // the skew rule would have given another time
    const now = parseTimestamp(str(only.message['now'], 'now')) ?? 0;
    const sent = parseTimestamp(str(only.message['sent_at'], 'sent_at')) ?? 0;
    expect(only.event.timestamp).not.toBe(now + (only.event.timestamp - sent));
  });
});
