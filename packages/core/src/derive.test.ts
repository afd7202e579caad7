/**
 * From a session's aggregate to the row analysts see: duration as ClickHouse's
 * dateDiff('second'), the bounce rule with its threshold, the column set and order.
 */
import { describe, expect, it } from 'vitest';
import {
  bounceThresholdOf,
  compareSessions,
  DEFAULT_BOUNCE_THRESHOLD_SECONDS,
  isBounce,
  SESSION_COLUMNS,
  sessionDuration,
  type DeriveOptions,
  type Session,
} from './derive.js';
import type { SessionEvent } from './event.js';
import { sessionize } from './oracle.js';
import { blankEvent } from '../../../test/support/events.js';

/** Microseconds of 2026-11-20T10:00:00Z plus `seconds` (exact to the microsecond). */
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1_000;
const at = (seconds: number): number => T0 + Math.round(seconds * 1_000_000);

const SESSION_ID = '01a1f866-0dfa-7c41-9b7e-52d1a0f4e3c6';

function event(fields: Partial<SessionEvent> = {}): SessionEvent {
  return blankEvent({
    uuid: '01a1f866-0e00-7000-8000-000000000001',
    teamId: 2,
    sessionId: SESSION_ID,
    timestamp: T0,
    currentUrl: 'https://www.northwind-trail.com/pricing?plan=pro',
    referringDomain: 'www.google.co.uk',
    ...fields,
  });
}

/** The session of these events (through the oracle). */
function sessionOf(events: readonly SessionEvent[], options: DeriveOptions = {}): Session {
  const [session] = sessionize(events, options);
  if (session === undefined) throw new Error('no session');
  return session;
}

let n = 0;
/** An event `seconds` after T0 with a fresh uuid ordered by creation. */
function ev(seconds: number, fields: Partial<SessionEvent> = {}): SessionEvent {
  n += 1;
  return event({ uuid: `01a1f866-0e00-7000-8000-${String(n).padStart(12, '0')}`, timestamp: at(seconds), ...fields });
}

describe('sessionDuration: whole-second boundaries crossed', () => {
  it.each([
    ['0.9 s → 1.1 s', 0.9, 1.1, 1],
    ['0.0 s → 0.999999 s', 0, 0.999_999, 0],
    ['0.999999 s → 1.0 s', 0.999_999, 1, 1],
    ['0.1 s → 0.9 s', 0.1, 0.9, 0],
    ['the same instant', 5.5, 5.5, 0],
    ['9.999999 s → 10.0 s', 9.999_999, 10, 1],
    ['0.5 s → 10.2 s (9.7 s elapsed, 10 boundaries)', 0.5, 10.2, 10],
    ['0.0 s → 9.999999 s (almost 10 s elapsed, 9 boundaries)', 0, 9.999_999, 9],
    ['across a minute', 59.5, 60.5, 1],
    ['across the hour', -0.25, 0.25, 1],
    ['an hour', 0, 3_600, 3_600],
  ])('%s = %i', (_name, start, end, expected) => {
    expect(sessionDuration(at(start), at(end))).toBe(expected);
  });

  it('floors before the epoch too', () => {
    expect(sessionDuration(-500_000, 500_000)).toBe(1);
    expect(sessionDuration(-1_500_000, -1_000_000)).toBe(1);
    expect(sessionDuration(-1_000_000, -1)).toBe(0);
  });
});

describe('isBounce (PostHog v3)', () => {
  it('is null without a page-like event, whatever else happened', () => {
    expect(isBounce(0, 0, 0, 10)).toBeNull();
    expect(isBounce(0, 3, 500, 10)).toBeNull();
  });

  it('is true for exactly one page-like event, no autocapture, under the threshold', () => {
    expect(isBounce(1, 0, 0, 10)).toBe(true);
    expect(isBounce(1, 0, 9, 10)).toBe(true);
  });

  it('is false at the threshold and above', () => {
    expect(isBounce(1, 0, 10, 10)).toBe(false);
    expect(isBounce(1, 0, 11, 10)).toBe(false);
  });

  it('is false with two or more page-like events, or any autocapture, however short', () => {
    expect(isBounce(2, 0, 0, 10)).toBe(false);
    expect(isBounce(7, 0, 1, 10)).toBe(false);
    expect(isBounce(1, 1, 0, 10)).toBe(false);
  });

  it('the default threshold is 10 seconds', () => {
    expect(DEFAULT_BOUNCE_THRESHOLD_SECONDS).toBe(10);
  });
});

describe('toSession', () => {
  it('has exactly the oracle columns of the catalog, in order', () => {
    expect(Object.keys(sessionOf([ev(0)]))).toEqual([...SESSION_COLUMNS]);
  });

  it('maps events to the row', () => {
    const landing = ev(0.25, {
      currentUrl: 'https://www.northwind-trail.com/landing?gad_source=1&gclid=abc',
      referringDomain: 'www.google.com',
      utmSource: 'google',
      utmMedium: 'cpc',
      utmCampaign: 'brand',
      utmTerm: 'northwind',
      utmContent: 'headline_1',
      gclid: 'abc',
      gadSource: '1',
      props: { $browser: 'Chrome', $viewport_width: 1280, msclkid: 'm1', $host: 'www.northwind-trail.com' },
      flags: [['new-nav', 'true']],
    });
    const click = ev(10, { event: '$autocapture', distinctId: 'user_42', props: { $external_click_url: 'https://x.example/' } });
    const exit = ev(31.000_001, { currentUrl: 'https://www.northwind-trail.com/cart#items', distinctId: 'user_42' });
    const session = sessionOf([exit, click, landing]);
    expect(session).toMatchObject({
      team_id: 2,
      session_id: SESSION_ID,
      distinct_id: 'user_42',
      distinct_ids: ['anon-1', 'user_42'],
      start_timestamp: '2026-11-20 10:00:00.250000',
      end_timestamp: '2026-11-20 10:00:31.000001',
      session_duration: 31,
      entry_current_url: 'https://www.northwind-trail.com/landing?gad_source=1&gclid=abc',
      entry_pathname: '/landing',
      entry_hostname: 'www.northwind-trail.com',
      exit_current_url: 'https://www.northwind-trail.com/cart#items',
      exit_pathname: '/cart',
      exit_hostname: 'www.northwind-trail.com',
      urls: ['https://www.northwind-trail.com/cart#items', 'https://www.northwind-trail.com/landing?gad_source=1&gclid=abc'],
      num_uniq_urls: 2,
      last_external_click_url: 'https://x.example/',
      entry_utm_source: 'google',
      entry_utm_medium: 'cpc',
      entry_utm_campaign: 'brand',
      entry_utm_term: 'northwind',
      entry_utm_content: 'headline_1',
      entry_referring_domain: 'www.google.com',
      entry_gclid: 'abc',
      entry_gad_source: '1',
      entry_fbclid: null,
      entry_has_gclid: true,
      entry_has_fbclid: false,
      entry_msclkid: 'm1',
      entry_gclsrc: null,
      browser: 'Chrome',
      viewport_width: 1280,
      os: null,
      pageview_count: 2,
      autocapture_count: 1,
      screen_count: 0,
      channel_type: 'Paid Search',
      is_bounce: false,
      event_names: ['$autocapture', '$pageview'],
      flag_keys: ['new-nav'],
      flag_key_values: ['new-nav=true'],
      hosts: ['www.northwind-trail.com'],
      emails: [],
      session_id_source: 'client',
    });
    expect(session.session_timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}000$/);
  });

  it('entry and exit pathname/hostname are ClickHouse path()/domain() of the URLs', () => {
    expect(sessionOf([ev(0, { currentUrl: 'not a url' })])).toMatchObject({ entry_pathname: '', entry_hostname: '' });
    expect(sessionOf([ev(0, { currentUrl: null })])).toMatchObject({ entry_pathname: null, exit_hostname: null });
  });

  it('bounce: page-like events, autocaptures and duration', () => {
    expect(sessionOf([ev(0, { event: 'signup' })]).is_bounce).toBeNull();
    expect(sessionOf([ev(0, { event: '$autocapture' })]).is_bounce).toBeNull();
    expect(sessionOf([ev(0)]).is_bounce).toBe(true);
    expect(sessionOf([ev(0, { event: '$screen' })]).is_bounce).toBe(true);
    expect(sessionOf([ev(0), ev(1, { event: '$autocapture' })]).is_bounce).toBe(false);
    expect(sessionOf([ev(0), ev(1)]).is_bounce).toBe(false);
    expect(sessionOf([ev(0), ev(1, { event: 'signup' })]).is_bounce).toBe(true);
  });

  it('bounce uses the whole-second duration against the threshold', () => {
    expect(sessionOf([ev(0), ev(9.999_999, { event: 'x' })]).is_bounce).toBe(true);
    expect(sessionOf([ev(0), ev(10, { event: 'x' })]).is_bounce).toBe(false);
    // 9.7 s elapsed, but 10 second boundaries crossed
    expect(sessionOf([ev(0.5), ev(10.2, { event: 'x' })]).is_bounce).toBe(false);
  });

  it('honours bounceThresholdSeconds and per-team overrides', () => {
    const events = [ev(0), ev(25.5, { event: '$pageleave' })];
    expect(sessionOf(events).is_bounce).toBe(false);
    expect(sessionOf(events, { bounceThresholdSeconds: 30 }).is_bounce).toBe(true);
    expect(sessionOf(events, { bounceThresholdSeconds: 26 }).is_bounce).toBe(true);
    expect(sessionOf(events, { bounceThresholdSeconds: 25 }).is_bounce).toBe(false);
    expect(sessionOf([ev(0)], { bounceThresholdSeconds: 0 }).is_bounce).toBe(false);
    expect(sessionOf(events, { bounceThresholdSecondsByTeam: new Map([[2, 30]]) }).is_bounce).toBe(true);
    expect(sessionOf(events, { bounceThresholdSecondsByTeam: new Map([[3, 30]]) }).is_bounce).toBe(false);
    expect(sessionOf(events, { bounceThresholdSeconds: 30, bounceThresholdSecondsByTeam: new Map([[2, 20]]) }).is_bounce).toBe(false);
    expect(bounceThresholdOf(2, { bounceThresholdSecondsByTeam: new Map([[2, 5]]) })).toBe(5);
  });

  it('channel_type comes from the entry event as a whole', () => {
    expect(sessionOf([ev(0)]).channel_type).toBe('Organic Search');
    expect(sessionOf([ev(0, { referringDomain: '$direct' })]).channel_type).toBe('Direct');
    expect(sessionOf([ev(0, { referringDomain: null })]).channel_type).toBe('Unknown');
    // a later event's utm_source fills entry_utm_source, but not the channel input
    const s = sessionOf([
      ev(0, { referringDomain: '$direct' }),
      ev(1, { referringDomain: '$direct', utmSource: 'google', utmMedium: 'cpc' }),
    ]);
    expect(s).toMatchObject({ entry_utm_source: 'google', entry_utm_medium: 'cpc', channel_type: 'Direct' });
  });
});

describe('compareSessions', () => {
  it('orders by team_id, then session_id', () => {
    const rows = [
      { team_id: 3, session_id: 'a' },
      { team_id: 2, session_id: 'b' },
      { team_id: 2, session_id: 'a' },
      { team_id: 10, session_id: '0' },
    ];
    expect([...rows].sort(compareSessions)).toEqual([
      { team_id: 2, session_id: 'a' },
      { team_id: 2, session_id: 'b' },
      { team_id: 3, session_id: 'a' },
      { team_id: 10, session_id: '0' },
    ]);
    expect(compareSessions({ team_id: 2, session_id: 'x' }, { team_id: 2, session_id: 'x' })).toBe(0);
  });
});
