/**
 * The static world the traffic comes from: three kinds of sites (shop, SaaS, news), the devices
 * and SDKs that visit them, where visitors come from (a realistic channel mix), and what they
 * click. Values are modelled on what posthog-js, posthog-ios and posthog-android send (posthog-js
 * 1.449.2 as recorded in packages/core/fixtures/posthog-js/), and on what PostHog's ingestion adds
 * (GeoIP): browsers and devices, countries, the ad click ids of each network, feature flags,
 * links to other sites, identified users' emails.
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

/** A feature flag and how its values are rolled out: `true`/`false` for a boolean flag, else variants. */
export interface FlagSpec {
  readonly key: string;
  readonly values: readonly (readonly [boolean | string, number])[];
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
  /** Links to other sites (posthog-js adds `$external_click_url` to their clicks). */
  readonly externalClicks: readonly (readonly ElementSpec[])[];
  /** The team's feature flags: every event carries `$feature/<key>` once flags are loaded. */
  readonly flags: readonly FlagSpec[];
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

const footer: ElementSpec = { tag: 'footer', classes: ['site-footer'], nthChild: 4, nthOfType: 1 };

function externalLink(text: string, href: string, classes: readonly string[], parent: ElementSpec, n = 1): readonly ElementSpec[] {
  return [{ tag: 'a', classes, href, text, attrs: [['target', '_blank']], nthChild: n, nthOfType: n }, parent, body];
}

const boolean = (key: string, onPercent: number): FlagSpec => ({
  key,
  values: [
    [true, onPercent],
    [false, 100 - onPercent],
  ],
});

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
    externalClicks: [
      externalLink('Instagram', 'https://www.instagram.com/northwindtrail/', ['footer__social-link'], footer, 2),
      externalLink('Read our reviews', 'https://uk.trustpilot.com/review/www.northwind-trail.com', ['trustpilot-widget__link'], footer, 3),
      externalLink('Track your parcel', 'https://track.dpd.co.uk/parcels', ['order-status__tracking'], {
        tag: 'div',
        classes: ['order-status'],
        nthChild: 2,
        nthOfType: 1,
      }),
    ],
    flags: [
      boolean('new-checkout', 50),
      {
        key: 'free-shipping-banner',
        values: [
          ['control', 50],
          ['test', 50],
        ],
      },
      boolean('size-guide-v2', 20),
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
    externalClicks: [
      externalLink('Star on GitHub', 'https://github.com/lumen-notes/lumen', ['hero__github'], {
        tag: 'section',
        classes: ['hero'],
        nthChild: 1,
        nthOfType: 1,
      }),
      externalLink('Join the community', 'https://discord.gg/lumen-notes', ['footer__community'], footer, 2),
      externalLink('YouTube', 'https://www.youtube.com/@lumennotes', ['footer__social-link'], footer, 3),
    ],
    flags: [
      boolean('new-editor', 30),
      {
        key: 'pricing-page-v3',
        values: [
          ['control', 34],
          ['annual-first', 33],
          ['monthly-first', 33],
        ],
      },
      boolean('ai-summaries', 10),
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
    externalClicks: [
      externalLink('Share on X', 'https://x.com/intent/post?url=https%3A%2F%2Fwww.harbor-daily.news%2Fpolitics', ['share-bar__x'], {
        tag: 'div',
        classes: ['share-bar'],
        nthChild: 1,
        nthOfType: 1,
      }),
      externalLink(
        'the consultation',
        'https://www.gov.uk/government/consultations/harbor-ferry-terminal',
        ['article__source'],
        { tag: 'p', nthChild: 6, nthOfType: 5 },
        2,
      ),
    ],
    flags: [
      {
        key: 'paywall-variant',
        values: [
          ['control', 40],
          ['soft', 30],
          ['metered', 30],
        ],
      },
      boolean('dark-mode', 50),
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

/**
 * A browser as posthog-js reports it: `$browser`, `$browser_version` (a number), `$os`,
 * `$os_version` and `$device_type` are what posthog-js's own user-agent parser derives from
 * `userAgent` (a test holds them to it): frozen user agents give Mac OS X 10.15.7 and Windows 10
 * whatever the real version, and reduced Android user agents no OS version at all.
 */
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
      osVersion: '10.15.7',
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
      osVersion: '10',
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
      osVersion: '10',
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
      osVersion: '10',
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
      osVersion: '10.15.7',
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
      osVersion: '',
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
  [
    {
      os: 'Android',
      osVersion: '',
      browser: 'Samsung Internet',
      browserVersion: 26,
      deviceType: 'Mobile',
      userAgent:
        'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
      screens: [
        [384, 854],
        [360, 780],
      ],
    },
    4,
  ],
  [
    {
      os: 'iOS',
      osVersion: '18.1.0',
      browser: 'Chrome iOS',
      browserVersion: 131,
      deviceType: 'Mobile',
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
      screens: [
        [393, 852],
        [430, 932],
      ],
    },
    3,
  ],
  [
    {
      os: 'Android',
      osVersion: '',
      browser: 'Chrome',
      browserVersion: 131,
      deviceType: 'Tablet',
      userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      screens: [[800, 1280]],
    },
    1,
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

/**
 * Where a client is, as PostHog's GeoIP step (MaxMind GeoLite2 City) reports it: ingestion adds
 * these as `$geoip_*` properties to every event whose IP resolves (not to `$geoip_disable`
 * events). A city state has no subdivision.
 */
export interface Geo {
  readonly countryCode: string;
  readonly country: string;
  readonly continentCode: string;
  readonly continent: string;
  readonly subdivisionCode: string | null;
  readonly subdivision: string | null;
  readonly city: string;
  readonly postalCode: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly timezone: string;
  readonly language: string;
  readonly ipPrefixes: readonly string[];
}

const EUROPE = { continentCode: 'EU', continent: 'Europe' } as const;
const NORTH_AMERICA = { continentCode: 'NA', continent: 'North America' } as const;

export const GEOS: readonly (readonly [Geo, number])[] = [
  [
    {
      countryCode: 'GB',
      country: 'United Kingdom',
      ...EUROPE,
      subdivisionCode: 'ENG',
      subdivision: 'England',
      city: 'London',
      postalCode: 'EC2V',
      latitude: 51.5164,
      longitude: -0.093,
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
      ...EUROPE,
      subdivisionCode: 'ENG',
      subdivision: 'England',
      city: 'Manchester',
      postalCode: 'M1',
      latitude: 53.4809,
      longitude: -2.2374,
      timezone: 'Europe/London',
      language: 'en-GB',
      ipPrefixes: ['86.151', '90.214'],
    },
    8,
  ],
  [
    {
      countryCode: 'GB',
      country: 'United Kingdom',
      ...EUROPE,
      subdivisionCode: 'SCT',
      subdivision: 'Scotland',
      city: 'Edinburgh',
      postalCode: 'EH1',
      latitude: 55.9521,
      longitude: -3.1965,
      timezone: 'Europe/London',
      language: 'en-GB',
      ipPrefixes: ['31.185', '92.40'],
    },
    3,
  ],
  [
    {
      countryCode: 'US',
      country: 'United States',
      ...NORTH_AMERICA,
      subdivisionCode: 'NY',
      subdivision: 'New York',
      city: 'New York',
      postalCode: '10001',
      latitude: 40.7484,
      longitude: -73.9967,
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
      ...NORTH_AMERICA,
      subdivisionCode: 'CA',
      subdivision: 'California',
      city: 'San Francisco',
      postalCode: '94107',
      latitude: 37.7697,
      longitude: -122.3933,
      timezone: 'America/Los_Angeles',
      language: 'en-US',
      ipPrefixes: ['73.158', '67.169'],
    },
    8,
  ],
  [
    {
      countryCode: 'US',
      country: 'United States',
      ...NORTH_AMERICA,
      subdivisionCode: 'TX',
      subdivision: 'Texas',
      city: 'Austin',
      postalCode: '78701',
      latitude: 30.2713,
      longitude: -97.7426,
      timezone: 'America/Chicago',
      language: 'en-US',
      ipPrefixes: ['70.112', '99.60'],
    },
    4,
  ],
  [
    {
      countryCode: 'DE',
      country: 'Germany',
      ...EUROPE,
      subdivisionCode: 'BE',
      subdivision: 'Land Berlin',
      city: 'Berlin',
      postalCode: '10115',
      latitude: 52.5321,
      longitude: 13.3849,
      timezone: 'Europe/Berlin',
      language: 'de-DE',
      ipPrefixes: ['91.64', '87.123'],
    },
    10,
  ],
  [
    {
      countryCode: 'IE',
      country: 'Ireland',
      ...EUROPE,
      subdivisionCode: 'L',
      subdivision: 'Leinster',
      city: 'Dublin',
      postalCode: 'D02',
      latitude: 53.3382,
      longitude: -6.2591,
      timezone: 'Europe/Dublin',
      language: 'en-IE',
      ipPrefixes: ['78.16', '86.41'],
    },
    6,
  ],
  [
    {
      countryCode: 'FR',
      country: 'France',
      ...EUROPE,
      subdivisionCode: 'IDF',
      subdivision: 'Île-de-France',
      city: 'Paris',
      postalCode: '75001',
      latitude: 48.8607,
      longitude: 2.3281,
      timezone: 'Europe/Paris',
      language: 'fr-FR',
      ipPrefixes: ['90.84', '82.64'],
    },
    8,
  ],
  [
    {
      countryCode: 'NL',
      country: 'Netherlands',
      ...EUROPE,
      subdivisionCode: 'NH',
      subdivision: 'North Holland',
      city: 'Amsterdam',
      postalCode: '1012',
      latitude: 52.3759,
      longitude: 4.8975,
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
      ...NORTH_AMERICA,
      subdivisionCode: 'ON',
      subdivision: 'Ontario',
      city: 'Toronto',
      postalCode: 'M5H',
      latitude: 43.6547,
      longitude: -79.3623,
      timezone: 'America/Toronto',
      language: 'en-CA',
      ipPrefixes: ['99.230', '174.112'],
    },
    5,
  ],
  [
    {
      countryCode: 'AU',
      country: 'Australia',
      continentCode: 'OC',
      continent: 'Oceania',
      subdivisionCode: 'NSW',
      subdivision: 'New South Wales',
      city: 'Sydney',
      postalCode: '2000',
      latitude: -33.8715,
      longitude: 151.2006,
      timezone: 'Australia/Sydney',
      language: 'en-AU',
      ipPrefixes: ['101.161', '120.17'],
    },
    4,
  ],
  [
    {
      countryCode: 'SG',
      country: 'Singapore',
      continentCode: 'AS',
      continent: 'Asia',
      subdivisionCode: null,
      subdivision: null,
      city: 'Singapore',
      postalCode: '18',
      latitude: 1.2868,
      longitude: 103.8503,
      timezone: 'Asia/Singapore',
      language: 'en-SG',
      ipPrefixes: ['116.86', '203.116'],
    },
    2,
  ],
];

/** Where a visit came from: the referrer and the campaign parameters on the landing URL. */
export type Channel =
  'direct' | 'organic_search' | 'paid_search' | 'paid_social' | 'organic_social' | 'email' | 'referral' | 'affiliate' | 'video' | 'display';

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
  ['display', 2],
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

/** Paid social networks, the click id each one's ads append (PostHog's lower-tier ad ids), and their share. */
export const PAID_SOCIAL: readonly (readonly [{ readonly source: string; readonly domain: string; readonly clickId: string }, number])[] = [
  [{ source: 'facebook', domain: 'm.facebook.com', clickId: 'fbclid' }, 48],
  [{ source: 'instagram', domain: 'l.instagram.com', clickId: 'fbclid' }, 20],
  [{ source: 'tiktok', domain: 'www.tiktok.com', clickId: 'ttclid' }, 10],
  [{ source: 'linkedin', domain: 'www.linkedin.com', clickId: 'li_fat_id' }, 8],
  [{ source: 'twitter', domain: 't.co', clickId: 'twclid' }, 6],
  [{ source: 'snapchat', domain: 'www.snapchat.com', clickId: 'sccid' }, 3],
  [{ source: 'pinterest', domain: 'www.pinterest.com', clickId: 'epik' }, 3],
  [{ source: 'quora', domain: 'www.quora.com', clickId: 'qclid' }, 2],
];

/** Publishers that show display ads. */
export const DISPLAY_PUBLISHERS: readonly string[] = ['www.theguardian.com', 'www.bbc.co.uk', 'edition.cnn.com', 'www.spiegel.de'];

export const FIRST_NAMES: readonly string[] = [
  'ada',
  'alex',
  'amara',
  'ben',
  'chloe',
  'daniel',
  'emma',
  'farah',
  'george',
  'hana',
  'isaac',
  'jade',
  'kofi',
  'lena',
  'marco',
  'nina',
  'oliver',
  'priya',
  'quinn',
  'rosa',
  'sam',
  'tomas',
  'uma',
  'victor',
  'wei',
  'yusuf',
  'zoe',
];
export const LAST_NAMES: readonly string[] = [
  'adeyemi',
  'brown',
  'chen',
  'dubois',
  'evans',
  'fischer',
  'garcia',
  'hughes',
  'ivanova',
  'jones',
  'kowalski',
  'lopez',
  'murphy',
  'nakamura',
  'okafor',
  'patel',
  'rossi',
  'smith',
  'taylor',
  'walsh',
];
/** Where identified users' email addresses are: webmail, or their company (null here). */
export const EMAIL_DOMAINS: readonly (readonly [string | null, number])[] = [
  ['gmail.com', 38],
  ['outlook.com', 10],
  ['icloud.com', 9],
  ['yahoo.com', 5],
  ['hotmail.co.uk', 4],
  ['proton.me', 3],
  [null, 31],
];
export const COMPANY_DOMAINS: readonly string[] = [
  'acme-logistics.com',
  'brightwave.io',
  'harbourview.co.uk',
  'kestrel-labs.de',
  'northstar.agency',
  'pinecone-health.com',
  'tidewater.ie',
];
