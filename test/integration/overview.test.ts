/**
 * The web analytics overview over generated traffic written through the real pipeline
 * (generator → normalize → buffer → sink → sessions view) on the embedded engine:
 *   - every tile, the chart and every table equal an independent computation over the view's
 *     rows, with and without filters;
 *   - hostile input is refused with a 400 or treated as data, never as SQL; the SQL is
 *     read-only by ClickHouse and leaves the connection writable;
 *   - in Debian's chromium: the page shows the same numbers, a click on a channel filters every
 *     panel and the URL, back undoes it, and a phone-width viewport has no horizontal overflow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { formatTimestamp, normalize, SessionBuffer } from '@sessionizer/core';
import { ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { startDashboard, type Dashboard } from '../../services/sessionizer/src/commands/dashboard.js';
import { createLogger } from '../../services/sessionizer/src/log.js';
import {
  Overview,
  type Breakdowns,
  type Meta,
  type Series,
  type Table,
  type Tiles,
} from '../../services/sessionizer/src/overview/panels.js';
import { readRows } from '../../services/sessionizer/src/overview/read-only.js';
import { parseParams, resolvePeriod, type Filter, type Period } from '../../services/sessionizer/src/overview/request.js';
import { launchChromium, screenshotPath } from '../support/browser.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { loadGeneratedDays } from '../support/overview-data.js';
import { expectedSeriesTotal, expectedTable, expectedTiles, lastDay, sessionRows, type SessionRow } from '../support/overview-expected.js';

const LAST_DAY_MS = Date.UTC(2026, 10, 20, 12);
const TEAM = '1';

/** Sessions whose values look like SQL, escapes and unicode, written through the pipeline. */
const HOSTILE = {
  path: `/it's/a\\b/"q"/日本語/🎉`,
  source: "x' OR 1=1 --",
  campaign: "\\'; DROP TABLE sessions; --",
  referrer: 'evil.test',
};

function hostileEvents(): string[] {
  const ms = LAST_DAY_MS - 3_600_000;
  const hex = ms.toString(16).padStart(12, '0');
  const sessionId = `${hex.slice(0, 8)}-${hex.slice(8)}-7abc-8def-0123456789ab`;
  return [0, 1].map((i) =>
    JSON.stringify({
      uuid: `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-00000000000${i}`,
      event: '$pageview',
      team_id: Number(TEAM),
      distinct_id: 'hostile-visitor',
      timestamp: formatTimestamp((ms + i * 20_000) * 1000),
      properties: JSON.stringify({
        $session_id: sessionId,
        $current_url: `https://shop.test${HOSTILE.path}?utm_source=${encodeURIComponent(HOSTILE.source)}`,
        $referring_domain: HOSTILE.referrer,
        utm_source: HOSTILE.source,
        utm_campaign: HOSTILE.campaign,
      }),
    }),
  );
}

/**
 * A raw capture message from a browser whose clock runs 5 days slow: the window is judged on the
 * client's clock, so the session is kept, and its first event (server time, in the range) lies
 * 5 days after its id's time. Pruning by the id's time ± 3 days would lose it; the overview must not.
 */
const SKEWED_PATH = '/skewed-clock';
const SKEW_TOKEN = 'phc_overviewSkewedClock';
function skewedClockMessage(): string {
  const nowMs = LAST_DAY_MS - 2 * 3_600_000;
  const clientMs = nowMs - 5 * 86_400_000;
  const hex = (ms: number): string => ms.toString(16).padStart(12, '0');
  const id = (ms: number, rest: string): string => `${hex(ms).slice(0, 8)}-${hex(ms).slice(8)}-${rest}`;
  return JSON.stringify({
    uuid: id(clientMs, '7000-8000-5e3e00000001'),
    distinct_id: 'skewed-clock-visitor',
    ip: '203.0.113.7',
    now: new Date(nowMs).toISOString(),
    sent_at: new Date(clientMs + 1_000).toISOString(),
    token: SKEW_TOKEN,
    data: JSON.stringify({
      event: '$pageview',
      timestamp: new Date(clientMs).toISOString(),
      properties: {
        $session_id: id(clientMs - 1_000, '7abc-8def-5e3e00000002'),
        $current_url: `https://shop.test${SKEWED_PATH}`,
        token: SKEW_TOKEN,
      },
    }),
  });
}

/**
 * In-page code runs in the browser; this project compiles without DOM types, so the test sees
 * the page's document through these few structural types (erased before the code is sent).
 */
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  getBoundingClientRect(): { readonly right: number };
}
interface PageGlobals {
  readonly document: {
    querySelectorAll(selector: string): Iterable<PageElement>;
    getElementById(id: string): PageElement | null;
    readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
  };
  readonly location: { readonly href: string };
}

function scopeParams(team: string, period: Period, filters: readonly Filter[]): URLSearchParams {
  const p = new URLSearchParams({ team, from: period.from, to: period.to });
  for (const f of filters) {
    if (f.value === null) p.append('null', f.column);
    else p.set(f.column, f.value);
  }
  return p;
}

describe('web analytics overview', () => {
  let db: TestDatabase;
  let rows: SessionRow[];
  let overview: Overview;
  let dashboard: Dashboard;
  let period: Period;
  let columns: string[];

  beforeAll(async () => {
    db = await testDatabase('overview');
    const schema = { database: db.database };
    await migrate(db.handle.client, schema);
    const sink = new ClickHouseSessionSink(db.handle.client, { schema });
    const stats = await loadGeneratedDays(sink, { seed: 5, days: 16, eventsPerDay: 1_200, lastDayMs: LAST_DAY_MS, flushEvery: 700 });
    const buffer = new SessionBuffer();
    for (const line of hostileEvents()) {
      const r = normalize('posthog-events', line, {});
      if (!r.ok) throw new Error(`hostile fixture rejected: ${r.message}`);
      buffer.add(r.event);
    }
    const skewed = normalize('posthog-capture', skewedClockMessage(), { tokenTeams: new Map([[SKEW_TOKEN, Number(TEAM)]]) });
    if (!skewed.ok) throw new Error(`skewed-clock fixture rejected: ${skewed.message}`);
    buffer.add(skewed.event);
    await sink.write(buffer.drain());
    rows = await sessionRows(db.handle.client, db.database, TEAM);
    console.log(`overview dataset: ${stats.accepted} events → ${stats.partials} partials; team ${TEAM}: ${rows.length} sessions`);
    overview = new Overview({ client: db.handle.client, database: db.database });
    period = resolvePeriod({ from: undefined, to: undefined }, lastDay(rows));
    columns = [...(await overview.columns()).keys()];
    dashboard = await startDashboard({
      client: db.handle.client,
      database: db.database,
      host: '127.0.0.1',
      port: 0,
      log: createLogger('warn'),
    });
  });

  afterAll(async () => {
    await dashboard.close();
    await db.drop();
  });

  interface Panels {
    meta: Meta;
    tiles: Tiles;
    series: Series;
    table: Table;
    breakdowns: Breakdowns;
  }
  const api = async <K extends keyof Panels>(
    panel: K,
    params: URLSearchParams,
  ): Promise<{ status: number; body: Panels[K] & { error?: string } }> => {
    const res = await fetch(`${dashboard.url}api/overview/${panel}?${params.toString()}`);
    return { status: res.status, body: (await res.json()) as Panels[K] & { error?: string } };
  };

  it('meta: the team with the most sessions, the last 7 days with data, the tables the view has', async () => {
    const { status, body } = await api('meta', new URLSearchParams());
    expect(status).toBe(200);
    expect(body.team).toBe(TEAM);
    expect(body.teams.map((t) => t.team)).toEqual(['1', '2', '3']);
    expect(body.teams[0]?.sessions).toBe(rows.length);
    expect(body.period).toEqual(period);
    expect(period.days).toBe(7);
    const expected = [
      'channel_type',
      'entry_referring_domain',
      'entry_pathname',
      'exit_pathname',
      'entry_utm_source',
      'entry_utm_campaign',
      'device_type',
      'browser',
      'os',
      'geoip_country_code',
    ].filter((c) => columns.includes(c));
    expect(body.dimensions.map((d) => d.column)).toEqual(expected);
  });

  const filterSets: [string, Filter[]][] = [
    ['no filter', []],
    ['a channel', [{ column: 'channel_type', value: 'Direct' }]],
    [
      'a NULL source and an entry path',
      [
        { column: 'entry_utm_source', value: null },
        { column: 'entry_pathname', value: '/' },
      ],
    ],
    [
      'hostile values, as data',
      [
        { column: 'entry_utm_source', value: HOSTILE.source },
        { column: 'entry_pathname', value: HOSTILE.path },
      ],
    ],
  ];

  it.each(filterSets)('every tile, the chart and every table equal the view with %s', async (_name, filters) => {
    const params = scopeParams(TEAM, period, filters);
    const tiles = await api('tiles', params);
    expect(tiles.status).toBe(200);
    expect(tiles.body.tiles).toEqual(expectedTiles(rows, period, filters));
    const series = await api('series', params);
    expect(series.body.points).toHaveLength(7);
    expect(series.body.points.reduce((a, p) => a + p.sessions, 0)).toBe(expectedSeriesTotal(rows, period, filters));
    const meta = await api('meta', params);
    for (const d of meta.body.dimensions) {
      const table = await api('table', new URLSearchParams([...params, ['dimension', d.column]]));
      expect(table.status).toBe(200);
      expect(table.body).toEqual({ column: d.column, ...expectedTable(rows, period, filters, d.column) });
    }
    if (filters.some((f) => f.value === HOSTILE.source)) expect(tiles.body.tiles[0]?.value).toBe(1);
    // what the page loads: the chart and every table from one statement, the same numbers
    const breakdowns = await api('breakdowns', params);
    expect(breakdowns.status).toBe(200);
    expect(breakdowns.body.series).toEqual(series.body);
    expect(breakdowns.body.tables.map((t) => t.column)).toEqual(meta.body.dimensions.map((d) => d.column));
    for (const t of breakdowns.body.tables) expect(t).toEqual({ column: t.column, ...expectedTable(rows, period, filters, t.column) });
  });

  it('counts a session whose first event lies days after its id time (a slow client clock)', async () => {
    const skewed = rows.filter((r) => r['entry_pathname'] === SKEWED_PATH);
    expect(skewed).toHaveLength(1);
    const session = skewed[0] as SessionRow;
    const idDays =
      (Date.parse(`${session.start_timestamp.replace(' ', 'T')}Z`) -
        Number(`0x${String(session['session_id']).replace(/-/g, '').slice(0, 12)}`)) /
      86_400_000;
    expect(idDays).toBeGreaterThan(4.9);
    expect(session.start_timestamp >= period.start && session.start_timestamp < period.end).toBe(true);
    const params = scopeParams(TEAM, period, [{ column: 'entry_pathname', value: SKEWED_PATH }]);
    expect((await api('tiles', params)).body.tiles[0]?.value).toBe(1);
    const breakdowns = await api('breakdowns', params);
    expect(breakdowns.body.tables.find((t) => t.column === 'entry_pathname')?.rows).toEqual([
      { value: SKEWED_PATH, sessions: 1, visitors: 1 },
    ]);
  });

  it('the previous period and hour buckets follow the range', async () => {
    const twoDays = resolvePeriod({ from: period.to, to: period.to }, 'unused');
    const series = await api('series', scopeParams(TEAM, twoDays, []));
    expect(series.body.bucket).toBe('hour');
    expect(series.body.points).toHaveLength(24);
    expect(series.body.points.reduce((a, p) => a + p.sessions, 0)).toBe(expectedSeriesTotal(rows, twoDays, []));
    const tiles = await api('tiles', scopeParams(TEAM, twoDays, []));
    expect(tiles.body.tiles).toEqual(expectedTiles(rows, twoDays, []));
    const breakdowns = await api('breakdowns', scopeParams(TEAM, twoDays, []));
    expect(breakdowns.body.series).toEqual(series.body);
    for (const t of breakdowns.body.tables) expect(t).toEqual({ column: t.column, ...expectedTable(rows, twoDays, [], t.column) });
  });

  it('refuses hostile input with a 400 and a message, and treats hostile values as data', async () => {
    const base = `team=${TEAM}&from=${period.from}&to=${period.to}`;
    const refused: string[] = [
      `${base}&team_id=1`,
      `${base}&session_id=x`,
      `${base}&channel_type%3D'x'%20OR%201%3D1=1`,
      `${base}&null=team_id`,
      `${base}&null=channel_type)%20OR%20(1`,
      `${base}&entry_pathname=${'x'.repeat(8_193)}`,
      `${base}&channel_type=a&channel_type=b`,
      `team=1%20OR%201%3D1&from=${period.from}&to=${period.to}`,
      `team=-1&from=${period.from}&to=${period.to}`,
      `team=${TEAM}&from=2026-02-30&to=2026-03-01`,
      `team=${TEAM}&from=2026-11-01'%20OR%20'1'%3D'1&to=2026-11-02`,
      `team=${TEAM}&from=yesterday&to=today`,
      `team=${TEAM}&from=2026-11-20&to=2026-11-01`,
      `team=${TEAM}&from=1900-01-01&to=1900-01-02`,
    ];
    for (const qs of refused) {
      for (const panel of ['meta', 'tiles', 'series', 'breakdowns']) {
        const res = await fetch(`${dashboard.url}api/overview/${panel}?${qs}`);
        expect(res.status, `${panel}?${qs.slice(0, 80)}`).toBe(400);
        const body = (await res.json()) as { error: string };
        expect(body.error.length).toBeGreaterThan(0);
      }
    }
    const table = async (dimension: string) =>
      fetch(`${dashboard.url}api/overview/table?${base}&dimension=${encodeURIComponent(dimension)}`);
    expect((await table('team_id')).status).toBe(400);
    expect((await table("channel_type'")).status).toBe(400);
    expect((await table('browser')).status).toBe(columns.includes('browser') ? 200 : 400);
    expect((await fetch(`${dashboard.url}api/overview/table?${base}`)).status).toBe(400);
    expect((await fetch(`${dashboard.url}api/overview/nope?${base}`)).status).toBe(404);
    // Node refuses request heads over 16 KiB itself
    expect((await fetch(`${dashboard.url}api/overview/tiles?${'a='.repeat(40_000)}`)).status).toBe(431);
    expect((await fetch(`${dashboard.url}api/overview/tiles`, { method: 'POST' })).status).toBe(405);

    // values that are valid input reach ClickHouse only as bound parameters: they match nothing
    for (const v of [
      "' OR '1'='1",
      '\\',
      "\\'",
      '"; DROP TABLE sessions; --',
      '{team:Int64}',
      '\u0000',
      '\u202e日本語🎉',
      'x'.repeat(8_192),
    ]) {
      const res = await api('tiles', new URLSearchParams([...new URLSearchParams(base), ['entry_utm_campaign', v]]));
      expect(res.status, JSON.stringify(v.slice(0, 20))).toBe(200);
      expect(res.body.tiles[0]?.value).toBe(0);
    }
    // the hostile campaign exists: equality finds it exactly
    const exact = await api('tiles', new URLSearchParams([...new URLSearchParams(base), ['entry_utm_campaign', HOSTILE.campaign]]));
    expect(exact.body.tiles[0]?.value).toBe(1);
    // and nothing was changed
    expect((await sessionRows(db.handle.client, db.database, TEAM)).length).toBe(rows.length);
  });

  it('runs read-only by ClickHouse, and leaves the shared connection writable', async () => {
    const client = db.handle.client;
    await client.command({ query: `CREATE TABLE ${db.database}.scratch (x Int64) ENGINE = MergeTree ORDER BY x` });
    // the overview's statements go through queryReadOnly: refused by the engine's parser and syntax tree
    await expect(readRows(client, { sql: `INSERT INTO ${db.database}.scratch SELECT 1`, params: {} })).rejects.toThrow(
      /only read-only statements are allowed here/,
    );
    await expect(readRows(client, { sql: `SELECT * FROM file('/etc/hostname', 'LineAsString')`, params: {} })).rejects.toThrow(
      /file\(\) is not allowed here/,
    );
    await expect(readRows(client, { sql: `SELECT 1 SETTINGS readonly = 0`, params: {} })).rejects.toThrow(/SETTINGS are not allowed/);
    // and run with readonly = 1, set by ClickHouse for that statement only
    expect(await readRows(client, { sql: `SELECT getSetting('readonly') AS ro`, params: {} })).toEqual([{ ro: 1 }]);
    // the overview ran many queries on this very connection: writes still work
    await client.command({ query: `INSERT INTO ${db.database}.scratch VALUES (1)` });
    const rs = await client.query({
      query: `SELECT count() AS n, getSetting('readonly') AS ro FROM ${db.database}.scratch`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: 1, ro: 0 }]);
    await client.command({ query: `DROP TABLE ${db.database}.scratch` });
  });

  describe('in a real browser', () => {
    let browser: Browser;
    let page: Page;
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
    });
    afterAll(async () => {
      await browser.close();
    });

    const ready = async (): Promise<void> => {
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    };

    interface Shown {
      tiles: { key: string; value: number | null; previous: number | null; change: number | null; text: string }[];
      tables: Record<
        string,
        { rows: { value: string | null; sessions: number; visitors: number }[]; distinct_values: number; total_sessions: number }
      >;
      chartTotal: number;
      chartPoints: number;
      chips: string[];
    }

    const shown = async (): Promise<Shown> =>
      page.evaluate(() => {
        const { document } = globalThis as unknown as PageGlobals;
        const num = (s: string | undefined): number | null => (s === undefined || s === 'null' ? null : Number(s));
        const tiles = [...document.querySelectorAll('.tile')].map((t) => ({
          key: t.dataset['key'] ?? '',
          value: num(t.dataset['value']),
          previous: num(t.dataset['previous']),
          change: num(t.dataset['change']),
          text: t.querySelector('.tile-value')?.textContent ?? '',
        }));
        const tables: Shown['tables'] = {};
        for (const card of document.querySelectorAll('.table-card')) {
          tables[card.dataset['column'] ?? ''] = {
            rows: [...card.querySelectorAll('button.row')].map((b) => ({
              value: b.dataset['null'] === 'true' ? null : (b.dataset['value'] ?? ''),
              sessions: Number(b.dataset['sessions']),
              visitors: Number(b.dataset['visitors']),
            })),
            distinct_values: Number(card.dataset['distinct']),
            total_sessions: Number(card.dataset['total']),
          };
        }
        const chart = document.getElementById('chart');
        return {
          tiles,
          tables,
          chartTotal: Number(chart?.dataset['total']),
          chartPoints: Number(chart?.dataset['points']),
          chips: [...document.querySelectorAll('.chip')].map((c) => c.textContent ?? ''),
        };
      });

    const expectShown = async (filters: Filter[]): Promise<Shown> => {
      const s = await shown();
      const tiles = expectedTiles(rows, period, filters);
      expect(s.tiles.map(({ key, value, previous, change }) => ({ key, value, previous, change }))).toEqual(tiles);
      expect(s.tiles[0]?.text).toBe(new Intl.NumberFormat('en-US').format(tiles[0]?.value ?? -1));
      expect(s.chartTotal).toBe(expectedSeriesTotal(rows, period, filters));
      expect(s.chartPoints).toBe(7);
      const meta = await overview.meta(parseParams(new URLSearchParams()));
      expect(Object.keys(s.tables)).toEqual(meta.dimensions.map((d) => d.column));
      for (const d of meta.dimensions)
        expect({ column: d.column, ...s.tables[d.column] }).toEqual({
          column: d.column,
          ...expectedTable(rows, period, filters, d.column),
        });
      return s;
    };

    it('shows the numbers of the view; a click on a channel filters every panel and the URL; back undoes it', async () => {
      await page.goto(dashboard.url);
      await ready();
      const before = await expectShown([]);
      await page.screenshot({ path: screenshotPath('overview-desktop.png'), fullPage: true });

      // the second channel, so that the filter changes every number
      const channel = before.tables['channel_type']?.rows[1]?.value;
      expect(typeof channel).toBe('string');
      await page.click(`.table-card[data-column="channel_type"] button.row[data-value="${String(channel)}"]`);
      await page.waitForFunction(
        (c) => new URL((globalThis as unknown as PageGlobals).location.href).searchParams.get('channel_type') === c,
        channel,
      );
      await ready();
      const after = await expectShown([{ column: 'channel_type', value: channel as string }]);
      expect(after.tables['channel_type']?.rows.map((r) => r.value)).toEqual([channel]);
      expect(after.chips).toEqual([`Channel:${String(channel)}×`]);
      expect(after.tiles[0]?.value).toBeLessThan(before.tiles[0]?.value ?? 0);
      for (const t of Object.values(after.tables)) expect(t.total_sessions).toBe(after.tiles[0]?.value);
      await page.screenshot({ path: screenshotPath('overview-filtered.png'), fullPage: true });

      // the URL is the view: opening it fresh shows the same
      await page.goto(page.url());
      await ready();
      await expectShown([{ column: 'channel_type', value: channel as string }]);

      await page.goBack();
      await page.waitForFunction(() => !new URL((globalThis as unknown as PageGlobals).location.href).searchParams.has('channel_type'));
      await ready();
      await expectShown([]);
      expect(problems).toEqual([]);
    });

    it('a NULL row filters on IS NULL; removing the chip clears it', async () => {
      await page.goto(dashboard.url);
      await ready();
      await page.click('.table-card[data-column="entry_utm_source"] button.row[data-null="true"]');
      await page.waitForFunction(() =>
        new URL((globalThis as unknown as PageGlobals).location.href).searchParams.getAll('null').includes('entry_utm_source'),
      );
      await ready();
      await expectShown([{ column: 'entry_utm_source', value: null }]);
      await page.click('.chip-remove');
      await page.waitForFunction(() => !new URL((globalThis as unknown as PageGlobals).location.href).searchParams.has('null'));
      await ready();
      await expectShown([]);
      expect(problems).toEqual([]);
    });

    it('stays usable at phone width: no horizontal overflow, every panel inside the viewport', async () => {
      await page.setViewportSize({ width: 375, height: 812 });
      await page.goto(dashboard.url);
      await ready();
      const layout = await page.evaluate(() => {
        const { document } = globalThis as unknown as PageGlobals;
        return {
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          widest: Math.max(
            ...[...document.querySelectorAll('.tile, .card, .row, .chart canvas, .controls')].map((e) => e.getBoundingClientRect().right),
          ),
        };
      });
      expect(layout.clientWidth).toBe(375);
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
      expect(layout.widest).toBeLessThanOrEqual(layout.clientWidth);
      await page.screenshot({ path: screenshotPath('overview-phone.png'), fullPage: true });
      expect(problems).toEqual([]);
    });
  });
});
