/**
 * From a session's aggregate to the row analysts see: duration as ClickHouse's
 * dateDiff('second'), the bounce rule with its threshold, the column set and order.
 */
import { describe, expect, it } from 'vitest';
import {
  compareSessions,
  DEFAULT_BOUNCE_THRESHOLD_SECONDS,
  isBounce,
  SESSION_COLUMNS,
  sessionDuration,
  toSession,
  type SessionFacts,
} from './derive.js';
import type { SessionEvent } from './event.js';
import { entryOf, exitOf } from './session.js';

/** Microseconds of 2026-11-20T10:00:00Z plus `seconds` (exact to the microsecond). */
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1_000;
const at = (seconds: number): number => T0 + Math.round(seconds * 1_000_000);

const SESSION_ID = '01a1f866-0dfa-7c41-9b7e-52d1a0f4e3c6';

function event(fields: Partial<SessionEvent> = {}): SessionEvent {
  return {
    uuid: '01a1f866-0e00-7000-8000-000000000001',
    event: '$pageview',
    teamId: 2,
    distinctId: 'anon-1',
    sessionId: SESSION_ID,
    timestamp: T0,
    currentUrl: 'https://www.northwind-trail.com/pricing?plan=pro',
    referringDomain: 'www.google.co.uk',
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    utmTerm: null,
    utmContent: null,
    gclid: null,
    gadSource: null,
    fbclid: null,
    ...fields,
  };
}

function facts(fields: Partial<SessionFacts> = {}): SessionFacts {
  const e = event();
  return {
    teamId: 2,
    sessionId: SESSION_ID,
    distinctId: 'anon-1',
    startTs: T0,
    endTs: T0,
    entry: entryOf(e),
    exit: exitOf(e),
    pageviews: 1,
    autocaptures: 0,
    screens: 0,
    ...fields,
  };
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

describe('isBounce', () => {
  it('is null without any $pageview/$screen/$autocapture', () => {
    expect(isBounce(0, 0, 10)).toBeNull();
    expect(isBounce(0, 500, 10)).toBeNull();
  });

  it('is true for exactly one such event under the threshold', () => {
    expect(isBounce(1, 0, 10)).toBe(true);
    expect(isBounce(1, 9, 10)).toBe(true);
  });

  it('is false at the threshold and above', () => {
    expect(isBounce(1, 10, 10)).toBe(false);
    expect(isBounce(1, 11, 10)).toBe(false);
  });

  it('is false for two or more such events, however short', () => {
    expect(isBounce(2, 0, 10)).toBe(false);
    expect(isBounce(7, 1, 10)).toBe(false);
  });

  it('the default threshold is 10 seconds', () => {
    expect(DEFAULT_BOUNCE_THRESHOLD_SECONDS).toBe(10);
  });
});

describe('toSession', () => {
  it('has exactly the columns of the sessions view, in order', () => {
    expect(Object.keys(toSession(facts()))).toEqual([...SESSION_COLUMNS]);
  });

  it('maps facts, entry and exit to the row', () => {
    const entry = entryOf(
      event({
        uuid: '01a1f866-0e00-7000-8000-00000000000a',
        currentUrl: 'https://www.northwind-trail.com/landing?gad_source=1&gclid=abc',
        referringDomain: 'www.google.com',
        utmSource: 'google',
        utmMedium: 'cpc',
        utmCampaign: 'brand',
        utmTerm: 'northwind',
        utmContent: 'headline_1',
        gclid: 'abc',
        gadSource: '1',
        fbclid: null,
      }),
    );
    const exit = exitOf(event({ currentUrl: 'https://www.northwind-trail.com/cart#items', timestamp: at(30) }));
    const session = toSession(
      facts({ distinctId: 'user_42', startTs: at(0.25), endTs: at(31.000_001), entry, exit, pageviews: 2, autocaptures: 3, screens: 0 }),
    );
    expect(session).toEqual({
      team_id: 2,
      session_id: SESSION_ID,
      distinct_id: 'user_42',
      start_timestamp: '2026-11-20 10:00:00.250000',
      end_timestamp: '2026-11-20 10:00:31.000001',
      session_duration: 31,
      entry_current_url: 'https://www.northwind-trail.com/landing?gad_source=1&gclid=abc',
      entry_pathname: '/landing',
      exit_current_url: 'https://www.northwind-trail.com/cart#items',
      exit_pathname: '/cart',
      entry_utm_source: 'google',
      entry_utm_medium: 'cpc',
      entry_utm_campaign: 'brand',
      entry_utm_term: 'northwind',
      entry_utm_content: 'headline_1',
      entry_referring_domain: 'www.google.com',
      entry_gclid: 'abc',
      entry_gad_source: '1',
      entry_fbclid: null,
      pageview_count: 2,
      autocapture_count: 3,
      screen_count: 0,
      channel_type: 'Paid Search',
      is_bounce: false,
    });
  });

  it('entry_pathname and exit_pathname of junk or missing URLs are null', () => {
    const junk = event({ currentUrl: 'not a url' });
    const none = event({ currentUrl: null });
    const s = toSession(facts({ entry: entryOf(junk), exit: exitOf(none) }));
    expect(s).toMatchObject({ entry_current_url: 'not a url', entry_pathname: null, exit_current_url: null, exit_pathname: null });
  });

  it('bounce from the sum of pageviews, autocaptures and screens', () => {
    expect(toSession(facts({ pageviews: 0, autocaptures: 0, screens: 0 })).is_bounce).toBeNull();
    expect(toSession(facts({ pageviews: 1 })).is_bounce).toBe(true);
    expect(toSession(facts({ pageviews: 0, screens: 1 })).is_bounce).toBe(true);
    expect(toSession(facts({ pageviews: 0, autocaptures: 1 })).is_bounce).toBe(true);
    expect(toSession(facts({ pageviews: 1, autocaptures: 1 })).is_bounce).toBe(false);
    expect(toSession(facts({ pageviews: 0, screens: 1, autocaptures: 1 })).is_bounce).toBe(false);
  });

  it('bounce uses the whole-second duration against the threshold', () => {
    expect(toSession(facts({ startTs: at(0), endTs: at(9.999_999) })).is_bounce).toBe(true);
    expect(toSession(facts({ startTs: at(0), endTs: at(10) })).is_bounce).toBe(false);
    // 9.7 s elapsed, but 10 second boundaries crossed
    expect(toSession(facts({ startTs: at(0.5), endTs: at(10.2) })).is_bounce).toBe(false);
  });

  it('honours bounceThresholdSeconds', () => {
    const f = facts({ startTs: at(0), endTs: at(25.5) });
    expect(toSession(f).is_bounce).toBe(false);
    expect(toSession(f, { bounceThresholdSeconds: 30 }).is_bounce).toBe(true);
    expect(toSession(f, { bounceThresholdSeconds: 26 }).is_bounce).toBe(true);
    expect(toSession(f, { bounceThresholdSeconds: 25 }).is_bounce).toBe(false);
    expect(toSession(facts(), { bounceThresholdSeconds: 0 }).is_bounce).toBe(false);
    expect(toSession(facts({ pageviews: 0 }), { bounceThresholdSeconds: 30 }).is_bounce).toBeNull();
  });

  it('channel_type comes from the entry attribution', () => {
    expect(toSession(facts()).channel_type).toBe('Organic Search');
    expect(toSession(facts({ entry: entryOf(event({ referringDomain: '$direct' })) })).channel_type).toBe('Direct');
    expect(toSession(facts({ entry: entryOf(event({ referringDomain: null })) })).channel_type).toBe('Unknown');
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
