/**
 * The static world the traffic comes from: three kinds of sites (shop, SaaS, news), the devices
 * and SDKs that visit them, where visitors come from (a realistic channel mix), and what they
 * click. Values are modelled on what posthog-js, posthog-ios and posthog-android send.
 */

export interface Page {
  readonly path: string;
  readonly title: string;
}

export interface ElementSpec {
  readonly tag: string;
  readonly classes?: readonly string[];
  readonly id?: string;
  readonly href?: string;
  readonly text?: string;
  readonly attrs?: readonly (readonly [string, string])[];
  readonly nthChild: number;
  readonly nthOfType: number;
}

export interface CustomEvent {
  readonly name: string;
  /** Extra properties; `$` substitutions happen in the session model. */
  readonly props: Readonly<Record<string, string | number | boolean>>;
}

export interface SiteTemplate {
  readonly kind: 'shop' | 'saas' | 'news';
  readonly name: string;
  readonly host: string;
  readonly apiHost: string;
  readonly pages: readonly Page[];
  /** Pages a visit may land on from a campaign (index into pages). */
  readonly landing: readonly number[];
  /** Clickable things: the element chain from the clicked element up to body. */
  readonly clicks: readonly (readonly ElementSpec[])[];
  readonly events: readonly CustomEvent[];
  readonly serverEvents: readonly CustomEvent[];
  readonly app: {
    readonly name: string;
    readonly namespace: string;
    readonly version: string;
    readonly build: string;
    readonly screens: readonly string[];
  };
  readonly campaigns: readonly string[];
  readonly terms: readonly string[];
}

const body: ElementSpec = { tag: 'body', nthChild: 2, nthOfType: 1 };
const nav: ElementSpec = { tag: 'nav', classes: ['site-header__nav'], nthChild: 2, nthOfType: 1 };

function navLink(text: string, href: string, n: number): readonly ElementSpec[] {
  return [{ tag: 'a', classes: ['site-header__link'], href, text, nthChild: n, nthOfType: n }, nav, body];
}

function button(
  text: string,
  classes: readonly string[],
  parent: ElementSpec,
  attrs: readonly (readonly [string, string])[] = [],
): readonly ElementSpec[] {
  return [{ tag: 'button', classes, text, attrs: [['type', 'button'], ...attrs], nthChild: 1, nthOfType: 1 }, parent, body];
}

export const SITES: readonly SiteTemplate[] = [
  {
    kind: 'shop',
    name: 'Northwind Trail',
    host: 'www.northwind-trail.com',
    apiHost: 'https://e.northwind-trail.com',
    pages: [
      { path: '/', title: 'Northwind Trail — Outdoor gear built for the long way round' },
      { path: '/collections/winter-jackets', title: 'Winter jackets — Northwind Trail' },
      { path: '/collections/trail-shoes', title: 'Trail shoes — Northwind Trail' },
      { path: '/products/trail-x5-gtx', title: 'Trail X5 GTX — Northwind Trail' },
      { path: '/products/ridge-down-parka', title: 'Ridge Down Parka — Northwind Trail' },
      { path: '/products/alpine-merino-base-layer', title: 'Alpine Merino Base Layer — Northwind Trail' },
      { path: '/search', title: 'Search — Northwind Trail' },
      { path: '/cart', title: 'Your cart — Northwind Trail' },
      { path: '/checkout', title: 'Checkout — Northwind Trail' },
      { path: '/blog/how-to-layer-for-winter-hikes', title: 'How to layer for winter hikes — Northwind Trail' },
      { path: '/account/login', title: 'Sign in — Northwind Trail' },
    ],
    landing: [0, 1, 2, 3, 4, 9],
    clicks: [
      navLink('Jackets', '/collections/winter-jackets', 2),
      navLink('Shoes', '/collections/trail-shoes', 3),
      navLink('Sign in', '/account/login', 4),
      button('Add to cart', ['product-form__submit', 'btn'], { tag: 'form', classes: ['product-form'], nthChild: 3, nthOfType: 1 }, [
        ['name', 'add'],
      ]),
      button('UK 9', ['size-picker__option'], { tag: 'fieldset', classes: ['size-picker'], nthChild: 2, nthOfType: 1 }),
      [
        {
          tag: 'a',
          classes: ['btn', 'btn--primary', 'hero__cta'],
          href: '/collections/winter-jackets',
          text: 'Shop winter',
          nthChild: 2,
          nthOfType: 1,
        },
        { tag: 'section', classes: ['hero'], id: 'top', nthChild: 1, nthOfType: 1 },
        body,
      ],
      [
        { tag: 'a', classes: ['product-card__link'], href: '/products/trail-x5-gtx', text: 'Trail X5 GTX', nthChild: 1, nthOfType: 1 },
        { tag: 'li', classes: ['product-grid__item'], nthChild: 3, nthOfType: 3 },
        body,
      ],
    ],
    events: [
      { name: 'product_viewed', props: { product_id: 'trail-x5-gtx', price: 149, currency: 'GBP' } },
      { name: 'added_to_cart', props: { product_id: 'ridge-down-parka', price: 229, currency: 'GBP', quantity: 1 } },
      { name: 'checkout_started', props: { cart_value: 378, items: 2, currency: 'GBP' } },
      { name: 'order_completed', props: { revenue: 378, currency: 'GBP', items: 2 } },
      { name: 'search_performed', props: { query: 'waterproof jacket', results: 24 } },
      { name: 'newsletter_subscribed', props: { source: 'footer' } },
    ],
    serverEvents: [
      { name: 'order_shipped', props: { carrier: 'dpd', warehouse: 'leeds-2' } },
      { name: 'invoice_paid', props: { amount: 4900, currency: 'gbp' } },
    ],
    app: {
      name: 'Northwind',
      namespace: 'com.northwindtrail.app',
      version: '4.12.0',
      build: '4120.3',
      screens: ['HomeScreen', 'CategoryScreen', 'ProductDetail', 'CartScreen', 'CheckoutScreen', 'SearchScreen', 'AccountScreen'],
    },
    campaigns: ['winter_sale_2026', 'black_friday_2026', 'trail_shoes_q4', 'brand_search'],
    terms: ['trail shoes', 'waterproof jacket', 'down parka mens', 'merino base layer'],
  },
  {
    kind: 'saas',
    name: 'Lumen Notes',
    host: 'lumen-notes.io',
    apiHost: 'https://t.lumen-notes.io',
    pages: [
      { path: '/', title: 'Lumen Notes — notes that link themselves' },
      { path: '/pricing', title: 'Pricing · Lumen Notes' },
      { path: '/features/sync', title: 'Offline sync · Lumen Notes' },
      { path: '/docs/getting-started', title: 'Getting started · Lumen Notes docs' },
      { path: '/signup', title: 'Create your account · Lumen Notes' },
      { path: '/login', title: 'Log in · Lumen Notes' },
      { path: '/app/notes', title: 'All notes · Lumen' },
      { path: '/app/settings/billing', title: 'Billing · Lumen' },
      { path: '/blog/zettelkasten-for-teams', title: 'Zettelkasten for teams · Lumen Notes blog' },
    ],
    landing: [0, 1, 2, 3, 8],
    clicks: [
      navLink('Pricing', '/pricing', 2),
      navLink('Docs', '/docs/getting-started', 3),
      button('Start free trial', ['btn', 'btn-primary'], { tag: 'div', classes: ['pricing-card'], nthChild: 2, nthOfType: 2 }, [
        ['data-plan', 'team'],
      ]),
      button('Copy', ['copy-code'], { tag: 'div', classes: ['code-block'], nthChild: 5, nthOfType: 3 }, [['aria-label', 'Copy code']]),
      button('New note', ['toolbar__new'], { tag: 'div', classes: ['toolbar'], nthChild: 1, nthOfType: 1 }),
      [
        { tag: 'a', classes: ['sidebar__item'], href: '/app/notes', text: 'Inbox', nthChild: 1, nthOfType: 1 },
        { tag: 'aside', classes: ['sidebar'], nthChild: 1, nthOfType: 1 },
        body,
      ],
    ],
    events: [
      { name: 'signed_up', props: { plan: 'free', signup_method: 'google_oauth' } },
      { name: 'note_created', props: { template: 'blank', words: 0 } },
      { name: 'workspace_invite_sent', props: { invitees: 2, role: 'editor' } },
      { name: 'subscription_upgraded', props: { plan: 'team', seats: 5, billing: 'annual' } },
      { name: 'search_performed', props: { query: 'meeting notes', results: 7 } },
    ],
    serverEvents: [
      { name: 'subscription_renewed', props: { plan: 'team', amount: 9600, currency: 'usd' } },
      { name: '$feature_flag_called', props: { $feature_flag: 'new-editor', $feature_flag_response: true } },
    ],
    app: {
      name: 'Lumen',
      namespace: 'io.lumennotes.app',
      version: '2.8.1',
      build: '281',
      screens: ['NotesList', 'NoteEditor', 'SearchScreen', 'SettingsScreen', 'ShareSheet'],
    },
    campaigns: ['pkm_launch', 'team_plan_q4', 'retargeting_trial', 'brand_search'],
    terms: ['note taking app', 'zettelkasten app', 'obsidian alternative', 'team wiki'],
  },
  {
    kind: 'news',
    name: 'Harbor Daily',
    host: 'www.harbor-daily.news',
    apiHost: 'https://ph.harbor-daily.news',
    pages: [
      { path: '/', title: 'Harbor Daily — news from the coast' },
      { path: '/politics/council-approves-new-ferry-terminal', title: 'Council approves new ferry terminal | Harbor Daily' },
      { path: '/tech/local-startups-bet-on-tidal-power', title: 'Local startups bet on tidal power | Harbor Daily' },
      { path: '/sport/harbor-fc-win-derby-in-stoppage-time', title: 'Harbor FC win derby in stoppage time | Harbor Daily' },
      { path: '/weather', title: 'Weather | Harbor Daily' },
      { path: '/subscribe', title: 'Subscribe | Harbor Daily' },
      { path: '/opinion/the-case-for-car-free-weekends', title: 'The case for car-free weekends | Harbor Daily' },
    ],
    landing: [0, 1, 2, 3, 6],
    clicks: [
      navLink('Politics', '/politics', 2),
      navLink('Sport', '/sport', 4),
      button('Subscribe for £1', ['paywall__cta'], { tag: 'div', classes: ['paywall'], nthChild: 4, nthOfType: 1 }),
      [
        {
          tag: 'a',
          classes: ['story-card__headline'],
          href: '/tech/local-startups-bet-on-tidal-power',
          text: 'Local startups bet on tidal power',
          nthChild: 2,
          nthOfType: 1,
        },
        { tag: 'article', classes: ['story-card'], nthChild: 3, nthOfType: 3 },
        body,
      ],
      button('Share', ['share-bar__button'], { tag: 'div', classes: ['share-bar'], nthChild: 1, nthOfType: 1 }, [
        ['data-network', 'whatsapp'],
      ]),
    ],
    events: [
      { name: 'article_read', props: { section: 'politics', read_percent: 80 } },
      { name: 'paywall_shown', props: { variant: 'soft', articles_read: 3 } },
      { name: 'newsletter_subscribed', props: { list: 'morning_briefing' } },
      { name: 'subscription_started', props: { plan: 'digital_monthly', price: 1 } },
    ],
    serverEvents: [{ name: 'email_delivered', props: { list: 'morning_briefing', provider: 'ses' } }],
    app: {
      name: 'Harbor Daily',
      namespace: 'news.harbordaily.app',
      version: '7.3.0',
      build: '730',
      screens: ['TopStories', 'ArticleScreen', 'SectionScreen', 'SavedScreen'],
    },
    campaigns: ['morning_briefing', 'subscriber_drive_nov', 'breaking_alerts'],
    terms: ['harbor news', 'ferry terminal vote', 'harbor fc'],
  },
];

export interface WebDevice {
  readonly os: string;
  readonly osVersion: string;
  readonly browser: string;
  readonly browserVersion: number;
  readonly deviceType: 'Desktop' | 'Mobile' | 'Tablet';
  readonly userAgent: string;
  readonly screens: readonly (readonly [number, number])[];
}

export const WEB_DEVICES: readonly (readonly [WebDevice, number])[] = [
  [
    {
      os: 'Mac OS X',
      osVersion: '15.1.0',
      browser: 'Chrome',
      browserVersion: 131,
      deviceType: 'Desktop',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      screens: [
        [1728, 1117],
        [1512, 982],
        [2560, 1440],
      ],
    },
    18,
  ],
  [
    {
      os: 'Windows',
      osVersion: '10.0',
      browser: 'Chrome',
      browserVersion: 131,
      deviceType: 'Desktop',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      screens: [
        [1920, 1080],
        [1536, 864],
        [2560, 1440],
      ],
    },
    22,
  ],
  [
    {
      os: 'Windows',
      osVersion: '10.0',
      browser: 'Microsoft Edge',
      browserVersion: 131,
      deviceType: 'Desktop',
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      screens: [
        [1920, 1080],
        [1366, 768],
      ],
    },
    7,
  ],
  [
    {
      os: 'Windows',
      osVersion: '10.0',
      browser: 'Firefox',
      browserVersion: 133,
      deviceType: 'Desktop',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      screens: [
        [1920, 1080],
        [1440, 900],
      ],
    },
    5,
  ],
  [
    {
      os: 'Mac OS X',
      osVersion: '14.6.1',
      browser: 'Safari',
      browserVersion: 18.1,
      deviceType: 'Desktop',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      screens: [
        [1440, 900],
        [1512, 982],
      ],
    },
    6,
  ],
  [
    {
      os: 'Linux',
      osVersion: '',
      browser: 'Firefox',
      browserVersion: 133,
      deviceType: 'Desktop',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
      screens: [[1920, 1080]],
    },
    2,
  ],
  [
    {
      os: 'iOS',
      osVersion: '18.1.1',
      browser: 'Mobile Safari',
      browserVersion: 18.1,
      deviceType: 'Mobile',
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1',
      screens: [
        [393, 852],
        [430, 932],
        [390, 844],
      ],
    },
    20,
  ],
  [
    {
      os: 'Android',
      osVersion: '14',
      browser: 'Chrome',
      browserVersion: 131,
      deviceType: 'Mobile',
      userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      screens: [
        [412, 915],
        [384, 854],
        [360, 800],
      ],
    },
    15,
  ],
  [
    {
      os: 'iOS',
      osVersion: '17.6.1',
      browser: 'Mobile Safari',
      browserVersion: 17.6,
      deviceType: 'Tablet',
      userAgent:
        'Mozilla/5.0 (iPad; CPU OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
      screens: [
        [820, 1180],
        [1024, 1366],
      ],
    },
    5,
  ],
];

export interface AppDevice {
  readonly lib: 'posthog-ios' | 'posthog-android';
  readonly libVersion: string;
  readonly os: 'iOS' | 'Android';
  readonly osVersion: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly screen: readonly [number, number];
}

export const APP_DEVICES: readonly (readonly [AppDevice, number])[] = [
  [
    {
      lib: 'posthog-ios',
      libVersion: '3.15.2',
      os: 'iOS',
      osVersion: '18.1.1',
      manufacturer: 'Apple',
      model: 'iPhone16,2',
      screen: [430, 932],
    },
    20,
  ],
  [
    {
      lib: 'posthog-ios',
      libVersion: '3.15.2',
      os: 'iOS',
      osVersion: '17.6.1',
      manufacturer: 'Apple',
      model: 'iPhone15,3',
      screen: [430, 932],
    },
    12,
  ],
  [
    {
      lib: 'posthog-ios',
      libVersion: '3.14.0',
      os: 'iOS',
      osVersion: '18.0',
      manufacturer: 'Apple',
      model: 'iPhone14,5',
      screen: [390, 844],
    },
    10,
  ],
  [
    {
      lib: 'posthog-android',
      libVersion: '3.9.1',
      os: 'Android',
      osVersion: '14',
      manufacturer: 'Google',
      model: 'Pixel 8',
      screen: [412, 915],
    },
    10,
  ],
  [
    {
      lib: 'posthog-android',
      libVersion: '3.9.1',
      os: 'Android',
      osVersion: '14',
      manufacturer: 'samsung',
      model: 'SM-S918B',
      screen: [384, 824],
    },
    14,
  ],
  [
    {
      lib: 'posthog-android',
      libVersion: '3.8.2',
      os: 'Android',
      osVersion: '13',
      manufacturer: 'OnePlus',
      model: 'CPH2449',
      screen: [412, 919],
    },
    5,
  ],
];

export interface Geo {
  readonly countryCode: string;
  readonly country: string;
  readonly city: string;
  readonly timezone: string;
  readonly language: string;
  readonly ipPrefixes: readonly string[];
}

export const GEOS: readonly (readonly [Geo, number])[] = [
  [
    {
      countryCode: 'GB',
      country: 'United Kingdom',
      city: 'London',
      timezone: 'Europe/London',
      language: 'en-GB',
      ipPrefixes: ['81.2', '86.144', '2.125', '82.132'],
    },
    30,
  ],
  [
    {
      countryCode: 'GB',
      country: 'United Kingdom',
      city: 'Manchester',
      timezone: 'Europe/London',
      language: 'en-GB',
      ipPrefixes: ['86.151', '90.214'],
    },
    8,
  ],
  [
    {
      countryCode: 'US',
      country: 'United States',
      city: 'New York',
      timezone: 'America/New_York',
      language: 'en-US',
      ipPrefixes: ['72.229', '98.116', '24.90'],
    },
    20,
  ],
  [
    {
      countryCode: 'US',
      country: 'United States',
      city: 'San Francisco',
      timezone: 'America/Los_Angeles',
      language: 'en-US',
      ipPrefixes: ['73.158', '67.169'],
    },
    8,
  ],
  [
    {
      countryCode: 'DE',
      country: 'Germany',
      city: 'Berlin',
      timezone: 'Europe/Berlin',
      language: 'de-DE',
      ipPrefixes: ['91.64', '87.123'],
    },
    10,
  ],
  [
    { countryCode: 'IE', country: 'Ireland', city: 'Dublin', timezone: 'Europe/Dublin', language: 'en-IE', ipPrefixes: ['78.16', '86.41'] },
    6,
  ],
  [{ countryCode: 'FR', country: 'France', city: 'Paris', timezone: 'Europe/Paris', language: 'fr-FR', ipPrefixes: ['90.84', '82.64'] }, 8],
  [
    {
      countryCode: 'NL',
      country: 'Netherlands',
      city: 'Amsterdam',
      timezone: 'Europe/Amsterdam',
      language: 'nl-NL',
      ipPrefixes: ['145.53', '84.26'],
    },
    5,
  ],
  [
    {
      countryCode: 'CA',
      country: 'Canada',
      city: 'Toronto',
      timezone: 'America/Toronto',
      language: 'en-CA',
      ipPrefixes: ['99.230', '174.112'],
    },
    5,
  ],
];

/** Where a visit came from: the referrer and the campaign parameters on the landing URL. */
export type Channel =
  'direct' | 'organic_search' | 'paid_search' | 'paid_social' | 'organic_social' | 'email' | 'referral' | 'affiliate' | 'video';

export const WEB_CHANNELS: readonly (readonly [Channel, number])[] = [
  ['direct', 30],
  ['organic_search', 24],
  ['paid_search', 10],
  ['paid_social', 8],
  ['organic_social', 6],
  ['email', 8],
  ['referral', 10],
  ['affiliate', 2],
  ['video', 2],
];

export const SEARCH_REFERRERS: readonly (readonly [string, number])[] = [
  ['www.google.com', 50],
  ['www.google.co.uk', 20],
  ['www.google.de', 6],
  ['www.bing.com', 10],
  ['duckduckgo.com', 8],
  ['search.yahoo.com', 2],
  ['www.ecosia.org', 4],
];

export const SOCIAL_REFERRERS: readonly string[] = [
  't.co',
  'www.reddit.com',
  'www.linkedin.com',
  'l.facebook.com',
  'l.instagram.com',
  'news.ycombinator.com',
];
export const REFERRAL_DOMAINS: readonly string[] = [
  'www.outdoorgearlab.com',
  'www.indiehackers.com',
  'github.com',
  'medium.com',
  'www.producthunt.com',
  'en.wikipedia.org',
  'substack.com',
];
export const AFFILIATES: readonly string[] = ['awin', 'impact', 'skimlinks'];
