/**
 * Golden: what the real posthog-js 1.449.2 sent from Chromium, as PostHog's capture topic holds
 * it (fixtures/posthog-js/, recorded by test/integration/posthog-js.test.ts through its capture
 * shim: four visitors, one of them with a clock 3 minutes fast). Every message is kept under the
 * default session-id window; the first event of every session was stamped before its session id
 * was minted; the fast client's session is kept by the client-clock rule alone.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../event.js';
import { parseTimestamp } from '../time.js';
import { uuidV7Millis } from '../uuid.js';
import { normalize, type NormalizeOptions } from './index.js';

const FIXTURE = new URL('../../fixtures/posthog-js/capture-1.449.2.ndjson', import.meta.url);
const REQUEST = new URL('../../fixtures/posthog-js/request-1.449.2.json', import.meta.url);
const LINES = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');

type Obj = Record<string, unknown>;

interface Line {
  readonly text: string;
  readonly message: Obj;
  readonly data: { event: string; timestamp: string; properties: Obj; $set?: Obj };
}

const lines: Line[] = LINES.map((text) => {
  const message = JSON.parse(text) as Obj;
  return { text, message, data: JSON.parse(String(message['data'])) as Line['data'] };
});

const TOKEN = String(lines[0]?.message['token']);
const OPTIONS: NormalizeOptions = { tokenTeams: new Map([[TOKEN, 7]]) };

function accepted(options: NormalizeOptions): SessionEvent[] {
  return lines.flatMap(({ text }) => {
    const r = normalize('posthog-capture', text, options);
    return r.ok ? [r.event] : [];
  });
}

const sessions = [...new Set(lines.map((l) => String(l.data.properties['$session_id'])))];
const linesOf = (sessionId: string): Line[] => lines.filter((l) => l.data.properties['$session_id'] === sessionId);
const clientMicros = (l: Line): number => parseTimestamp(l.data.timestamp) ?? Number.NaN;

describe('posthog-js 1.449.2, recorded', () => {
  it('has four sessions of real capture messages', () => {
    expect(lines.length).toBe(14);
    expect(sessions).toHaveLength(4);
    for (const { message } of lines) {
      expect(Object.keys(message).sort()).toEqual([
        'data',
        'distinct_id',
        'ip',
        'is_cookieless_mode',
        'now',
        'sent_at',
        'site_url',
        'token',
        'uuid',
      ]);
    }
  });

  it('keeps every message under the default window, and under the client-clock rule alone', () => {
    expect(accepted(OPTIONS)).toHaveLength(lines.length);
    expect(accepted({ ...OPTIONS, sessionIdToleranceMs: 0 })).toHaveLength(lines.length);
  });

  it('stamps the first event of every session before it mints the session id (the SDK ordering)', () => {
    const firsts: Line[] = [];
    for (const sessionId of sessions) {
      const own = linesOf(sessionId);
      const first = own.reduce((a, b) => (clientMicros(b) < clientMicros(a) ? b : a));
      firsts.push(first);
      const gapMs = uuidV7Millis(sessionId) - clientMicros(first) / 1_000;
      expect(gapMs).toBeGreaterThan(0);
      expect(gapMs).toBeLessThan(60_000);
    }
    // Without tolerances, a first event is excluded when its batch reached capture sooner after
    // it was sent than the gap (the corrected time is then still before the id); exactly those.
    const strict = { ...OPTIONS, sessionIdToleranceMs: 0, sessionIdClientToleranceMs: 0 };
    const early = (l: Line): boolean => {
      const latency = (parseTimestamp(String(l.message['now'])) ?? 0) - (parseTimestamp(String(l.message['sent_at'])) ?? 0);
      return clientMicros(l) + latency < uuidV7Millis(String(l.data.properties['$session_id'])) * 1_000;
    };
    const excluded = lines.filter(({ text }) => {
      const r = normalize('posthog-capture', text, strict);
      return !r.ok && r.reason === 'session_id_in_future';
    });
    expect(excluded).toEqual(lines.filter((l) => firsts.includes(l) && early(l)));
  });

  it('keeps the session of the client whose clock ran 3 minutes fast, though its processed times are 3 minutes before its id', () => {
    const events = accepted({ ...OPTIONS, sessionIdToleranceMs: 0 });
    const fast = sessions.filter((id) => events.some((e) => e.sessionId === id && e.timestamp < uuidV7Millis(id) * 1_000 - 150_000_000));
    expect(fast).toHaveLength(1);
    const id = fast[0] ?? '';
    const own = events.filter((e) => e.sessionId === id);
    expect(own).toHaveLength(linesOf(id).length);
    for (const e of own) expect(e.timestamp).toBeLessThan(uuidV7Millis(id) * 1_000);
  });

  it('sends the properties the sessions read, as posthog-js sets them', () => {
    const first = lines[0]?.data.properties ?? {};
    expect(typeof first['$browser_version']).toBe('number');
    expect(typeof first['$viewport_width']).toBe('number');
    for (const key of ['$browser', '$os', '$device_type', '$host', '$current_url', '$referring_domain', '$session_id']) {
      expect(typeof first[key], key).toBe('string');
    }
    // a landing URL with campaign parameters: posthog-js lists every one it knows, absent ones as
    // null, and keeps them on the session's later events; a landing without any lists none
    const paid = lines.find((l) => String(l.data.properties['$current_url']).includes('gclid='))?.data.properties ?? {};
    expect(paid['gclid']).toBe('EAIaIQobChMI8aSd');
    for (const key of ['utm_source', 'gclsrc', 'dclid', 'msclkid', 'li_fat_id', 'ttclid', '_kx', 'irclid'])
      expect(paid[key], key).toBeNull();
    const plain = lines.find((l) => String(l.data.properties['$current_url']).endsWith('?ref=producthunt'))?.data.properties ?? {};
    expect(plain).not.toHaveProperty('gclid');
    // flags from /flags, once loaded: booleans and variants
    const later = lines.filter((l) => l.data.properties['$feature/new-checkout'] !== undefined);
    expect(later.length).toBeGreaterThan(5);
    for (const l of later) {
      expect(l.data.properties['$feature/new-checkout']).toBe(true);
      expect(l.data.properties['$feature/pricing-page']).toBe('annual-first');
    }
    const external = lines.filter((l) => l.data.properties['$external_click_url'] !== undefined);
    expect(external.map((l) => [l.data.event, l.data.properties['$external_click_url']])).toEqual([
      ['$autocapture', 'https://docs.example.org/size-guide'],
    ]);
    const identify = lines.find((l) => l.data.event === '$identify');
    expect(identify?.data.$set).toEqual({ email: 'ada.lovelace@example.com' });
    // a reduced Android user agent: no $os_version at all
    const android = lines.find((l) => l.data.properties['$os'] === 'Android');
    expect(android?.data.properties).not.toHaveProperty('$os_version');
  });

  it('the request that carried a pageview: gzip on /e/, {api_key, batch, sent_at}', () => {
    const request = JSON.parse(readFileSync(REQUEST, 'utf8')) as {
      path: string;
      encoding: string;
      payload: { api_key: string; batch: Obj[]; sent_at: string };
    };
    expect(request.path).toBe('/e/');
    expect(request.encoding).toBe('gzip');
    expect(Object.keys(request.payload).sort()).toEqual(['api_key', 'batch', 'sent_at']);
    expect(request.payload.api_key).toBe(TOKEN);
    expect(request.payload.batch[0]?.['event']).toBe('$pageview');
    expect(parseTimestamp(request.payload.sent_at)).not.toBeNull();
  });
});
