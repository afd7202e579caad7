/**
 * The reference oracle on hand-made sessions: bounce, duration, entry/exit priority and ties,
 * counts by distinct uuid, the latest distinct_id, team separation. Every scenario is also
 * folded through SessionBuffer (the streaming path) and must give the same rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionBuffer, stateToSession } from './buffer.js';
import { compareSessions, type DeriveOptions, type Session } from './derive.js';
import type { SessionEvent } from './event.js';
import { sessionize } from './oracle.js';
import { blankEvent } from '../../../test/support/events.js';

const T0_MS = Date.UTC(2026, 10, 20, 10, 0, 0);
/** Microseconds `seconds` after 2026-11-20T10:00:00Z. */
const at = (seconds: number): number => T0_MS * 1_000 + Math.round(seconds * 1_000_000);

function uuidV7(ms: number, rest: string): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${rest}`;
}

const SID = uuidV7(T0_MS - 500, '7c41-9b7e-52d1a0f4e3c6');
const SID_2 = uuidV7(T0_MS + 60_000, '7d02-a1b2-c3d4e5f60718');
/** Event uuid number n: increasing n gives increasing uuids. */
const u = (n: number): string => uuidV7(T0_MS, `7000-8000-${n.toString(16).padStart(12, '0')}`);

const SITE = 'https://www.northwind-trail.com';

function ev(event: string, seconds: number, n: number, fields: Partial<SessionEvent> = {}): SessionEvent {
  return blankEvent({
    uuid: u(n),
    event,
    teamId: 2,
    sessionId: SID,
    timestamp: at(seconds),
    currentUrl: `${SITE}/`,
    referringDomain: '$direct',
    ...fields,
  });
}

/** The oracle's rows, after checking the streaming buffer gives the same. */
function sessions(events: readonly SessionEvent[], options: DeriveOptions = {}): Session[] {
  const expected = sessionize(events, options);
  const buffer = new SessionBuffer();
  for (const e of events) buffer.add(e);
  expect(
    buffer
      .drain()
      .map((s) => stateToSession(s, options))
      .sort(compareSessions),
  ).toEqual(expected);
  return expected;
}

function only(events: readonly SessionEvent[], options: DeriveOptions = {}): Session {
  const rows = sessions(events, options);
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (row === undefined) throw new Error('no session');
  return row;
}

describe('sessionize: is_bounce', () => {
  it('is null with only a custom event', () => {
    const s = only([ev('signed_up', 0, 1)]);
    expect(s).toMatchObject({ is_bounce: null, pageview_count: 0, autocapture_count: 0, screen_count: 0 });
  });

  it('is null with only custom events and $pageleave, however long', () => {
    expect(only([ev('$pageleave', 0, 1), ev('signed_up', 2, 2), ev('$identify', 60, 3)]).is_bounce).toBeNull();
    expect(only([ev('$pageleave', 0, 1)]).is_bounce).toBeNull();
  });

  it('is true for a single $pageview under 10 s', () => {
    expect(only([ev('$pageview', 0, 1)])).toMatchObject({ is_bounce: true, session_duration: 0, pageview_count: 1 });
    expect(only([ev('$pageview', 0, 1), ev('$pageleave', 9.999_999, 2)])).toMatchObject({ is_bounce: true, session_duration: 9 });
  });

  it('is false for a single $pageview lasting 10 s', () => {
    expect(only([ev('$pageview', 0, 1), ev('$pageleave', 10, 2)])).toMatchObject({ is_bounce: false, session_duration: 10 });
    // 9.7 s elapsed but 10 whole-second boundaries crossed
    expect(only([ev('$pageview', 0.5, 1), ev('$pageleave', 10.2, 2)])).toMatchObject({ is_bounce: false, session_duration: 10 });
  });

  it('is false for one $pageview and one $autocapture', () => {
    expect(only([ev('$pageview', 0, 1), ev('$autocapture', 1, 2)])).toMatchObject({
      is_bounce: false,
      pageview_count: 1,
      autocapture_count: 1,
    });
  });

  it('stays true when the single $pageview is duplicated (same uuid)', () => {
    const pv = ev('$pageview', 0, 1);
    const s = only([pv, pv, { ...pv }, ev('$pageleave', 3, 2)]);
    expect(s).toMatchObject({ is_bounce: true, pageview_count: 1, session_duration: 3 });
  });

  it('counts a single $screen as the one page-like event; an $autocapture alone is no page-like event (PostHog v3)', () => {
    expect(only([ev('$screen', 0, 1, { currentUrl: null })]).is_bounce).toBe(true);
    expect(only([ev('$autocapture', 0, 1)]).is_bounce).toBeNull();
    expect(only([ev('$screen', 0, 1), ev('$pageview', 1, 2)]).is_bounce).toBe(false);
  });

  it('honours bounceThresholdSeconds', () => {
    const events = [ev('$pageview', 0, 1), ev('$pageleave', 25.5, 2)];
    expect(only(events).is_bounce).toBe(false);
    expect(only(events, { bounceThresholdSeconds: 30 }).is_bounce).toBe(true);
    expect(only(events, { bounceThresholdSeconds: 25 }).is_bounce).toBe(false);
    expect(only([ev('$pageview', 0, 1), ev('$pageleave', 3, 2)], { bounceThresholdSeconds: 3 }).is_bounce).toBe(false);
  });
});

describe('sessionize: duration and bounds', () => {
  it('0.9 s → 1.1 s is 1 second', () => {
    const s = only([ev('$pageview', 0.9, 1), ev('$autocapture', 1.1, 2)]);
    expect(s).toMatchObject({
      session_duration: 1,
      start_timestamp: '2026-11-20 10:00:00.900000',
      end_timestamp: '2026-11-20 10:00:01.100000',
    });
  });

  it('0.1 s → 0.9 s is 0 seconds', () => {
    expect(only([ev('$pageview', 0.1, 1), ev('$pageleave', 0.9, 2)]).session_duration).toBe(0);
  });

  it('start and end are the min and max over all events, whatever the input order', () => {
    const s = only([ev('$pageleave', 50.000_001, 3), ev('signed_up', -1.5, 1), ev('$pageview', 0, 2)]);
    expect(s).toMatchObject({
      start_timestamp: '2026-11-20 09:59:58.500000',
      end_timestamp: '2026-11-20 10:00:50.000001',
      session_duration: 52,
    });
  });
});

describe('sessionize: entry and exit', () => {
  const page = (path: string): Partial<SessionEvent> => ({ currentUrl: `${SITE}${path}` });

  it('entry is the first $pageview even after an $autocapture; exit the last even before one', () => {
    const events = [
      ev('$autocapture', 0, 1, { ...page('/cookie-banner'), utmSource: 'google', referringDomain: 'www.google.com' }),
      ev('$pageview', 2, 2, page('/account/login')),
      ev('$autocapture', 5, 3, page('/account/login')),
      ev('$pageview', 42, 4, page('/account/orders')),
      ev('$pageview', 57, 5, page('/account/orders/NW-100482?tab=items')),
      ev('$autocapture', 58, 6, page('/account/orders/NW-100482?tab=items#help')),
      ev('$pageleave', 61, 7, page('/after-exit')),
    ];
    const s = only(events);
    expect(s).toMatchObject({
      entry_current_url: `${SITE}/account/login`,
      entry_pathname: '/account/login',
      exit_current_url: `${SITE}/account/orders/NW-100482?tab=items`,
      exit_pathname: '/account/orders/NW-100482',
      // each attribution column is its own first non-null value, page-like events first (PostHog v3):
      // no $pageview has a utm_source, so the $autocapture's fills it; channel_type reads the
      // first $pageview as a whole
      entry_utm_source: 'google',
      entry_referring_domain: '$direct',
      channel_type: 'Direct',
      start_timestamp: '2026-11-20 10:00:00.000000',
      end_timestamp: '2026-11-20 10:01:01.000000',
      session_duration: 61,
      pageview_count: 3,
      autocapture_count: 3,
      is_bounce: false,
    });
    // the same for any input order
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length }), (shuffled) => {
        expect(sessionize(shuffled)).toEqual([s]);
      }),
      { numRuns: 50, seed: 11 },
    );
  });

  it('without page-like events, entry is the first event and exit the last', () => {
    const s = only([ev('$autocapture', 3, 2, page('/b')), ev('signed_up', 0, 1, page('/a')), ev('$pageleave', 9, 3, page('/c'))]);
    // no page-like event: is_bounce is NULL (PostHog v3)
    expect(s).toMatchObject({ entry_pathname: '/a', exit_pathname: '/c', autocapture_count: 1, is_bounce: null });
  });

  it('$screen counts as page-like for entry and exit', () => {
    const app = { currentUrl: null, referringDomain: null, utmSource: 'newsletter', utmMedium: 'email' };
    const s = only([
      ev('$autocapture', 0, 1, { ...app, utmSource: 'other' }),
      ev('$screen', 1, 2, app),
      ev('$pageview', 2, 3, { ...page('/webview'), utmSource: null, utmMedium: null }),
      ev('$screen', 3, 4, app),
      ev('product_added_to_cart', 4, 5, page('/not-exit')),
    ]);
    expect(s).toMatchObject({
      // the $screens have no URL: entry/exit URL are the first/last non-null among page-like events
      entry_current_url: `${SITE}/webview`,
      entry_pathname: '/webview',
      entry_utm_source: 'newsletter',
      entry_utm_medium: 'email',
      channel_type: 'Email',
      exit_current_url: `${SITE}/webview`,
      exit_pathname: '/webview',
      screen_count: 2,
      pageview_count: 1,
      autocapture_count: 1,
    });
  });

  it('ties on equal timestamps break by uuid, whatever the input order', () => {
    // three page views at the same microsecond: entry the smallest uuid, exit the largest
    const a = ev('$pageview', 5, 10, { ...page('/a'), distinctId: 'd-a', referringDomain: 'www.google.co.uk' });
    const b = ev('$pageview', 5, 11, { ...page('/b'), distinctId: 'd-b', referringDomain: '$direct' });
    const c = ev('$screen', 5, 12, { ...page('/c'), distinctId: 'd-c', referringDomain: 'l.facebook.com' });
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, c, a],
      [b, a, c],
    ]) {
      expect(only(order)).toMatchObject({
        entry_pathname: '/a',
        entry_referring_domain: 'www.google.co.uk',
        channel_type: 'Organic Search',
        exit_pathname: '/c',
        distinct_id: 'd-c',
        session_duration: 0,
        pageview_count: 2,
        screen_count: 1,
      });
    }
  });

  it('a tie on the first timestamp breaks by uuid only among page-like events', () => {
    // an $autocapture with a smaller uuid at the same time never beats a $pageview
    const s = only([ev('$autocapture', 0, 1, page('/click')), ev('$pageview', 0, 9, page('/land'))]);
    expect(s.entry_pathname).toBe('/land');
    expect(s.exit_pathname).toBe('/land');
  });

  it('entry_pathname of a junk URL is what ClickHouse path() gives: empty (the URL itself is kept)', () => {
    const s = only([ev('$pageview', 0, 1, { currentUrl: 'not a url' }), ev('$pageview', 1, 2, { currentUrl: 'javascript:void(0)' })]);
    expect(s).toMatchObject({
      entry_current_url: 'not a url',
      entry_pathname: '',
      exit_current_url: 'javascript:void(0)',
      exit_pathname: '',
    });
    expect(only([ev('$pageview', 0, 1, { currentUrl: '/relative?x=1' })]).entry_pathname).toBe('/relative');
  });
});

describe('sessionize: identity and grouping', () => {
  it('distinct_id is that of the latest event, whatever the input order', () => {
    const events = [
      ev('$pageview', 0, 1, { distinctId: 'anon-1' }),
      ev('$identify', 40, 3, { distinctId: 'user_8841' }),
      ev('$pageview', 41, 4, { distinctId: 'user_8841' }),
      ev('$autocapture', 20, 2, { distinctId: 'anon-1' }),
    ];
    expect(only(events).distinct_id).toBe('user_8841');
    expect(only([...events].reverse()).distinct_id).toBe('user_8841');
    // the latest event need not be page-like
    expect(only([...events, ev('$pageleave', 50, 5, { distinctId: 'user_8841@alias' })]).distinct_id).toBe('user_8841@alias');
  });

  it('counts pageviews, autocaptures and screens by distinct uuid', () => {
    const pv = ev('$pageview', 0, 1);
    const ac = ev('$autocapture', 1, 2);
    const sc = ev('$screen', 2, 3);
    const s = only([pv, ac, sc, pv, ac, sc, ac, ev('$pageview', 3, 4), ev('$pageleave', 4, 5), ev('$pageleave', 4, 5)]);
    expect(s).toMatchObject({ pageview_count: 2, autocapture_count: 1, screen_count: 1 });
  });

  it('teams with equal session ids stay apart', () => {
    const team2 = [ev('$pageview', 0, 1, { referringDomain: 'www.google.co.uk' }), ev('$autocapture', 5, 2), ev('$pageview', 6, 3)];
    const team3 = [
      ev('$pageview', 1, 101, { teamId: 3, referringDomain: 'www.indiehackers.com', currentUrl: 'https://docs.lumen-notes.io/' }),
    ];
    const rows = sessions([...team3, ...team2]);
    expect(rows.map((r) => [r.team_id, r.session_id])).toEqual([
      [2, SID],
      [3, SID],
    ]);
    expect(rows[0]).toMatchObject({
      pageview_count: 2,
      autocapture_count: 1,
      channel_type: 'Organic Search',
      is_bounce: false,
      session_duration: 6,
    });
    expect(rows[1]).toMatchObject({
      pageview_count: 1,
      autocapture_count: 0,
      channel_type: 'Referral',
      is_bounce: true,
      entry_current_url: 'https://docs.lumen-notes.io/',
      start_timestamp: '2026-11-20 10:00:01.000000',
    });
  });

  it('sorts by team then session id and keeps sessions of one team apart', () => {
    const rows = sessions([
      ev('$pageview', 70, 5, { sessionId: SID_2, teamId: 2 }),
      ev('$pageview', 0, 1, { teamId: 10 }),
      ev('$pageview', 0, 2),
      ev('$pageview', 65, 6, { sessionId: SID_2, teamId: 3 }),
      ev('$pageview', 80, 7, { sessionId: SID_2, teamId: 2 }),
    ]);
    expect(rows.map((r) => [r.team_id, r.session_id, r.pageview_count])).toEqual([
      [2, SID, 1],
      [2, SID_2, 2],
      [3, SID_2, 1],
      [10, SID, 1],
    ]);
  });

  it('no events, no sessions', () => {
    expect(sessions([])).toEqual([]);
  });
});
