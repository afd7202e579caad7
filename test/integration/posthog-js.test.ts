/**
 * End to end with the real posthog-js SDK: Debian's Chromium (playwright-core) browses a small
 * shop, posthog-js sends its events to a capture shim (test/support/capture-shim.ts) that writes
 * PostHog's capture-topic messages to Kafka, the sessionizer service consumes them into the
 * embedded ClickHouse, and `sessions` must hold every visitor's session as the visitor made it:
 * entry URL, pageviews, clicks, bounce; also for a client whose clock runs 3 minutes fast.
 * The rows also equal the oracle of the messages the shim wrote.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { normalize, uuidV7Millis, type NormalizeOptions, type Session, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { launchChromium } from '../support/browser.js';
import { captureMessagesOf, decodeCaptureBody, startCaptureShim, type CaptureShim } from '../support/capture-shim.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { committedOffsets, createTopic, endOffsets, testKafka } from '../support/kafka.js';
import { waitFor } from '../support/wait.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';

const require = createRequire(import.meta.url);
const POSTHOG_JS = readFileSync(require.resolve('posthog-js/dist/array.full.js'), 'utf8');
const POSTHOG_JS_VERSION = (JSON.parse(readFileSync(require.resolve('posthog-js/package.json'), 'utf8')) as { version: string }).version;

const TOKEN = 'phc_sessionizerE2eShop0000000000000000000000';
const TEAM = 7;
/** The shop's host name; Chromium resolves it to the shim (--host-resolver-rules). */
const HOST = 'shop.example';
const FLAGS = { 'new-checkout': true, 'pricing-page': 'annual-first' } as const;

/** Added to the support's Chromium flags. */
const CHROMIUM_ARGS = [
  // posthog-js drops every event of a browser whose navigator.webdriver is true (a bot)
  '--disable-blink-features=AutomationControlled',
  `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
];

const MAC_CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const WINDOWS_EDGE =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0';
const ANDROID_CHROME =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36';

function page(title: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Northwind Trail · ${title}</title>
<script src="/static/posthog-js/array.full.js"></script>
<script>posthog.init(${JSON.stringify(TOKEN)}, Object.assign({ api_host: location.origin }, window.__posthogConfig || {}));</script>
</head><body>
<h1>${title}</h1>
<button id="add-to-cart">Add to cart</button>
<a id="size-guide" href="https://docs.example.org/size-guide" onclick="event.preventDefault()">Size guide</a>
<a id="pricing" href="/pricing">Pricing</a>
</body></html>`;
}

const PAGES: Readonly<Record<string, string>> = {
  '/': 'Home',
  '/pricing': 'Pricing',
  '/boots/alpine-gtx': 'Alpine GTX',
  '/checkout': 'Checkout',
};

function files(path: string): { type: string; body: string } | undefined {
  if (path === '/static/posthog-js/array.full.js') return { type: 'application/javascript', body: POSTHOG_JS };
  const title = PAGES[path];
  return title === undefined ? undefined : { type: 'text/html; charset=utf-8', body: page(title) };
}

interface Visitor {
  readonly name: string;
  readonly userAgent: string;
  readonly viewport: { readonly width: number; readonly height: number };
  /** How far the client's clock is ahead of the real time (Date is replaced before posthog-js loads). */
  readonly clockAheadMs: number;
  readonly referer?: string;
  /** Paths (with query) visited in order, each a full page load. */
  readonly pages: readonly string[];
  /** Per page: ids of elements clicked there (none navigates). */
  readonly clicks: readonly (readonly string[])[];
  readonly identify?: { readonly id: string; readonly email: string };
  readonly posthogConfig?: Readonly<Record<string, unknown>>;
  /** Close the last page as a user does (posthog-js sends $pageleave). */
  readonly leave: boolean;
  readonly bounce: boolean;
  readonly referringDomain: string;
  readonly channel: string;
}

const VISITORS: readonly Visitor[] = [
  {
    name: 'newsletter reader, three pages and two clicks',
    userAgent: MAC_CHROME,
    viewport: { width: 1440, height: 900 },
    clockAheadMs: 0,
    pages: ['/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale', '/boots/alpine-gtx', '/checkout'],
    clicks: [[], ['add-to-cart', 'size-guide'], []],
    leave: true,
    bounce: false,
    referringDomain: '$direct',
    channel: 'Email',
  },
  {
    name: 'Google Ads click on a phone that leaves at once (a bounce)',
    userAgent: ANDROID_CHROME,
    viewport: { width: 412, height: 915 },
    clockAheadMs: 0,
    referer: 'https://www.google.com/',
    pages: ['/pricing?gclid=EAIaIQobChMI8aSd&gad_source=1'],
    clicks: [[]],
    posthogConfig: { capture_pageleave: false },
    leave: false,
    bounce: true,
    referringDomain: 'www.google.com',
    channel: 'Paid Search',
  },
  {
    name: 'a client whose clock runs 3 minutes fast, who signs in',
    userAgent: WINDOWS_EDGE,
    viewport: { width: 1920, height: 1080 },
    clockAheadMs: 3 * 60_000,
    referer: 'https://www.bing.com/',
    pages: ['/', '/pricing'],
    clicks: [['add-to-cart'], []],
    identify: { id: 'customer-4417', email: 'ada.lovelace@example.com' },
    leave: true,
    bounce: false,
    referringDomain: 'www.bing.com',
    channel: 'Organic Search',
  },
  {
    name: 'a one-page visit with a click (not a bounce)',
    userAgent: MAC_CHROME,
    viewport: { width: 1280, height: 800 },
    clockAheadMs: 0,
    pages: ['/boots/alpine-gtx?ref=producthunt'],
    clicks: [['add-to-cart']],
    posthogConfig: { capture_pageleave: false },
    leave: false,
    bounce: false,
    referringDomain: '$direct',
    channel: 'Direct',
  },
];

interface Visited {
  readonly visitor: Visitor;
  readonly origin: string;
  readonly sessionId: string;
}

type Obj = Record<string, unknown>;

function eventsOf(shim: CaptureShim, sessionId: string): Obj[] {
  return shim.received.flatMap((r) =>
    r.events.filter((e) => typeof e['properties'] === 'object' && (e['properties'] as Obj)['$session_id'] === sessionId),
  );
}

async function until(what: string, shim: CaptureShim, sessionId: string, done: (events: Obj[]) => boolean): Promise<void> {
  await waitFor(what, () => Promise.resolve(done(eventsOf(shim, sessionId)) ? true : undefined), 30_000, 50);
}

const count = (events: Obj[], name: string): number => events.filter((e) => e['event'] === name).length;

/** Replace Date before any script runs, so posthog-js stamps events and mints ids on a fast clock. */
function fastClock(aheadMs: number): string {
  return `(() => {
    const Real = Date, ahead = ${aheadMs};
    globalThis.Date = new Proxy(Real, {
      construct: (target, args) => (args.length > 0 ? new target(...args) : new target(target.now() + ahead)),
      apply: () => new Real(Real.now() + ahead).toString(),
      get: (target, key) => (key === 'now' ? () => target.now() + ahead : Reflect.get(target, key)),
    });
  })();`;
}

async function visit(browser: Browser, shim: CaptureShim, visitor: Visitor): Promise<Visited> {
  const origin = `http://${HOST}:${shim.port}`;
  const context = await browser.newContext({ userAgent: visitor.userAgent, viewport: visitor.viewport });
  try {
    if (visitor.clockAheadMs !== 0) await context.addInitScript(fastClock(visitor.clockAheadMs));
    if (visitor.posthogConfig !== undefined)
      await context.addInitScript(`window.__posthogConfig = ${JSON.stringify(visitor.posthogConfig)};`);
    const tab: Page = await context.newPage();
    let sessionId = '';
    let clicks = 0;
    for (const [i, path] of visitor.pages.entries()) {
      await tab.goto(`${origin}${path}`, i === 0 && visitor.referer !== undefined ? { referer: visitor.referer } : {});
      if (i === 0)
        sessionId = await tab.evaluate(() => (globalThis as unknown as { posthog: { get_session_id(): string } }).posthog.get_session_id());
      await until(`${visitor.name}: $pageview ${i + 1}`, shim, sessionId, (events) => count(events, '$pageview') === i + 1);
      const ids = visitor.clicks[i] ?? [];
      if (ids.length > 0) {
        // autocapture starts once the remote config has arrived
        await tab.waitForFunction(
          () => (globalThis as unknown as { posthog: { autocapture?: { isEnabled: boolean } } }).posthog.autocapture?.isEnabled === true,
        );
      }
      for (const id of ids) {
        await tab.click(`#${id}`);
        clicks += 1;
        const expected = clicks;
        await until(`${visitor.name}: click ${id}`, shim, sessionId, (events) => count(events, '$autocapture') === expected);
      }
      if (i === 0 && visitor.identify !== undefined) {
        const who = visitor.identify;
        await tab.evaluate((w) => {
          (globalThis as unknown as { posthog: { identify(id: string, set: Obj): void } }).posthog.identify(w.id, { email: w.email });
        }, who);
        await until(`${visitor.name}: $identify`, shim, sessionId, (events) => count(events, '$identify') === 1);
      }
    }
    if (visitor.leave) {
      await tab.close({ runBeforeUnload: true });
      await until(`${visitor.name}: $pageleave`, shim, sessionId, (events) =>
        events.some(
          (e) => e['event'] === '$pageleave' && (e['properties'] as Obj)['$current_url'] === `${origin}${visitor.pages.at(-1) ?? ''}`,
        ),
      );
    }
    return { visitor, origin, sessionId };
  } finally {
    await context.close();
  }
}

describe('capture shim: what posthog-js sends, decoded', () => {
  const events = [
    {
      uuid: '01a23172-eaf9-7053-8150-54a16725bf29',
      event: '$pageview',
      properties: { distinct_id: 'd1', token: TOKEN },
      timestamp: '2026-12-01T11:52:24.569Z',
    },
  ];
  const body = { api_key: TOKEN, batch: events, sent_at: '2026-12-01T11:52:24.673Z' };
  const json = JSON.stringify(body);
  const none = new URLSearchParams();

  it.each([
    ['gzip, no query (posthog-js with gzip-js)', gzipSync(json), none, 'gzip'],
    ['gzip with ?compression=gzip-js (older SDKs)', gzipSync(json), new URLSearchParams('compression=gzip-js'), 'gzip'],
    [
      'base64 form body (sendBeacon)',
      Buffer.from(`data=${encodeURIComponent(Buffer.from(json).toString('base64'))}`),
      new URLSearchParams('compression=base64'),
      'base64',
    ],
    ['plain JSON', Buffer.from(json), none, 'json'],
    ['a data= form field holding JSON', Buffer.from(`data=${encodeURIComponent(json)}`), none, 'form'],
  ])('%s', (_name, raw, query, encoding) => {
    const decoded = decodeCaptureBody(raw, query);
    expect(decoded.encoding).toBe(encoding);
    expect(decoded.value).toEqual(body);
  });

  it('writes one capture-topic message per event: data is the event, sent_at from the body or the query', () => {
    const now = new Date('2026-12-01T11:52:24.700Z');
    const { messages } = captureMessagesOf(body, { now, ip: '203.0.113.9', siteUrl: 'http://x', query: none });
    expect(messages).toEqual([
      {
        uuid: events[0]?.uuid,
        distinct_id: 'd1',
        ip: '203.0.113.9',
        site_url: 'http://x',
        data: JSON.stringify(events[0]),
        now: '2026-12-01T11:52:24.700Z',
        sent_at: '2026-12-01T11:52:24.673Z',
        token: TOKEN,
        is_cookieless_mode: false,
      },
    ]);
    const legacy = captureMessagesOf(events, { now, ip: '', siteUrl: '', query: new URLSearchParams('_=1796125944673') });
    expect(legacy.messages[0]?.sent_at).toBe('2026-12-01T11:52:24.673Z');
    expect(captureMessagesOf(events[0], { now, ip: '', siteUrl: '', query: none }).messages).toHaveLength(1);
    expect(() => captureMessagesOf([{ event: 'x', properties: {} }], { now, ip: '', siteUrl: '', query: none })).toThrow(/no token/);
    expect(() => decodeCaptureBody(Buffer.from('not json'), none)).toThrow();
  });
});

describe(`posthog-js ${POSTHOG_JS_VERSION} in Chromium → capture shim → Kafka → sessionizer → ClickHouse`, () => {
  const kafka: Kafka = testKafka();
  const log = createLogger('warn');
  const topic = uniqueName('capture');
  const group = uniqueName('group');
  let setup: { db: TestDatabase; producer: Producer; shim: CaptureShim; service: Service; browser: Browser } | undefined;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const db = await testDatabase('posthogjs');
    closers.unshift(() => db.drop());
    await createTopic(kafka, topic, 2);
    const producer = kafka.producer();
    await producer.connect();
    closers.unshift(() => producer.disconnect());
    const shim = await startCaptureShim({
      token: TOKEN,
      flags: FLAGS,
      files,
      write: async (messages) => {
        await producer.send({
          topic,
          acks: -1,
          messages: messages.map((m) => ({ key: `${m.token}:${m.distinct_id}`, value: JSON.stringify(m) })),
        });
      },
    });
    closers.unshift(() => shim.close());
    const config = inProcessConfig(db.database, {
      topics: `${topic}:posthog-capture`,
      'group-id': group,
      'data-dir': '/nonexistent-unused',
      'flush-interval-ms': '200',
      'token-teams': `${TOKEN}=${TEAM}`,
      'log-level': 'warn',
    });
    const service = await startInProcess(config, { log, clickhouse: db.handle });
    closers.unshift(async () => {
      await service.consumer.stop(10_000);
      await service.close();
    });
    await service.consumer.start();
    const browser = await launchChromium(CHROMIUM_ARGS);
    closers.unshift(() => browser.close());
    setup = { db, producer, shim, service, browser };
  });

  afterAll(async () => {
    for (const close of closers) await close();
  });

  it("keeps every visitor's session as the visitor made it, the 3-minutes-fast client's too", async () => {
    if (setup === undefined) throw new Error('setup failed');
    const { db, shim, browser } = setup;
    const visits = await Promise.all(VISITORS.map((v) => visit(browser, shim, v)));
    expect(shim.errors).toEqual([]);
    expect(shim.received.some((r) => r.encoding === 'gzip')).toBe(true);

    // what the SDK did: the first event of each session is stamped before its id is minted
    for (const { visitor, sessionId } of visits) {
      const first = eventsOf(shim, sessionId)
        .map((e) => Date.parse(String(e['timestamp'])))
        .reduce((a, b) => Math.min(a, b));
      const gap = uuidV7Millis(sessionId) - first;
      console.log(`posthog-js ${POSTHOG_JS_VERSION}: ${visitor.name}: first event stamped ${gap} ms before its session id`);
      expect(gap).toBeGreaterThanOrEqual(0);
    }

    // the service has consumed everything
    const ends = await endOffsets(kafka, topic);
    // Messages are keyed by token:distinct_id and posthog-js mints the distinct_ids, so all four
    // visitors land on one of the two partitions in 1 run of 8: a partition that received nothing
    // has end 0 and no committed offset (-1), and is done as it is.
    await waitFor('committed offsets at the end of every partition', async () => {
      const committed = await committedOffsets(kafka, group, topic);
      return [...ends].every(([p, end]) => end === '0' || committed.get(p) === end) ? true : undefined;
    });
    const rows = await waitFor('a session per visitor', async () => {
      const r = await readSessions(db.handle.client, db.database);
      return r.length === VISITORS.length ? r : undefined;
    });

    for (const { visitor, origin, sessionId } of visits) {
      const row = rows.find((r) => r.session_id === sessionId);
      expect(row, visitor.name).toBeDefined();
      if (row === undefined) continue;
      const clicks = visitor.clicks.reduce((n, ids) => n + ids.length, 0);
      const anonymous = eventsOf(shim, sessionId).map((e) => (e['properties'] as Obj)['distinct_id'])[0];
      expect(
        {
          team_id: row.team_id,
          distinct_id: row.distinct_id,
          entry_current_url: row.entry_current_url,
          exit_current_url: row.exit_current_url,
          entry_referring_domain: row.entry_referring_domain,
          pageview_count: row.pageview_count,
          autocapture_count: row.autocapture_count,
          channel_type: row.channel_type,
          is_bounce: row.is_bounce,
        },
        visitor.name,
      ).toEqual({
        team_id: TEAM,
        distinct_id: visitor.identify?.id ?? anonymous,
        entry_current_url: `${origin}${visitor.pages[0] ?? ''}`,
        exit_current_url: `${origin}${visitor.pages.at(-1) ?? ''}`,
        entry_referring_domain: visitor.referringDomain,
        pageview_count: visitor.pages.length,
        autocapture_count: clicks,
        channel_type: visitor.channel,
        is_bounce: visitor.bounce,
      });
    }

    // every column equals the oracle of what the shim wrote
    const options: NormalizeOptions = { tokenTeams: new Map([[TOKEN, TEAM]]) };
    const accepted = (o: NormalizeOptions): SessionEvent[] =>
      shim.messages.flatMap((m) => {
        const r = normalize('posthog-capture', JSON.stringify(m), o);
        return r.ok ? [r.event] : [];
      });
    const expected: Session[] = sessionize(accepted(options));
    expect(accepted(options)).toHaveLength(shim.messages.length);
    expect(rows).toEqual(expected);

    // RECORD_POSTHOG_JS_FIXTURE_DIR=packages/core/fixtures/posthog-js re-records the golden fixture
    const record = process.env['RECORD_POSTHOG_JS_FIXTURE_DIR'];
    if (record !== undefined && record !== '') {
      mkdirSync(record, { recursive: true });
      writeFileSync(join(record, `capture-${POSTHOG_JS_VERSION}.ndjson`), shim.messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
      const request = shim.received.find((r) => r.events.some((e) => e['event'] === '$pageview'));
      const { path, query, contentType, encoding, payload } = request ?? {};
      writeFileSync(
        join(record, `request-${POSTHOG_JS_VERSION}.json`),
        `${JSON.stringify({ path, query, contentType, encoding, payload }, null, 2)}\n`,
      );
    }

    // the client clock alone keeps them all (server-clock tolerance 0)
    expect(accepted({ ...options, sessionIdToleranceMs: 0 })).toHaveLength(shim.messages.length);
    // the seed's strict rule on the processed times (the old behaviour) loses the fast client's whole session
    const all = accepted(options);
    const seedRule = (e: SessionEvent): boolean => e.timestamp >= uuidV7Millis(e.sessionId) * 1_000;
    const fast = visits.find((v) => v.visitor.clockAheadMs > 0);
    expect(all.filter((e) => e.sessionId === fast?.sessionId && seedRule(e))).toEqual([]);
    const lostFirst = visits.filter((v) => !all.filter((e) => e.sessionId === v.sessionId).every(seedRule)).length;
    console.log(
      `the seed's strict rule would keep ${all.filter(seedRule).length} of ${all.length} events, and break ${lostFirst} of ${visits.length} sessions`,
    );
  });
});
