/**
 * fast-check arbitraries of normalised events, for the property tests of the session algebra.
 * Pools are small on purpose: equal timestamps, shared session ids across teams, duplicate
 * uuids and page-less sessions all happen often.
 */
import fc from 'fast-check';
import type { ChannelInput, SessionEvent } from '@sessionizer/core';

const SESSION_MS = Date.UTC(2026, 10, 26, 10, 0, 0);

/** A UUIDv7 string with the given millisecond prefix and a counter in the random bits. */
export function uuidV7At(ms: number, n: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  const tail = n.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-${tail}`;
}

export function uuidV4Like(n: number): string {
  const tail = n.toString(16).padStart(12, '0');
  return `0f0e0d0c-0b0a-4000-9000-${tail}`;
}

const EVENTS = ['$pageview', '$screen', '$autocapture', '$pageleave', 'signed_up', '$pageview', '$autocapture'];
const URLS = [
  null,
  'https://shop.example.com/',
  'https://shop.example.com/pricing?plan=pro',
  'https://shop.example.com/a/b#top',
  'not a url',
  '/relative/path?x=1',
  'http://user@shop.example.com:8080/p?q',
  '//cdn.example.com/asset.js',
  'android-app://com.example.app/screen',
];
const SOURCES = [null, 'google', 'Google', 'facebook', 'newsletter', 'NULL', 'null', 'bing.com'];
const MEDIUMS = [null, 'cpc', 'email', 'social', 'paid_social', 'referral', 'push'];
const CAMPAIGNS = [null, 'black-friday', 'summer_shopping', 'video-launch', 'cross-network-q4'];
const DOMAINS = [null, '$direct', 'www.google.co.uk', 'l.facebook.com', 'news.ycombinator.com', 'example.org'];
const CLICK_IDS = [null, 'abc123'];
const GAD = [null, '1', '2'];
// The catalog's other properties: a value, or absent; strings that sort differently by UTF-16
// units and by UTF-8 bytes (U+FF5E vs U+1F600) hold the set order to ClickHouse's.
const BROWSERS = [null, 'Chrome', 'Safari', 'Firefox'];
const VIEWPORTS = [null, 390, 1280, 1920];
const COUNTRIES = [null, 'GB', 'US', 'DE'];
const CITIES = [null, 'London', 'Zürich', '東京'];
const AD_IDS = [null, null, null, 'msclkid', 'gclsrc', 'twclid', '_kx'];
const HOSTS = [null, 'shop.example.com', 'www.example.com', 'ｆｕｌｌ～', 'emoji😀.example'];
const EMAILS = [null, null, 'ana@example.com', 'bo@example.org'];
const FLAGS: readonly (readonly (readonly [string, string])[])[] = [
  [],
  [['new-nav', 'true']],
  [
    ['new-nav', 'false'],
    ['pricing', 'b'],
  ],
];
const NAMES_EXTRA = [null, 'checkout started', '$feature_flag_called'];

export interface EventPools {
  readonly teams: readonly number[];
  readonly sessions: number;
  readonly uuids: number;
  /** Distinct timestamps (in ms steps of 700) per session. */
  readonly timeSlots: number;
}

const DEFAULT_POOLS: EventPools = { teams: [1, 2], sessions: 4, uuids: 60, timeSlots: 12 };

/** A small deterministic hash → [0, n). */
function pick(seed: number, salt: number, n: number): number {
  let h = (seed * 2_654_435_761 + salt * 40_503) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 2_246_822_519) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  return h % n;
}

function from<T>(list: readonly T[], seed: number, salt: number): T {
  return list[pick(seed, salt, list.length)] as T;
}

/**
 * The event with this (team, session, uuid index). Its content is a function of its uuid, as
 * for real duplicates (an upstream retry or a replay re-sends the same event), so any two
 * events with one uuid are equal.
 */
export function eventFor(team: number, session: number, index: number, pools: EventPools = DEFAULT_POOLS): SessionEvent {
  const sessionMs = SESSION_MS + session * 1_000;
  const id = team * 1_000_000 + session * 10_000 + index;
  return {
    uuid: uuidV4Like(id),
    event: from(EVENTS, id, 1) === 'signed_up' ? (from(NAMES_EXTRA, id, 28) ?? 'signed_up') : from(EVENTS, id, 1),
    teamId: team,
    distinctId: from(['anon-1', 'user-42', 'user-43'], id, 2),
    sessionId: uuidV7At(sessionMs, session),
    timestamp: (sessionMs + pick(id, 3, pools.timeSlots) * 700) * 1_000 + from([0, 0, 123, 999_999], id, 4),
    currentUrl: from(URLS, id, 5),
    referringDomain: from(DOMAINS, id, 6),
    utmSource: from(SOURCES, id, 7),
    utmMedium: from(MEDIUMS, id, 8),
    utmCampaign: from(CAMPAIGNS, id, 9),
    utmTerm: null,
    utmContent: index % 3 === 0 ? 'hero' : null,
    gclid: from(CLICK_IDS, id, 10),
    gadSource: from(GAD, id, 11),
    fbclid: from(CLICK_IDS, id, 12),
    ...catalogProps(id),
  };
}

function catalogProps(id: number): Pick<SessionEvent, 'props' | 'flags'> {
  const props: Record<string, string | number> = {};
  const put = (key: string, value: string | number | null): void => {
    if (value !== null) props[key] = value;
  };
  put('$browser', from(BROWSERS, id, 13));
  put('$browser_version', from([null, '131', '18.1'], id, 14));
  put('$os', from([null, 'Mac OS X', 'iOS', 'Windows'], id, 15));
  put('$device_type', from([null, 'Desktop', 'Mobile'], id, 16));
  put('$viewport_width', from(VIEWPORTS, id, 17));
  put('$viewport_height', from(VIEWPORTS, id, 18));
  put('$geoip_country_code', from(COUNTRIES, id, 19));
  put('$geoip_city_name', from(CITIES, id, 20));
  put('$geoip_time_zone', from([null, 'Europe/London'], id, 21));
  const adId = from(AD_IDS, id, 22);
  if (adId !== null) put(adId, `${adId}-${pick(id, 23, 3)}`);
  put('$external_click_url', from([null, null, 'https://partner.example/x', 'https://docs.example/y'], id, 24));
  put('$host', from(HOSTS, id, 25));
  put('person_properties.email', from(EMAILS, id, 26));
  const flags = from(FLAGS, id, 27);
  return { ...(Object.keys(props).length === 0 ? {} : { props }), ...(flags.length === 0 ? {} : { flags }) };
}

export function eventArbitrary(pools: EventPools = DEFAULT_POOLS): fc.Arbitrary<SessionEvent> {
  return fc
    .record({
      team: fc.constantFrom(...pools.teams),
      session: fc.integer({ min: 0, max: pools.sessions - 1 }),
      index: fc.integer({ min: 0, max: pools.uuids - 1 }),
    })
    .map((r) => eventFor(r.team, r.session, r.index, pools));
}

/** A list of distinct events (duplicates are added by the tests that want them). */
export function eventsArbitrary(pools: EventPools = DEFAULT_POOLS, maxLength = 60): fc.Arbitrary<SessionEvent[]> {
  return fc
    .array(eventArbitrary(pools), { minLength: 0, maxLength })
    .map((events) => [...new Map(events.map((e) => [e.uuid, e])).values()]);
}

/** Channel inputs whose text fields (UTM parameters, referring domain, gad_source) draw from `value`. */
export function channelInputArbitrary(value: fc.Arbitrary<string | null>): fc.Arbitrary<ChannelInput> {
  return fc.record({
    utmSource: value,
    utmMedium: value,
    utmCampaign: value,
    referringDomain: value,
    hasGclid: fc.boolean(),
    gadSource: value,
    hasFbclid: fc.boolean(),
  });
}
