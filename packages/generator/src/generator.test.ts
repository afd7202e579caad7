/**
 * The generator against the sessionizer's own normalize(): every event it calls valid is
 * accepted with the session, team and time the generator intended; every fault is rejected for
 * the intended reason. Plus determinism, counts, realized rates, sizes and the shape of traffic.
 */
import { readFileSync } from 'node:fs';
import { detectBrowser, detectBrowserVersion, detectDeviceType, detectOS } from '@posthog/core';
import { describe, expect, it } from 'vitest';
import { isUuidV7, normalize, parseTimestamp, uuidV7Millis } from '@sessionizer/core';
import {
  DEFAULT_START_MS,
  FAULT_REASONS,
  INVALID_FAULTS,
  MESSAGE_KINDS,
  OUT_OF_ORDER_WINDOW,
  generate,
  messageSizeStats,
  tokenTeams,
  type Format,
  type GeneratedMessage,
  type GeneratorOptions,
  type MessageKind,
} from './index.js';
import { reorder } from './generator.js';
import { Rng } from './random.js';

const FORMATS: readonly Format[] = ['posthog-events', 'posthog-capture'];
const TOKENS = tokenTeams(3);
const HOUR_US = 3_600_000_000;
const RATES = { outOfOrder: 0.05, duplicates: 0.05, invalid: 0.04, noSessionId: 0.03 } as const;

const cache = new Map<string, GeneratedMessage[]>();
function messages(options: GeneratorOptions): GeneratedMessage[] {
  const key = JSON.stringify(options);
  let list = cache.get(key);
  if (list === undefined) {
    list = [...generate(options)];
    cache.set(key, list);
  }
  return list;
}

/** A clean 40k stream and a faulty 20k one per format. */
const clean = (format: Format): GeneratedMessage[] => messages({ seed: 20261120, format, events: 40_000 });
const faulty = (format: Format): GeneratedMessage[] => messages({ seed: 99, format, events: 20_000, rates: RATES });

/** The client-side properties of a message (posthog-events: the string; capture: data.properties). */
function propertiesOf(format: Format, value: string): Record<string, unknown> {
  const o = JSON.parse(value) as Record<string, unknown>;
  if (format === 'posthog-events') return JSON.parse(o['properties'] as string) as Record<string, unknown>;
  const data = JSON.parse(o['data'] as string) as { properties: Record<string, unknown> };
  return data.properties;
}

function eventName(format: Format, value: string): string {
  const o = JSON.parse(value) as Record<string, unknown>;
  if (format === 'posthog-events') return o['event'] as string;
  return (JSON.parse(o['data'] as string) as { event: string }).event;
}

function byKind(list: readonly GeneratedMessage[]): Record<MessageKind, number> {
  const counts = { event: 0, duplicate: 0, invalid: 0, no_session_id: 0 };
  for (const m of list) counts[m.kind]++;
  return counts;
}

describe('generate: determinism and counts', () => {
  // (generous timeout: this generates 30k messages, and on a busy machine took over the 5 s default)
  it('same seed → byte-identical stream; another seed → another stream', { timeout: 60_000 }, () => {
    for (const format of FORMATS) {
      const options: GeneratorOptions = { seed: 1234, format, events: 5_000, rates: RATES };
      const a = [...generate(options)];
      const b = [...generate(options)];
      expect(b.map((m) => m.key + '\t' + m.value).join('\n')).toBe(a.map((m) => m.key + '\t' + m.value).join('\n'));
      expect(b).toEqual(a);
      const c = [...generate({ ...options, seed: 1235 })];
      const same = c.filter((m, i) => m.value === a[i]?.value).length;
      expect(same).toBe(0);
    }
  });

  it('emits exactly `events` messages, whatever the rates', () => {
    for (const events of [0, 1, 2, 49, 50, 51, 777, 3_000]) {
      for (const rates of [{}, RATES, { outOfOrder: 1 }, { duplicates: 0.5, invalid: 0.3, noSessionId: 0.19, outOfOrder: 0.5 }]) {
        expect([...generate({ seed: events, format: 'posthog-capture', events, rates })]).toHaveLength(events);
      }
    }
  });

  it('an out-of-order rate only permutes the stream', () => {
    const base = [...generate({ seed: 5, format: 'posthog-events', events: 3_000 })];
    const shuffled = [...generate({ seed: 5, format: 'posthog-events', events: 3_000, rates: { outOfOrder: 0.2 } })];
    expect(shuffled.map((m) => m.value)).not.toEqual(base.map((m) => m.value));
    expect(shuffled.map((m) => m.value).sort()).toEqual(base.map((m) => m.value).sort());
  });

  it('starts at startMs (default 2026-11-20T10:00:00Z) and honours teams and activeSessions', () => {
    const first = [...generate({ seed: 3, format: 'posthog-events', events: 1 })][0];
    expect(first?.timestamp).toBe(DEFAULT_START_MS * 1_000);
    const startMs = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const list = [...generate({ seed: 3, format: 'posthog-capture', events: 5_000, startMs, teams: 7, activeSessions: 20 })];
    expect(list[0]?.timestamp).toBe(startMs * 1_000);
    for (const m of list) expect(m.timestamp).toBeGreaterThanOrEqual(startMs * 1_000);
    expect(new Set(list.map((m) => m.teamId))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    for (const m of list) expect(m.key.startsWith(`phc_loadgen_team_${m.teamId}:`)).toBe(true);
    // 20 sessions open at a time (those that end are replaced): the first 200 events come
    // from a few dozen sessions; with 2,000 open, from most of 200 (seeds 1–12: 165–184 sessions)
    const narrow = new Set(list.slice(0, 200).map((m) => m.sessionId)).size;
    const wide = [...generate({ seed: 3, format: 'posthog-capture', events: 5_000, activeSessions: 2_000 })];
    const wideSessions = new Set(wide.slice(0, 200).map((m) => m.sessionId)).size;
    expect(narrow).toBeLessThan(100);
    expect(wideSessions).toBeGreaterThan(150);
  });

  it('rejects bad options at the call', () => {
    const ok: GeneratorOptions = { seed: 1, format: 'posthog-events', events: 10 };
    expect(() => generate({ ...ok, events: -1 })).toThrow(RangeError);
    expect(() => generate({ ...ok, events: 1.5 })).toThrow(/events/);
    expect(() => generate({ ...ok, teams: 0 })).toThrow(/teams/);
    expect(() => generate({ ...ok, activeSessions: 0 })).toThrow(/activeSessions/);
    expect(() => generate({ ...ok, seed: Number.NaN })).toThrow(/seed/);
    expect(() => generate({ ...ok, format: 'csv' as Format })).toThrow(/format/);
    expect(() => generate({ ...ok, rates: { duplicates: 1.1 } })).toThrow(/duplicates/);
    expect(() => generate({ ...ok, rates: { invalid: -0.1 } })).toThrow(/invalid/);
    expect(() => generate({ ...ok, rates: { duplicates: 0.5, invalid: 0.5 } })).toThrow(/below 1/);
    expect(() => generate({ ...ok, startMs: Number.NaN })).toThrow(/startMs/);
  });

  it('tokenTeams maps phc_loadgen_team_<id> to ids 1..n', () => {
    expect([...tokenTeams(3)]).toEqual([
      ['phc_loadgen_team_1', 1],
      ['phc_loadgen_team_2', 2],
      ['phc_loadgen_team_3', 3],
    ]);
  });
});

describe('generate: faults', () => {
  it('realizes the requested rates', { timeout: 60_000 }, () => {
    for (const format of FORMATS) {
      const list = faulty(format);
      const n = list.length;
      const counts = byKind(list);
      const tolerance = 0.01;
      expect(Math.abs(counts.duplicate / n - RATES.duplicates)).toBeLessThan(tolerance);
      expect(Math.abs(counts.invalid / n - RATES.invalid)).toBeLessThan(tolerance);
      expect(Math.abs(counts.no_session_id / n - RATES.noSessionId)).toBeLessThan(tolerance);
      // Out of order: an event later than an event emitted before it.
      let max = -Infinity;
      let late = 0;
      let events = 0;
      for (const m of list) {
        if (m.kind !== 'event') continue;
        events++;
        if (m.timestamp < max) late++;
        max = Math.max(max, m.timestamp);
      }
      expect(Math.abs(late / events - RATES.outOfOrder)).toBeLessThan(tolerance);
      console.log(`${format}: ${n} messages`, counts, `late events ${(late / events).toFixed(4)}`);
      // every fault kind shows up
      expect(new Set(list.map((m) => m.fault).filter((f) => f !== undefined))).toEqual(new Set(INVALID_FAULTS));
    }
  });

  it('duplicates repeat a recent event byte for byte', () => {
    for (const format of FORMATS) {
      const list = faulty(format);
      const firstSeen = new Map<string, number>();
      list.forEach((m, i) => {
        if (m.kind === 'event') firstSeen.set(m.value, i);
      });
      for (const [i, m] of list.entries()) {
        if (m.kind !== 'duplicate') continue;
        const original = firstSeen.get(m.value);
        expect(original).toBeDefined();
        // shortly after (the original may itself have been held back by out-of-order)
        expect(Math.abs(i - (original ?? 0))).toBeLessThan(16 + 2 * OUT_OF_ORDER_WINDOW);
      }
    }
  });

  it('normalize() accepts every event and duplicate, as intended, and rejects every fault for its reason', { timeout: 120_000 }, () => {
    for (const format of FORMATS) {
      const reasons = new Map<string, number>();
      const problems: string[] = [];
      for (const m of [...faulty(format), ...clean(format)]) {
        const result = normalize(format, m.value, { tokenTeams: TOKENS });
        if (m.kind === 'event' || m.kind === 'duplicate') {
          if (!result.ok) {
            problems.push(`${m.kind} rejected (${result.reason}: ${result.message}): ${m.value.slice(0, 200)}`);
            continue;
          }
          const e = result.event;
          if (e.sessionId !== m.sessionId || e.teamId !== m.teamId || e.timestamp !== m.timestamp || result.warnings.length > 0) {
            problems.push(
              `${m.kind} normalized to ${JSON.stringify({ ...e, warnings: result.warnings })}, intended ${JSON.stringify({ ...m, value: undefined })}`,
            );
          }
          if (`phc_loadgen_team_${e.teamId}:${e.distinctId}` !== m.key)
            problems.push(`key ${m.key} is not token:distinct_id of ${e.distinctId}`);
        } else {
          const expected = m.kind === 'no_session_id' ? 'no_session_id' : FAULT_REASONS[m.fault ?? 'malformed_json'];
          if (result.ok || result.reason !== expected) {
            problems.push(
              `${m.fault ?? m.kind}: expected ${expected}, got ${result.ok ? 'accepted' : `${result.reason} (${result.message})`}`,
            );
          } else {
            reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
          }
        }
      }
      console.log(`${format} rejections`, Object.fromEntries(reasons));
      expect(problems.slice(0, 5)).toEqual([]);
      expect(new Set(reasons.keys())).toEqual(
        new Set(['malformed_json', 'schema_invalid', 'session_id_not_uuidv7', 'session_id_expired', 'no_session_id']),
      );
    }
  });

  it('every value is one NDJSON line, faults included', () => {
    for (const format of FORMATS) expect(faulty(format).filter((m) => /[\n\r]/.test(m.value))).toEqual([]);
  });

  it('fault messages carry no session id; events do', () => {
    for (const m of faulty('posthog-events')) {
      expect(m.sessionId === null).toBe(m.kind === 'invalid' || m.kind === 'no_session_id');
      expect(m.fault !== undefined).toBe(m.kind === 'invalid');
    }
    expect(MESSAGE_KINDS).toEqual(['event', 'duplicate', 'invalid', 'no_session_id']);
  });
});

describe('generate: realistic traffic', () => {
  // Real messages are larger still: the golden fixtures, modelled on real payloads, average
  // 3.4 KB (processed) and 2.7 KB (capture). Processed events carry PostHog's $geoip_* properties
  // (~330 B), which capture messages never do.
  it('events average 1.0–2.5 KB, with dozens of $-properties', { timeout: 60_000 }, () => {
    for (const format of FORMATS) {
      const list = clean(format);
      const stats = messageSizeStats(list, ['event']);
      console.log(`${format} event sizes`, stats);
      expect(stats.meanBytes).toBeGreaterThan(1_000);
      expect(stats.meanBytes).toBeLessThan(2_500);
      const dollarCounts = list
        .slice(0, 5_000)
        .map((m) => Object.keys(propertiesOf(format, m.value)).filter((k) => k.startsWith('$')).length);
      dollarCounts.sort((a, b) => a - b);
      const median = dollarCounts[Math.floor(dollarCounts.length / 2)] ?? 0;
      expect(median).toBeGreaterThanOrEqual(20);
      expect(dollarCounts[dollarCounts.length - 1]).toBeGreaterThanOrEqual(24);
    }
  });

  it('web events carry the posthog-js properties; mobile sessions send $screen and no pageviews', { timeout: 60_000 }, () => {
    const format = 'posthog-events';
    // $os_version too, where posthog-js's parser finds one (see the next describe)
    const web = [
      '$os',
      '$browser',
      '$browser_version',
      '$device_type',
      '$screen_height',
      '$screen_width',
      '$viewport_height',
      '$viewport_width',
      '$lib',
      '$lib_version',
      '$insert_id',
      '$time',
      '$host',
      '$pathname',
      '$current_url',
      '$referrer',
      '$referring_domain',
      '$raw_user_agent',
      '$device_id',
      '$window_id',
      '$pageview_id',
      '$session_id',
      '$is_identified',
      '$process_person_profile',
      'token',
    ];
    const libsBySession = new Map<string, Set<string>>();
    const namesByLib = new Map<string, Set<string>>();
    const missing: string[] = [];
    for (const m of clean(format).slice(0, 10_000)) {
      const p = propertiesOf(format, m.value);
      const lib = p['$lib'] as string;
      const name = eventName(format, m.value);
      if (lib === 'web') for (const k of web) if (!(k in p)) missing.push(`${name} lacks ${k}`);
      if (m.sessionId !== null) {
        const libs = libsBySession.get(m.sessionId) ?? new Set<string>();
        libs.add(lib);
        libsBySession.set(m.sessionId, libs);
      }
      const names = namesByLib.get(lib) ?? new Set<string>();
      names.add(name);
      namesByLib.set(lib, names);
    }
    expect(missing.slice(0, 5)).toEqual([]);
    expect([...namesByLib.keys()].sort()).toEqual(['posthog-android', 'posthog-ios', 'posthog-node', 'web']);
    for (const lib of ['posthog-ios', 'posthog-android']) {
      expect(namesByLib.get(lib)).toContain('$screen');
      expect(namesByLib.get(lib)).not.toContain('$pageview');
      expect(namesByLib.get(lib)).not.toContain('$autocapture');
    }
    for (const name of ['$pageview', '$autocapture', '$pageleave', '$identify', '$rageclick'])
      expect(namesByLib.get('web')).toContain(name);
    // a session is web (posthog-js plus backend events) or an app, never both
    for (const libs of libsBySession.values()) {
      const app = libs.has('posthog-ios') || libs.has('posthog-android');
      expect(app && libs.has('web')).toBe(false);
    }
  });

  it('autocapture carries elements_chain (posthog-events) or $elements (capture)', () => {
    const events = clean('posthog-events').find((m) => eventName('posthog-events', m.value) === '$autocapture');
    const chain = (JSON.parse(events?.value ?? '{}') as { elements_chain?: string }).elements_chain ?? '';
    expect(chain).toMatch(/^[a-z]+(\.[\w-]+)*:.*nth-child="\d+"nth-of-type="\d+"/);
    expect(chain).toContain(';body:');
    const capture = clean('posthog-capture').find((m) => eventName('posthog-capture', m.value) === '$autocapture');
    const props = propertiesOf('posthog-capture', capture?.value ?? '{}');
    expect(props['$event_type']).toBe('click');
    expect(Array.isArray(props['$elements'])).toBe(true);
    expect((props['$elements'] as { tag_name: string }[]).at(-1)?.tag_name).toBe('body');
  });

  it('has a realistic channel mix on entry pageviews', () => {
    const format = 'posthog-events';
    const firstOfSession = new Map<string, Record<string, unknown>>();
    for (const m of clean(format)) {
      if (m.sessionId === null || firstOfSession.has(m.sessionId)) continue;
      const p = propertiesOf(format, m.value);
      if (p['$lib'] === 'web') firstOfSession.set(m.sessionId, p);
    }
    const entries = [...firstOfSession.values()];
    const share = (f: (p: Record<string, unknown>) => boolean): number => entries.filter(f).length / entries.length;
    const direct = share((p) => p['$referring_domain'] === '$direct' && p['utm_source'] === undefined);
    const googleOrganic = share((p) => String(p['$referring_domain']).startsWith('www.google.') && p['gclid'] === undefined);
    const paidSearch = share((p) => typeof p['gclid'] === 'string' && p['gad_source'] === '1');
    const paidSocial = share((p) => p['utm_medium'] === 'paid_social' && typeof p['fbclid'] === 'string');
    const email = share((p) => p['utm_medium'] === 'email');
    const referral = share(
      (p) => !String(p['$referring_domain']).includes('google') && p['$referring_domain'] !== '$direct' && p['utm_source'] === undefined,
    );
    console.log({ sessions: entries.length, direct, googleOrganic, paidSearch, paidSocial, email, referral });
    expect(direct).toBeGreaterThan(0.2);
    expect(direct).toBeLessThan(0.45);
    expect(googleOrganic).toBeGreaterThan(0.08);
    expect(paidSearch).toBeGreaterThan(0.03);
    expect(paidSocial).toBeGreaterThan(0.03);
    expect(email).toBeGreaterThan(0.03);
    expect(referral).toBeGreaterThan(0.08);
    // campaign parameters are on the landing URL too
    const withUtm = entries.find((p) => p['utm_source'] !== undefined);
    expect(String(withUtm?.['$current_url'])).toContain(`utm_source=${String(withUtm?.['utm_source'])}`);
  });

  it('session lengths: many bounces, mean ≈ 8, a long tail', () => {
    const lengths = new Map<string, number>();
    for (const m of clean('posthog-events')) if (m.sessionId !== null) lengths.set(m.sessionId, (lengths.get(m.sessionId) ?? 0) + 1);
    const l = [...lengths.values()];
    const mean = l.reduce((a, b) => a + b, 0) / l.length;
    const bounces = l.filter((n) => n === 1).length / l.length;
    const max = Math.max(...l);
    const over50 = l.filter((n) => n >= 50).length;
    console.log({ sessions: l.length, mean, bounces, max, over50, over100: l.filter((n) => n >= 100).length });
    expect(bounces).toBeGreaterThan(0.3);
    expect(bounces).toBeLessThan(0.55);
    expect(mean).toBeGreaterThan(5);
    expect(mean).toBeLessThan(12);
    expect(max).toBeGreaterThanOrEqual(100);
    expect(over50).toBeGreaterThan(10);
  });

  it('sessions have several tabs, and some cross partition keys when the user identifies', () => {
    const format = 'posthog-capture';
    const windows = new Map<string, Set<string>>();
    const keys = new Map<string, Set<string>>();
    for (const m of clean(format)) {
      if (m.sessionId === null) continue;
      const w = propertiesOf(format, m.value)['$window_id'];
      if (typeof w === 'string') windows.set(m.sessionId, (windows.get(m.sessionId) ?? new Set()).add(w));
      keys.set(m.sessionId, (keys.get(m.sessionId) ?? new Set()).add(m.key));
    }
    const multiTab = [...windows.values()].filter((s) => s.size > 1).length;
    const multiKey = [...keys.entries()].filter(([, s]) => s.size > 1);
    console.log({ sessions: keys.size, multiTab, multiKey: multiKey.length });
    expect(multiTab).toBeGreaterThan(50);
    expect(multiKey.length).toBeGreaterThan(50);
    // the new key is the identified user's
    for (const [, s] of multiKey.slice(0, 20)) expect([...s].some((k) => /:user-\d+$/.test(k))).toBe(true);
  });

  it('ids and times: $session_id is a UUIDv7 of the session start, events within 24 h after it', { timeout: 60_000 }, () => {
    for (const format of FORMATS) {
      const seen = new Set<string>();
      const problems: string[] = [];
      for (const m of clean(format)) {
        if (m.sessionId === null) continue;
        const sessionUs = uuidV7Millis(m.sessionId) * 1_000;
        const uuid = (JSON.parse(m.value) as { uuid: string }).uuid;
        if (!isUuidV7(m.sessionId)) problems.push(`session id ${m.sessionId} is not a UUIDv7`);
        if (m.timestamp < sessionUs || m.timestamp >= sessionUs + 24 * HOUR_US)
          problems.push(`event at ${m.timestamp} outside its session ${m.sessionId}`);
        // the first event starts the session
        if (!seen.has(m.sessionId) && m.timestamp !== sessionUs) problems.push(`session ${m.sessionId} starts before its first event`);
        seen.add(m.sessionId);
        if (!isUuidV7(uuid) || uuidV7Millis(uuid) !== Math.floor(m.timestamp / 1_000))
          problems.push(`event uuid ${uuid} is not a UUIDv7 of its time`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
    }
  });

  it('events in a session are seconds to minutes apart', () => {
    const last = new Map<string, number>();
    const gaps: number[] = [];
    for (const m of clean('posthog-events')) {
      if (m.sessionId === null) continue;
      const prev = last.get(m.sessionId);
      if (prev !== undefined) gaps.push((m.timestamp - prev) / 1e6);
      last.set(m.sessionId, m.timestamp);
    }
    gaps.sort((a, b) => a - b);
    const q = (p: number): number => gaps[Math.floor(p * gaps.length)] ?? 0;
    console.log('gap seconds p10/p50/p90/max', q(0.1), q(0.5), q(0.9), gaps.at(-1));
    expect(gaps[0]).toBeGreaterThan(0);
    expect(q(0.5)).toBeGreaterThan(2);
    expect(q(0.5)).toBeLessThan(60);
    expect(q(0.9)).toBeGreaterThan(20);
    expect(gaps.at(-1)).toBeLessThanOrEqual(25 * 60 + 1);
  });

  it(
    'capture: the skew correction now + (timestamp − sent_at) recovers the intended time, despite skewed clocks',
    { timeout: 60_000 },
    () => {
      let skewed = 0;
      let offsets = 0;
      let n = 0;
      const problems: string[] = [];
      for (const m of clean('posthog-capture')) {
        const o = JSON.parse(m.value) as { now: string; sent_at: string; data: string };
        const data = JSON.parse(o.data) as { timestamp?: string; offset?: number };
        const result = normalize('posthog-capture', m.value, { tokenTeams: TOKENS });
        if (!result.ok || result.event.timestamp !== m.timestamp) problems.push(`${m.value.slice(0, 100)}: ${JSON.stringify(result)}`);
        n++;
        if (data.offset !== undefined) {
          offsets++;
          if ((parseTimestamp(o.now) ?? 0) - data.offset * 1_000 !== m.timestamp)
            problems.push(`offset ${data.offset} does not give the time`);
          continue;
        }
        // the client's clock is off: its timestamp alone is not the event time
        const clientUs = parseTimestamp(data.timestamp ?? '') ?? 0;
        if (Math.abs(clientUs - m.timestamp) > 2_000_000) skewed++;
      }
      console.log({ n, skewedOver2s: skewed / n, offsets: offsets / n });
      expect(problems.slice(0, 5)).toEqual([]);
      expect(skewed / n).toBeGreaterThan(0.2);
      expect(offsets / n).toBeGreaterThan(0.005);
      expect(offsets / n).toBeLessThan(0.1);
    },
  );

  it('generates fast enough (throughput printed)', { timeout: 60_000 }, () => {
    for (const format of FORMATS) {
      const started = performance.now();
      let bytes = 0;
      let n = 0;
      for (const m of generate({ seed: 8, format, events: 50_000, rates: RATES })) {
        bytes += m.value.length;
        n++;
      }
      const seconds = (performance.now() - started) / 1_000;
      console.log(`${format}: ${Math.round(n / seconds)} events/s, ${(bytes / seconds / 1_048_576).toFixed(1)} MiB/s`);
      expect(n / seconds).toBeGreaterThan(1_000);
    }
  });
});

/** The messages of kind 'event' with their properties, event name and (posthog-events) top-level fields. */
interface Parsed {
  readonly m: GeneratedMessage;
  readonly name: string;
  readonly p: Record<string, unknown>;
  readonly top: Record<string, unknown>;
  readonly data: Record<string, unknown> | null;
}

const parsedCache = new Map<Format, Parsed[]>();
function parsed(format: Format): Parsed[] {
  let list = parsedCache.get(format);
  if (list === undefined) {
    list = clean(format)
      .filter((m) => m.kind === 'event')
      .map((m) => {
        const top = JSON.parse(m.value) as Record<string, unknown>;
        const data = format === 'posthog-capture' ? (JSON.parse(top['data'] as string) as Record<string, unknown>) : null;
        return { m, name: eventName(format, m.value), p: propertiesOf(format, m.value), top, data };
      });
    parsedCache.set(format, list);
  }
  return list;
}

const share = (list: readonly unknown[], n: number): number => (list.length === 0 ? 0 : n / list.length);

/** PostHog v3's lower-tier ad ids (posthog/models/raw_sessions/sessions_v3.py). */
const LOWER_TIER_AD_IDS = [
  'gclsrc',
  'dclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'twclid',
  'li_fat_id',
  'mc_cid',
  'igshid',
  'ttclid',
  'epik',
  'qclid',
  'sccid',
  '_kx',
  'irclid',
] as const;

describe('generate: session properties as posthog-js and PostHog ingestion set them', () => {
  it(
    "web browsers: $browser, $browser_version, $os, $os_version, $device_type are posthog-js's own parse of $raw_user_agent",
    { timeout: 60_000 },
    () => {
      const seen = new Map<string, Record<string, unknown>>();
      for (const { p } of parsed('posthog-capture')) if (p['$lib'] === 'web') seen.set(String(p['$raw_user_agent']), p);
      expect(seen.size).toBeGreaterThanOrEqual(10);
      for (const [ua, p] of seen) {
        const [os, osVersion] = detectOS(ua);
        expect(
          {
            $browser: p['$browser'],
            $browser_version: p['$browser_version'],
            $os: p['$os'],
            $os_version: p['$os_version'],
            $device_type: p['$device_type'],
          },
          ua,
        ).toEqual({
          $browser: detectBrowser(ua, undefined),
          $browser_version: detectBrowserVersion(ua, undefined),
          $os: os,
          // empty values are dropped by posthog-js (seen: a reduced Android user agent sends no $os_version)
          $os_version: osVersion === '' ? undefined : osVersion,
          $device_type: detectDeviceType(ua),
        });
      }
    },
  );

  it('device types and viewports: mostly desktop, a third mobile, some tablets; the viewport fits the screen', { timeout: 60_000 }, () => {
    const firstBySession = new Map<string, Record<string, unknown>>();
    for (const { m, p } of parsed('posthog-events'))
      if (m.sessionId !== null && !firstBySession.has(m.sessionId)) firstBySession.set(m.sessionId, p);
    const web = [...firstBySession.values()].filter((p) => p['$lib'] === 'web');
    const types = new Map<unknown, number>();
    for (const p of web) types.set(p['$device_type'], (types.get(p['$device_type']) ?? 0) + 1);
    const desktop = share(web, types.get('Desktop') ?? 0);
    const mobile = share(web, types.get('Mobile') ?? 0);
    const tablet = share(web, types.get('Tablet') ?? 0);
    console.log({ webSessions: web.length, desktop, mobile, tablet });
    expect(desktop).toBeGreaterThan(0.45);
    expect(mobile).toBeGreaterThan(0.25);
    expect(tablet).toBeGreaterThan(0.02);
    for (const p of web) {
      expect(typeof p['$browser_version']).toBe('number');
      expect(p['$viewport_width']).toBeLessThanOrEqual(p['$screen_width'] as number);
      expect(p['$viewport_height']).toBeLessThan(p['$screen_height'] as number);
    }
    // apps report the device, not a browser
    const apps = [...firstBySession.values()].filter((p) => p['$lib'] === 'posthog-ios' || p['$lib'] === 'posthog-android');
    expect(apps.length).toBeGreaterThan(100);
    for (const p of apps) {
      expect(p['$browser']).toBeUndefined();
      expect(p['$device_type']).toBe('Mobile');
      expect(typeof p['$os_version']).toBe('string');
    }
  });

  it('$host is the host of $current_url on every web event', { timeout: 60_000 }, () => {
    for (const { p } of parsed('posthog-capture').slice(0, 10_000)) {
      if (p['$lib'] !== 'web') continue;
      expect(p['$host']).toBe(new URL(String(p['$current_url'])).host);
    }
  });

  it(
    'GeoIP: processed events carry $geoip_* of the client (city ~97%, country only ~2%, none ~1%); capture messages and posthog-node events never',
    { timeout: 60_000 },
    () => {
      const client = parsed('posthog-events').filter(({ p }) => p['$lib'] !== 'posthog-node');
      const city = client.filter(({ p }) => typeof p['$geoip_city_name'] === 'string').length;
      const countryOnly = client.filter(
        ({ p }) => p['$geoip_city_name'] === undefined && typeof p['$geoip_country_code'] === 'string',
      ).length;
      const none = client.filter(({ p }) => p['$geoip_country_code'] === undefined).length;
      console.log({ events: client.length, city: share(client, city), countryOnly: share(client, countryOnly), none: share(client, none) });
      expect(share(client, city)).toBeGreaterThan(0.93);
      expect(share(client, countryOnly)).toBeGreaterThan(0.005);
      expect(share(client, none)).toBeGreaterThan(0.002);
      const countries = new Set(client.map(({ p }) => p['$geoip_country_code']));
      expect(countries.size).toBeGreaterThanOrEqual(9);
      for (const { p } of client.slice(0, 5_000)) {
        if (p['$geoip_city_name'] === undefined) continue;
        expect(typeof p['$geoip_time_zone']).toBe('string');
        expect(typeof p['$geoip_latitude']).toBe('number');
        // a city state has no subdivision; every other city has both its code and name
        if (p['$geoip_country_code'] === 'SG') expect(p['$geoip_subdivision_1_code']).toBeUndefined();
        else expect([typeof p['$geoip_subdivision_1_code'], typeof p['$geoip_subdivision_1_name']]).toEqual(['string', 'string']);
      }
      for (const { p } of parsed('posthog-events').filter(({ p }) => p['$lib'] === 'posthog-node'))
        expect(p['$geoip_country_code']).toBeUndefined();
      for (const { p } of parsed('posthog-capture'))
        expect(Object.keys(p).some((k) => k.startsWith('$geoip_') && k !== '$geoip_disable')).toBe(false);
    },
  );

  it('$external_click_url on ~8% of $autocapture clicks: a link to another site', { timeout: 60_000 }, () => {
    const clicks = parsed('posthog-capture').filter(({ name }) => name === '$autocapture');
    const external = clicks.filter(({ p }) => p['$external_click_url'] !== undefined);
    console.log({ clicks: clicks.length, external: share(clicks, external.length) });
    expect(share(clicks, external.length)).toBeGreaterThan(0.04);
    expect(share(clicks, external.length)).toBeLessThan(0.14);
    for (const { p } of external) {
      const href = new URL(String(p['$external_click_url']));
      expect(href.host).not.toBe(p['$host']);
      expect((p['$elements'] as { attr__href?: string }[])[0]?.attr__href).toBe(p['$external_click_url']);
    }
    for (const { name, p } of parsed('posthog-capture')) if (name !== '$autocapture') expect(p['$external_click_url']).toBeUndefined();
  });

  it(
    "lower-tier ad ids: each of PostHog's fifteen on some paid landings, with its network, only on the landing page",
    { timeout: 60_000 },
    () => {
      const landings = new Map<string, Record<string, unknown>>();
      const counts = new Map<string, number>();
      for (const { m, p } of parsed('posthog-events')) {
        for (const id of LOWER_TIER_AD_IDS) {
          if (p[id] === undefined) continue;
          counts.set(id, (counts.get(id) ?? 0) + 1);
          // the id is a parameter of the landing URL, as on real ad clicks
          expect(String(p['$current_url'])).toContain(`${id}=`);
          if (m.sessionId !== null) landings.set(m.sessionId, p);
        }
      }
      console.log(Object.fromEntries(LOWER_TIER_AD_IDS.map((id) => [id, counts.get(id) ?? 0])));
      for (const id of LOWER_TIER_AD_IDS) expect(counts.get(id) ?? 0, id).toBeGreaterThan(0);
      const sourceOf: Record<string, string> = {
        msclkid: 'bing',
        ttclid: 'tiktok',
        li_fat_id: 'linkedin',
        twclid: 'twitter',
        sccid: 'snapchat',
        epik: 'pinterest',
        qclid: 'quora',
      };
      for (const p of landings.values()) {
        for (const [id, source] of Object.entries(sourceOf)) if (p[id] !== undefined) expect(p['utm_source'], id).toBe(source);
        if (p['gclsrc'] !== undefined) expect(typeof p['gclid']).toBe('string');
        if (p['gbraid'] !== undefined || p['wbraid'] !== undefined) expect([p['gclid'], p['gad_source']]).toEqual([undefined, '1']);
        if (p['dclid'] !== undefined) expect(p['utm_medium']).toBe('display');
        if (p['mc_cid'] !== undefined || p['_kx'] !== undefined) expect(p['utm_medium']).toBe('email');
        if (p['irclid'] !== undefined) expect(p['utm_source']).toBe('impact');
      }
      // a fraction of sessions, not most
      expect(landings.size / new Set(parsed('posthog-events').map(({ m }) => m.sessionId)).size).toBeLessThan(0.2);
    },
  );

  it(
    "feature flags: $feature/<key> booleans and variants, $active_feature_flags the enabled keys, fixed for a session, absent on a new visitor's first event",
    { timeout: 60_000 },
    () => {
      const values = new Map<string, string>();
      let booleans = 0;
      let variants = 0;
      let firstWithout = 0;
      let firsts = 0;
      const seenSession = new Set<string>();
      for (const { m, p, name } of parsed('posthog-capture')) {
        if (p['$lib'] === 'posthog-node' || m.sessionId === null) continue;
        const flags = Object.entries(p).filter(([k]) => k.startsWith('$feature/'));
        if (!seenSession.has(m.sessionId)) {
          seenSession.add(m.sessionId);
          firsts++;
          if (flags.length === 0) firstWithout++;
        }
        if (flags.length === 0) continue;
        for (const [, v] of flags) {
          if (typeof v === 'boolean') booleans++;
          else if (typeof v === 'string') variants++;
          else throw new Error(`flag value ${JSON.stringify(v)}`);
        }
        expect(p['$active_feature_flags'], name).toEqual(flags.filter(([, v]) => v !== false).map(([k]) => k.slice('$feature/'.length)));
        const text = JSON.stringify(flags);
        expect(values.get(m.sessionId) ?? text, 'a session keeps its flag values').toBe(text);
        values.set(m.sessionId, text);
      }
      console.log({ booleans, variants, firstWithoutFlags: firstWithout / firsts });
      expect(booleans).toBeGreaterThan(1_000);
      expect(variants).toBeGreaterThan(1_000);
      // new visitors (most) start before flags load; returning ones have them cached
      expect(firstWithout / firsts).toBeGreaterThan(0.7);
      expect(firstWithout / firsts).toBeLessThan(0.95);
    },
  );

  it(
    'emails: identified users have one, in person_properties (posthog-events) and in $set on $identify (capture)',
    { timeout: 60_000 },
    () => {
      const byUser = new Map<string, string>();
      let identified = 0;
      for (const { top, p } of parsed('posthog-events')) {
        const person = JSON.parse(String(top['person_properties'])) as { email?: string };
        const distinctId = String(top['distinct_id']);
        if (person.email === undefined) {
          expect(p['$is_identified'] === true, distinctId).toBe(false);
          continue;
        }
        identified++;
        expect(person.email).toMatch(/^[a-z]+\.?[a-z]+\d*@[a-z-]+(\.[a-z]+)+$/);
        if (/^user-\d+$/.test(distinctId)) {
          const user = `${String(top['team_id'])}:${distinctId}`;
          expect(byUser.get(user) ?? person.email, 'a user keeps one email').toBe(person.email);
          byUser.set(user, person.email);
        }
      }
      const domains = new Set([...byUser.values()].map((e) => e.split('@')[1]));
      console.log({ identifiedEvents: identified, users: byUser.size, domains: domains.size });
      expect(byUser.size).toBeGreaterThan(100);
      expect(domains.size).toBeGreaterThanOrEqual(8);
      const identifies = parsed('posthog-capture').filter(({ name }) => name === '$identify');
      expect(identifies.length).toBeGreaterThan(50);
      for (const { data } of identifies) expect((data?.['$set'] as { email?: unknown } | undefined)?.email).toMatch(/@/);
    },
  );
});

describe('generate: held to what posthog-js 1.449.2 really sent', () => {
  /** The events of packages/core/fixtures/posthog-js (recorded from the real SDK in Chromium). */
  const recorded = readFileSync(new URL('../../core/fixtures/posthog-js/capture-1.449.2.ndjson', import.meta.url), 'utf8')
    .trimEnd()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(String((JSON.parse(line) as Record<string, unknown>)['data'])) as {
          event: string;
          properties: Record<string, unknown>;
          $set?: Record<string, unknown>;
        },
    );

  const typeOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

  it('a web $pageview carries the properties the sessions read, with the same JSON types', { timeout: 60_000 }, () => {
    const real = recorded.find(
      (e) => e.event === '$pageview' && e.properties['$os'] === 'Mac OS X' && e.properties['$feature/new-checkout'] !== undefined,
    );
    const ours = parsed('posthog-capture').find(
      ({ name, p }) => name === '$pageview' && p['$os'] === 'Mac OS X' && p['$active_feature_flags'] !== undefined,
    );
    expect(real).toBeDefined();
    expect(ours).toBeDefined();
    const keys = [
      '$browser',
      '$browser_version',
      '$os',
      '$os_version',
      '$device_type',
      '$viewport_width',
      '$viewport_height',
      '$screen_width',
      '$screen_height',
      '$host',
      '$current_url',
      '$pathname',
      '$referrer',
      '$referring_domain',
      '$session_id',
      '$window_id',
      '$pageview_id',
      '$device_id',
      '$raw_user_agent',
      '$lib',
      '$lib_version',
      '$insert_id',
      '$time',
      '$is_identified',
      '$process_person_profile',
      '$active_feature_flags',
      'title',
      'token',
    ];
    const types = (p: Record<string, unknown>): Record<string, string> => Object.fromEntries(keys.map((k) => [k, typeOf(p[k])]));
    expect(types(ours?.p ?? {})).toEqual(types(real?.properties ?? {}));
    expect(ours?.p['$lib_version']).toBe('1.449.2');
    const flagTypes = (p: Record<string, unknown>): string[] =>
      [
        ...new Set(
          Object.entries(p)
            .filter(([k]) => k.startsWith('$feature/'))
            .map(([, v]) => typeOf(v)),
        ),
      ].sort();
    expect(flagTypes(real?.properties ?? {})).toEqual(['boolean', 'string']);
    expect(flagTypes(ours?.p ?? {})).toEqual(['boolean', 'string']);
  });

  it('an external click carries $external_click_url, an $identify its email in $set, as posthog-js sends them', { timeout: 60_000 }, () => {
    const realClick = recorded.find((e) => e.properties['$external_click_url'] !== undefined);
    const ourClick = parsed('posthog-capture').find(({ p }) => p['$external_click_url'] !== undefined);
    expect([realClick?.event, typeOf(realClick?.properties['$external_click_url'])]).toEqual(['$autocapture', 'string']);
    expect([ourClick?.name, typeOf(ourClick?.p['$external_click_url'])]).toEqual(['$autocapture', 'string']);
    const realIdentify = recorded.find((e) => e.event === '$identify');
    const ourIdentify = parsed('posthog-capture').find(({ name }) => name === '$identify');
    expect(typeOf(realIdentify?.$set?.['email'])).toBe('string');
    expect(typeOf((ourIdentify?.data?.['$set'] as Record<string, unknown> | undefined)?.['email'])).toBe('string');
  });
});

describe('reorder', () => {
  it('holds items back by 1..window positions and loses none', () => {
    const rng = new Rng(3);
    const input = Array.from({ length: 5_000 }, (_, i) => i);
    const out = [...reorder(input, 0.1, 50, rng)];
    expect([...out].sort((a, b) => a - b)).toEqual(input);
    let moved = 0;
    out.forEach((v, i) => {
      expect(i - v).toBeLessThanOrEqual(50); // never more than a window late
      if (i > v) moved++;
    });
    expect(moved).toBeGreaterThan(0);
    expect([...reorder(input, 0, 50, rng)]).toEqual(input);
  });
});
