/**
 * The simulation: teams, visitors and their sessions. A session is a plan (how many events,
 * whether it identifies, how many tabs) played one event at a time; the generator interleaves
 * the sessions by event time. Everything comes from one seeded PRNG, in a fixed order.
 */
import {
  AFFILIATES,
  APP_DEVICES,
  COMPANY_DOMAINS,
  DISPLAY_PUBLISHERS,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  GEOS,
  LAST_NAMES,
  PAID_SOCIAL,
  REFERRAL_DOMAINS,
  SEARCH_REFERRERS,
  SITES,
  SOCIAL_REFERRERS,
  WEB_CHANNELS,
  WEB_DEVICES,
  type AppDevice,
  type Channel,
  type ElementSpec,
  type Geo,
  type Page,
  type SiteTemplate,
  type WebDevice,
} from './catalog.js';
import { uuidV4, uuidV5Like, uuidV7 } from './ids.js';
import type { Rng } from './random.js';
import { chSeconds } from './time.js';

export const MICROS_PER_MS = 1_000;
const MINUTE_MS = 60_000;
const HOUR_US = 3_600_000_000;
/** Sessions end before this age: every event stays well inside the 24 h session rule. */
const MAX_SESSION_AGE_US = 23 * HOUR_US;

export interface Team {
  readonly id: number;
  readonly token: string;
  readonly site: SiteTemplate;
  readonly host: string;
  readonly apiHost: string;
}

export function teamToken(id: number): string {
  return `phc_loadgen_team_${id}`;
}

/** Capture token → team id for teams 1..n, as the sessionizer's token mapping expects. */
export function tokenTeams(n: number): Map<string, number> {
  const map = new Map<string, number>();
  for (let id = 1; id <= n; id++) map.set(teamToken(id), id);
  return map;
}

function makeTeam(id: number): Team {
  const index = (id - 1) % SITES.length;
  const site = SITES[index] ?? SITES[0];
  if (site === undefined) throw new Error('no site templates');
  // Teams beyond the templates get their own domain: www.northwind-trail-4.com.
  const suffix = id > SITES.length ? `-${id}` : '';
  const withSuffix = (host: string): string => (suffix === '' ? host : host.replace(/\.([a-z]+)$/, `${suffix}.$1`));
  return { id, token: teamToken(id), site, host: withSuffix(site.host), apiHost: withSuffix(site.apiHost) };
}

export interface Person {
  readonly id: string;
  readonly createdAt: string;
  /** An identified user's email (`$set` on `$identify`, person_properties after): null while anonymous. */
  readonly email: string | null;
  readonly plan: string | null;
}

/** What PostHog's GeoIP step finds for an IP: the city, only the country, or nothing. */
export type GeoipMatch = 'city' | 'country' | 'none';

/** The client side of a message: where it was sent from and how its clock is off. */
export interface Client {
  readonly ip: string;
  readonly geo: Geo;
  readonly geoip: GeoipMatch;
  /** Client clock minus true time, in ms (constant per device). */
  readonly skewMs: number;
  /** iOS sends uppercase UUIDs. */
  readonly upperCaseIds: boolean;
  /** A server-side SDK (posthog-node): no geoip, no skew. */
  readonly serverSide: boolean;
}

/** One event before it is written in an input format. */
export interface SimEvent {
  /** Canonical lowercase UUIDv7 at the event time. */
  readonly uuid: string;
  readonly event: string;
  /** True event time, µs: what the sessionizer must compute for this event. */
  readonly timeUs: number;
  readonly team: Team;
  readonly distinctId: string;
  readonly person: Person;
  readonly properties: Record<string, unknown>;
  readonly elements: readonly ElementSpec[] | null;
  readonly set: Record<string, unknown> | null;
  readonly client: Client;
  /** Time from the event to capture receiving it (SDK batching and network), ms. */
  readonly sendDelayMs: number;
  /** Time from capture to the processed event (created_at), ms. */
  readonly ingestLagMs: number;
  /** posthog-capture: send `offset` instead of `timestamp`. */
  readonly useOffset: boolean;
  /** Canonical session id the event carries, or null. */
  readonly sessionId: string | null;
}

interface Tab {
  readonly windowId: string;
  page: Page;
  url: string;
  pageviewId: string;
  pageStartUs: number;
  /** The landing pageview of a campaign visit: events on it carry the campaign parameters. */
  campaign: boolean;
}

interface WebClient {
  readonly device: WebDevice;
  readonly screen: readonly [number, number];
  readonly viewport: readonly [number, number];
}

export interface Session {
  readonly seq: number;
  readonly team: Team;
  readonly mobile: boolean;
  /** Canonical lowercase. */
  readonly sessionId: string;
  /** As the SDK writes it (uppercase on iOS). */
  readonly sessionIdPayload: string;
  readonly startMs: number;
  /** Planned number of events. */
  planned: number;
  /** Events emitted so far. */
  index: number;
  /** Time of the next event, µs. */
  nextUs: number;
  distinctId: string;
  readonly deviceId: string;
  readonly userId: string | null;
  /** Index of the $identify event, or -1. */
  readonly identifyAt: number;
  identified: boolean;
  person: Person;
  readonly client: Client;
  readonly web: WebClient | null;
  readonly app: AppDevice | null;
  readonly referrer: string;
  readonly referringDomain: string;
  /** Campaign parameters of the landing URL (web) or super properties (app deep links). */
  readonly params: readonly (readonly [string, string])[];
  readonly tabs: Tab[];
  readonly maxTabs: number;
  activeTab: number;
  screenName: string;
  /** The visitor's feature flag values, in the team's order. */
  readonly flags: readonly (readonly [string, boolean | string])[];
  /** Whether the SDK has its flags yet: a new visitor's first event goes out before /flags answers. */
  flagsLoaded: boolean;
}

const PAGE_WEIGHTS = { $pageview: 30, $autocapture: 38, custom: 22, $rageclick: 2, newTab: 8 } as const;

function skewOf(rng: Rng): number {
  // Most clocks are close; some are off by seconds, a few by minutes (either way).
  const sign = rng.chance(0.5) ? 1 : -1;
  const r = rng.next();
  if (r < 0.55) return sign * rng.int(0, 1_500);
  if (r < 0.87) return sign * rng.int(1_500, 60_000);
  return sign * rng.int(60_000, 12 * MINUTE_MS);
}

/** Time from the event to capture receiving it: SDK batching and the network, occasionally offline. */
function sendDelayOf(rng: Rng, mobile: boolean): number {
  const r = rng.next();
  if (r < 0.7) return rng.int(40, mobile ? 15_000 : 3_500);
  if (r < 0.97) return rng.int(3_500, 30_000);
  return rng.int(30_000, 20 * MINUTE_MS);
}

function geoipOf(rng: Rng): GeoipMatch {
  const r = rng.next();
  return r < 0.97 ? 'city' : r < 0.99 ? 'country' : 'none';
}

function ipOf(rng: Rng, geo: Geo, mobile: boolean): string {
  if (mobile && rng.chance(0.3)) {
    return `2a00:23c7:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}`;
  }
  return `${rng.pick(geo.ipPrefixes)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** Session length: many bounces, a log-normal body with a long tail (mean ≈ 8, some 100+). */
function plannedLength(rng: Rng): number {
  if (rng.chance(0.4)) return 1;
  return Math.min(600, 2 + Math.floor(rng.logNormal(6, 1.1)));
}

function encodeParams(params: readonly (readonly [string, string])[]): string {
  return params.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');
}

export class World {
  readonly #rng: Rng;
  readonly teams: readonly Team[];
  readonly #teamWeights: readonly (readonly [Team, number])[];
  readonly #users = new Map<string, Person>();

  constructor(rng: Rng, teams: number) {
    this.#rng = rng;
    this.teams = Array.from({ length: teams }, (_, i) => makeTeam(i + 1));
    // Multi-tenant traffic is skewed: team 1 is the biggest (Zipf-like).
    this.#teamWeights = this.teams.map((t) => [t, 1 / t.id] as const);
  }

  #person(startMs: number, key: string | null): Person {
    const rng = this.#rng;
    if (key !== null) {
      const known = this.#users.get(key);
      if (known !== undefined) return known;
    }
    const createdMs = key === null ? startMs : startMs - rng.int(1, 400) * 86_400_000 - rng.int(0, 86_399_999);
    const person: Person = {
      id: uuidV5Like(rng),
      createdAt: chSeconds(createdMs),
      email: key === null ? null : this.#email(),
      plan: key === null ? null : rng.pick(['free', 'pro', 'team']),
    };
    if (key !== null) this.#users.set(key, person);
    return person;
  }

  #email(): string {
    const rng = this.#rng;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const domain = rng.weighted(EMAIL_DOMAINS);
    if (domain === null) return `${first}.${last}@${rng.pick(COMPANY_DOMAINS)}`;
    return rng.chance(0.5) ? `${first}.${last}${rng.int(1, 99)}@${domain}` : `${first}${last}@${domain}`;
  }

  #userId(team: Team): string {
    return `user-${this.#rng.int(1, 5_000 * team.id)}`;
  }

  newSession(seq: number, startMs: number): Session {
    const rng = this.#rng;
    const team = rng.weighted(this.#teamWeights);
    const mobile = rng.chance(0.35);
    const geo = rng.weighted(GEOS);
    const app = mobile ? rng.weighted(APP_DEVICES) : null;
    const upper = app?.os === 'iOS';
    const client: Client = {
      ip: ipOf(rng, geo, mobile),
      geo,
      geoip: geoipOf(rng),
      skewMs: skewOf(rng),
      upperCaseIds: upper,
      serverSide: false,
    };
    const deviceId = uuidV7(startMs - rng.int(0, 60 * 86_400_000), rng);
    const sessionId = uuidV7(startMs, rng);
    const planned = plannedLength(rng);

    let web: WebClient | null = null;
    if (!mobile) {
      const device = rng.weighted(WEB_DEVICES);
      const screen = rng.pick(device.screens);
      const desktop = device.deviceType === 'Desktop';
      const viewport = [
        screen[0] - (desktop ? rng.int(0, 16) * 10 : 0),
        screen[1] - rng.int(desktop ? 80 : 110, desktop ? 260 : 190),
      ] as const;
      web = { device, screen, viewport };
    }

    // Identity: returning users start identified; some anonymous visitors identify mid-session.
    const returning = rng.chance(mobile ? 0.2 : 0.12);
    const identifies = !returning && planned >= 3 && rng.chance(mobile ? 0.06 : 0.16);
    const userId = returning || identifies ? this.#userId(team) : null;
    const anonId = upper ? deviceId.toUpperCase() : deviceId;
    const distinctId = returning && userId !== null ? userId : anonId;
    const person = returning ? this.#person(startMs, `${team.id}:${userId ?? ''}`) : this.#person(startMs, null);

    let referrer = '$direct';
    let referringDomain = '$direct';
    let params: (readonly [string, string])[] = [];
    if (web !== null) {
      ({ referrer, referringDomain, params } = this.#attribution(team.site, rng.weighted(WEB_CHANNELS)));
    } else if (rng.chance(0.15)) {
      const campaign = rng.pick(team.site.campaigns);
      params = rng.chance(0.5)
        ? [
            ['utm_source', 'braze'],
            ['utm_medium', 'push'],
            ['utm_campaign', campaign],
          ]
        : [
            ['utm_source', 'newsletter'],
            ['utm_medium', 'email'],
            ['utm_campaign', campaign],
            ['utm_content', 'hero_image'],
          ];
    }

    const tabs: Tab[] = [];
    let maxTabs = 1;
    if (web !== null) {
      const site = team.site;
      const page = params.length > 0 || rng.chance(0.5) ? (site.pages[rng.pick(site.landing)] ?? site.pages[0]) : rng.pick(site.pages);
      if (page === undefined) throw new Error('site without pages');
      const base = `https://${team.host}${page.path}`;
      const url = params.length > 0 ? `${base}?${encodeParams(params)}` : base;
      const startUs = startMs * MICROS_PER_MS;
      tabs.push({
        windowId: uuidV7(startMs, rng),
        page,
        url,
        pageviewId: uuidV7(startMs, rng),
        pageStartUs: startUs,
        campaign: params.length > 0,
      });
      if (planned >= 4)
        maxTabs = rng.weighted([
          [1, 70],
          [2, 25],
          [3, 5],
        ]);
    }

    return {
      seq,
      team,
      mobile,
      sessionId,
      sessionIdPayload: upper ? sessionId.toUpperCase() : sessionId,
      startMs,
      planned,
      index: 0,
      nextUs: startMs * MICROS_PER_MS,
      distinctId,
      deviceId: anonId,
      userId,
      identifyAt: identifies ? rng.int(1, planned - 2) : -1,
      identified: returning,
      person,
      client,
      web,
      app,
      referrer,
      referringDomain,
      params,
      tabs,
      maxTabs,
      activeTab: 0,
      screenName: app === null ? '' : rng.pick(team.site.app.screens),
      flags: team.site.flags.map((f) => [f.key, rng.weighted(f.values)] as const),
      // a returning visitor's SDK has the flags from its last visit
      flagsLoaded: returning,
    };
  }

  #attribution(site: SiteTemplate, channel: Channel): { referrer: string; referringDomain: string; params: (readonly [string, string])[] } {
    const rng = this.#rng;
    const campaign = rng.pick(site.campaigns);
    const from = (domain: string, path = '/'): { referrer: string; referringDomain: string } => ({
      referrer: `https://${domain}${path}`,
      referringDomain: domain,
    });
    switch (channel) {
      case 'direct':
        return { referrer: '$direct', referringDomain: '$direct', params: [] };
      case 'organic_search':
        return { ...from(rng.weighted(SEARCH_REFERRERS)), params: [] };
      case 'paid_search': {
        if (rng.chance(0.15)) {
          // Microsoft Ads auto-tagging appends msclkid
          return {
            ...from('www.bing.com'),
            params: [
              ['utm_source', 'bing'],
              ['utm_medium', 'cpc'],
              ['utm_campaign', campaign],
              ['utm_term', rng.pick(site.terms)],
              ['msclkid', rng.hex(32)],
            ],
          };
        }
        const domain = rng.chance(0.7) ? 'www.google.com' : 'www.google.co.uk';
        // Auto-tagging alone (gclid + gad_source) or with manual UTMs.
        const utms: (readonly [string, string])[] = rng.chance(0.6)
          ? [
              ['utm_source', 'google'],
              ['utm_medium', 'cpc'],
              ['utm_campaign', campaign],
              ['utm_term', rng.pick(site.terms)],
            ]
          : [];
        const r = rng.next();
        // iOS app-to-web and web-to-app clicks carry gbraid / wbraid instead of a gclid
        if (r < 0.08)
          return {
            ...from(domain),
            params: [...utms, ['gad_source', '1'], [rng.chance(0.5) ? 'gbraid' : 'wbraid', `0AAAAA${rng.token(30)}`]],
          };
        const gclid: (readonly [string, string])[] = [['gclid', `Cj0KCQiA${rng.token(62)}_BwE`]];
        // Search Ads 360 adds gclsrc
        if (r < 0.18) gclid.push(['gclsrc', 'aw.ds']);
        return { ...from(domain), params: [...utms, ['gad_source', '1'], ...gclid] };
      }
      case 'paid_social': {
        const network = rng.weighted(PAID_SOCIAL);
        const clickId =
          network.clickId === 'fbclid'
            ? `IwZXh0bgNhZW0BMABhZGlk${rng.token(40)}_aem_${rng.token(22)}`
            : network.clickId === 'ttclid'
              ? `E.C.P.${rng.token(48)}`
              : network.clickId === 'epik'
                ? `dj0yJnU9${rng.token(32)}`
                : network.clickId === 'twclid'
                  ? `2-${rng.token(24).toLowerCase()}`
                  : uuidV4(rng);
        return {
          ...from(network.domain),
          params: [
            ['utm_source', network.source],
            ['utm_medium', 'paid_social'],
            ['utm_campaign', campaign],
            ['utm_content', rng.pick(['carousel_v2', 'video_15s', 'static_a', 'static_b'])],
            [network.clickId, clickId],
          ],
        };
      }
      case 'display':
        // Display & Video 360 appends dclid
        return {
          ...from(rng.pick(DISPLAY_PUBLISHERS)),
          params: [
            ['utm_source', 'google'],
            ['utm_medium', 'display'],
            ['utm_campaign', campaign],
            ['dclid', `CJ${rng.token(38)}`],
          ],
        };
      case 'organic_social': {
        const domain = rng.pick(SOCIAL_REFERRERS);
        // links shared from Instagram carry igshid
        return { ...from(domain), params: domain === 'l.instagram.com' && rng.chance(0.6) ? [['igshid', rng.token(16)]] : [] };
      }
      case 'email': {
        const params: (readonly [string, string])[] = [
          ['utm_source', 'newsletter'],
          ['utm_medium', 'email'],
          ['utm_campaign', campaign],
        ];
        // Mailchimp appends mc_cid (and mc_eid), Klaviyo _kx
        const r = rng.next();
        if (r < 0.4) params.push(['mc_cid', rng.hex(10)], ['mc_eid', rng.hex(10)]);
        else if (r < 0.6) params.push(['_kx', `${rng.token(22)}.${rng.token(6)}`]);
        return rng.chance(0.7) ? { referrer: '$direct', referringDomain: '$direct', params } : { ...from('mail.google.com'), params };
      }
      case 'referral':
        return {
          ...from(
            rng.pick(REFERRAL_DOMAINS),
            `/${rng.pick(['best-gear-2026', 'post/how-we-grew', 'wiki/Notes', 'p/weekly-roundup', 'topics/productivity'])}`,
          ),
          params: [],
        };
      case 'affiliate': {
        const network = rng.pick(AFFILIATES);
        const params: (readonly [string, string])[] = [
          ['utm_source', network],
          ['utm_medium', 'affiliate'],
          ['utm_campaign', campaign],
        ];
        // Impact's click id
        if (network === 'impact') params.push(['irclid', `${rng.token(8)}xyz${rng.token(14)}`]);
        return { ...from(`www.${network}.com`), params };
      }
      case 'video':
        return rng.chance(0.5)
          ? {
              ...from('www.youtube.com'),
              params: [
                ['utm_source', 'youtube'],
                ['utm_medium', 'video'],
                ['utm_campaign', campaign],
              ],
            }
          : { ...from('www.youtube.com'), params: [] };
    }
  }

  /** Properties every event of the session carries (client side). */
  #baseProps(s: Session, timeUs: number, tab: Tab | null): Record<string, unknown> {
    const rng = this.#rng;
    const clientMs = Math.floor(timeUs / MICROS_PER_MS) + s.client.skewMs;
    const insertId = rng.hex(16);
    if (s.web !== null && tab !== null) {
      const d = s.web.device;
      const p: Record<string, unknown> = {
        $os: d.os,
        // posthog-js drops empty values: a reduced Android user agent has no OS version
        ...(d.osVersion === '' ? {} : { $os_version: d.osVersion }),
        $browser: d.browser,
        $device_type: d.deviceType,
        $raw_user_agent: d.userAgent,
        $browser_version: d.browserVersion,
        $screen_height: s.web.screen[1],
        $screen_width: s.web.screen[0],
        $viewport_height: s.web.viewport[1],
        $viewport_width: s.web.viewport[0],
        $lib: 'web',
        $lib_version: '1.449.2',
        $device_id: s.deviceId,
        $referrer: s.referrer,
        $referring_domain: s.referringDomain,
        $is_identified: s.identified,
        $process_person_profile: true,
        token: s.team.token,
        $window_id: tab.windowId,
        $session_id: s.sessionIdPayload,
        $insert_id: insertId,
        $time: clientMs / 1_000,
        $current_url: tab.url,
        $host: s.team.host,
        $pathname: tab.page.path,
        $pageview_id: tab.pageviewId,
      };
      if (tab.campaign) for (const [k, v] of s.params) p[k] = v;
      this.#flagProps(s, p);
      return p;
    }
    const app = s.app;
    if (app === null) throw new Error('a session is web or app');
    const a = s.team.site.app;
    const p: Record<string, unknown> = {
      $os: app.os,
      $os_version: app.osVersion,
      $device_type: 'Mobile',
      $device_manufacturer: app.manufacturer,
      $device_model: app.model,
      $app_name: a.name,
      $app_version: a.version,
      $app_build: a.build,
      $app_namespace: a.namespace,
      $locale: s.client.geo.language,
      $screen_width: app.screen[0],
      $screen_height: app.screen[1],
      $lib: app.lib,
      $lib_version: app.libVersion,
      $is_identified: s.identified,
      $process_person_profile: true,
      $device_id: s.deviceId,
      $session_id: s.sessionIdPayload,
      $insert_id: s.client.upperCaseIds ? insertId.toUpperCase() : insertId,
    };
    for (const [k, v] of s.params) p[k] = v;
    this.#flagProps(s, p);
    return p;
  }

  /** Once the SDK has its flags: `$active_feature_flags` (the enabled ones) and `$feature/<key>` for each. */
  #flagProps(s: Session, p: Record<string, unknown>): void {
    if (!s.flagsLoaded || s.flags.length === 0) return;
    p['$active_feature_flags'] = s.flags.filter(([, v]) => v !== false).map(([k]) => k);
    for (const [key, value] of s.flags) p[`$feature/${key}`] = value;
  }

  #event(s: Session, event: string, timeUs: number, properties: Record<string, unknown>, extra: Partial<SimEvent> = {}): SimEvent {
    const rng = this.#rng;
    const sendDelayMs = sendDelayOf(rng, s.mobile);
    return {
      uuid: uuidV7(Math.floor(timeUs / MICROS_PER_MS), rng),
      event,
      timeUs,
      team: s.team,
      distinctId: s.distinctId,
      person: s.person,
      properties,
      elements: null,
      set: null,
      client: s.client,
      sendDelayMs,
      ingestLagMs: rng.int(80, 2_500),
      useOffset: rng.chance(0.03),
      sessionId: s.sessionId,
      ...extra,
    };
  }

  #navigate(s: Session, tab: Tab, timeUs: number): Record<string, unknown> {
    const rng = this.#rng;
    const site = s.team.site;
    const prev = tab.page;
    let page = rng.pick(site.pages);
    if (page === prev) page = rng.pick(site.pages);
    const durationS = Math.round((timeUs - tab.pageStartUs) / 100_000) / 10;
    const prevProps = {
      $prev_pageview_pathname: prev.path,
      $prev_pageview_duration: durationS,
    };
    tab.page = page;
    tab.url = `https://${s.team.host}${page.path}`;
    tab.pageviewId = uuidV7(Math.floor(timeUs / MICROS_PER_MS), rng);
    tab.pageStartUs = timeUs;
    tab.campaign = false;
    return prevProps;
  }

  /** The session's next event, at `s.nextUs`; advances the session and schedules the one after. */
  step(s: Session): SimEvent {
    const rng = this.#rng;
    const timeUs = s.nextUs;
    const i = s.index;
    const last = i === s.planned - 1;
    let e: SimEvent;

    if (i === s.identifyAt && s.userId !== null) {
      const anon = s.distinctId;
      s.distinctId = s.userId;
      s.identified = true;
      s.person = this.#person(s.startMs, `${s.team.id}:${s.userId}`);
      const tab = s.tabs[s.activeTab] ?? null;
      const props = this.#baseProps(s, timeUs, tab);
      props['$anon_distinct_id'] = anon;
      if (s.web !== null) props['$user_id'] = s.userId;
      const set = { email: s.person.email, plan: s.person.plan };
      e = this.#event(s, '$identify', timeUs, props, { set });
    } else if (s.web !== null) {
      e = this.#webStep(s, timeUs, i, last);
    } else {
      e = this.#appStep(s, timeUs, i, last);
    }

    s.index += 1;
    s.flagsLoaded = true;
    if (s.index < s.planned) {
      const gapMs = Math.min(25 * MINUTE_MS, Math.max(250, rng.logNormal(9_000, 1.25)));
      const next = timeUs + Math.round(gapMs * MICROS_PER_MS) + rng.int(0, 999);
      if (next - s.startMs * MICROS_PER_MS >= MAX_SESSION_AGE_US) s.planned = s.index;
      else s.nextUs = next;
    }
    return e;
  }

  #webStep(s: Session, timeUs: number, i: number, last: boolean): SimEvent {
    const rng = this.#rng;
    const site = s.team.site;
    if (i === 0) {
      const tab = s.tabs[0];
      if (tab === undefined) throw new Error('web session without a tab');
      return this.#event(s, '$pageview', timeUs, { ...this.#baseProps(s, timeUs, tab), title: tab.page.title });
    }
    if (last && rng.chance(0.65)) {
      const tab = s.tabs[s.activeTab] ?? s.tabs[0];
      if (tab === undefined) throw new Error('web session without a tab');
      const props = this.#baseProps(s, timeUs, tab);
      Object.assign(props, this.#navigateLeave(tab, timeUs));
      return this.#event(s, '$pageleave', timeUs, props);
    }
    let kind = rng.weighted(Object.entries(PAGE_WEIGHTS) as [keyof typeof PAGE_WEIGHTS, number][]);
    if (kind === 'newTab' && s.tabs.length >= s.maxTabs) kind = '$pageview';
    if (kind === 'newTab') {
      const page = rng.pick(site.pages);
      const ms = Math.floor(timeUs / MICROS_PER_MS);
      const tab: Tab = {
        windowId: uuidV7(ms, rng),
        page,
        url: `https://${s.team.host}${page.path}`,
        pageviewId: uuidV7(ms, rng),
        pageStartUs: timeUs,
        campaign: false,
      };
      s.tabs.push(tab);
      s.activeTab = s.tabs.length - 1;
      return this.#event(s, '$pageview', timeUs, { ...this.#baseProps(s, timeUs, tab), title: page.title });
    }
    if (s.tabs.length > 1 && rng.chance(0.3)) s.activeTab = rng.int(0, s.tabs.length - 1);
    const tab = s.tabs[s.activeTab] ?? s.tabs[0];
    if (tab === undefined) throw new Error('web session without a tab');
    switch (kind) {
      case '$pageview': {
        const prev = this.#navigate(s, tab, timeUs);
        return this.#event(s, '$pageview', timeUs, { ...this.#baseProps(s, timeUs, tab), title: tab.page.title, ...prev });
      }
      case '$autocapture':
      case '$rageclick': {
        // some clicks leave for another site: posthog-js adds the link as $external_click_url
        const external = kind === '$autocapture' && rng.chance(0.08);
        const chain = external ? rng.pick(site.externalClicks) : rng.pick(site.clicks);
        const props = this.#baseProps(s, timeUs, tab);
        props['$event_type'] = 'click';
        props['$ce_version'] = 1;
        const text = chain[0]?.text;
        if (text !== undefined) props['$el_text'] = text;
        const href = chain[0]?.href;
        if (external && href !== undefined) props['$external_click_url'] = href;
        return this.#event(s, kind, timeUs, props, { elements: chain });
      }
      case 'custom': {
        const custom = rng.pick(site.events);
        // Backends send many business events, with the session id the frontend passed along.
        if (rng.chance(0.6)) return this.#serverSide(s, timeUs, custom.name, { ...custom.props, $session_id: s.sessionId }, s.sessionId);
        return this.#event(s, custom.name, timeUs, { ...this.#baseProps(s, timeUs, tab), ...custom.props });
      }
    }
  }

  #navigateLeave(tab: Tab, timeUs: number): Record<string, unknown> {
    return {
      $prev_pageview_pathname: tab.page.path,
      $prev_pageview_duration: Math.round((timeUs - tab.pageStartUs) / 100_000) / 10,
    };
  }

  #appStep(s: Session, timeUs: number, i: number, last: boolean): SimEvent {
    const rng = this.#rng;
    const a = s.team.site.app;
    if (i === 0 && s.planned > 1 && rng.chance(0.5)) {
      const props = this.#baseProps(s, timeUs, null);
      props['from_background'] = rng.chance(0.4);
      props['version'] = a.version;
      props['build'] = a.build;
      return this.#event(s, 'Application Opened', timeUs, props);
    }
    if (last && i > 0 && rng.chance(0.4)) return this.#event(s, 'Application Backgrounded', timeUs, this.#baseProps(s, timeUs, null));
    if (i === 0 || rng.chance(0.6)) {
      if (i > 0) s.screenName = rng.pick(a.screens);
      const props = this.#baseProps(s, timeUs, null);
      props['$screen_name'] = s.screenName;
      return this.#event(s, '$screen', timeUs, props);
    }
    const custom = rng.pick(s.team.site.events);
    return this.#event(s, custom.name, timeUs, { ...this.#baseProps(s, timeUs, null), ...custom.props, $screen_name: s.screenName });
  }

  /** An event of the session at `timeUs` that does not advance it (material for faults). */
  sideEvent(s: Session, timeUs: number): SimEvent {
    const tab = s.tabs[s.activeTab] ?? null;
    const props = this.#baseProps(s, timeUs, tab);
    if (s.web === null) props['$screen_name'] = s.screenName;
    return this.#event(s, s.web === null ? '$screen' : '$pageview', timeUs, props);
  }

  #serverSide(s: Session, timeUs: number, event: string, props: Record<string, unknown>, sessionId: string | null): SimEvent {
    const rng = this.#rng;
    const properties: Record<string, unknown> = { $lib: 'posthog-node', $lib_version: '4.3.1', $geoip_disable: true, ...props };
    return {
      ...this.#event(s, event, timeUs, properties),
      // posthog-node sets $geoip_disable: its IP is the backend's, not the user's
      client: {
        ip: `10.42.${rng.int(0, 15)}.${rng.int(2, 250)}`,
        geo: s.client.geo,
        geoip: 'none',
        skewMs: 0,
        upperCaseIds: false,
        serverSide: true,
      },
      sendDelayMs: rng.int(5, 400),
      useOffset: false,
      sessionId,
    };
  }

  /** A server-side event about the session's user, without $session_id (posthog-node). */
  serverEvent(s: Session, timeUs: number): SimEvent {
    const custom = this.#rng.pick(s.team.site.serverEvents);
    return this.#serverSide(s, timeUs, custom.name, { ...custom.props }, null);
  }
}
