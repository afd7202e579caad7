/**
 * The ClickHouse channel type expression against the TypeScript reference, on the real engine
 * (embedded chDB): every rule branch, the precedence cases, a cross product of representative
 * values and a few thousand seeded random inputs, each row evaluated in ClickHouse and compared
 * with channelType().
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_RULE_COLUMNS,
  CHANNEL_TYPES,
  channelType as channelTypeWithRules,
  parseChannelRules,
  SessionBuffer,
  type ChannelRules,
  type SessionEvent,
  MEDIUM_TYPE_BY_KEY,
  SECOND_LEVEL_SUFFIXES,
  SOURCE_CATEGORY_BY_KEY,
  attributionSites,
  defaultChannelType as channelType,
  registrableDomain,
  type ChannelInput,
  type ChannelType,
} from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { channelTypeSql, type ChannelSqlColumns } from '@sessionizer/clickhouse/testing';
import { eventFor } from '../support/arbitraries.js';
import { blankChannelInput } from '../support/events.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { POSTHOG_CUSTOM_CASES, POSTHOG_DEFAULT_CASES, inputOf, type Properties } from '../support/posthog-channel-cases.js';
import { readSessions } from '../support/sessions.js';

const FIELDS = ['utmSource', 'utmMedium', 'utmCampaign', 'referringDomain', 'hasGclid', 'gadSource', 'hasFbclid'] as const;

const COLUMNS: ChannelSqlColumns = {
  utmSource: 'utm_source',
  utmMedium: 'utm_medium',
  utmCampaign: 'utm_campaign',
  referringDomain: 'referring_domain',
  hasGclid: 'has_gclid',
  hasFbclid: 'has_fbclid',
  gadSource: 'gad_source',
  sourceSite: 'source_site',
  referringSite: 'referring_site',
};

interface Row {
  id: number;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  referring_domain: string | null;
  has_gclid: boolean;
  gad_source: string | null;
  has_fbclid: boolean;
  source_site: string | null;
  referring_site: string | null;
}

function toRow(id: number, input: ChannelInput): Row {
  const sites = attributionSites(input);
  return {
    id,
    utm_source: input.utmSource,
    utm_medium: input.utmMedium,
    utm_campaign: input.utmCampaign,
    referring_domain: input.referringDomain,
    has_gclid: input.hasGclid,
    gad_source: input.gadSource,
    has_fbclid: input.hasFbclid,
    source_site: sites.sourceSite,
    referring_site: sites.referringSite,
  };
}

const input = blankChannelInput;

/** Hand-written: every branch of the rules and their precedence. */
const BRANCH_CASES: Partial<ChannelInput>[] = [
  { utmCampaign: 'pmax_cross-network_2024' },
  { utmCampaign: 'Cross-Network', utmMedium: 'cpc', utmSource: 'google', hasGclid: true },
  { utmMedium: 'cpc', utmSource: 'google' },
  { utmMedium: 'CPC', utmSource: 'Google' },
  { utmMedium: 'Paid_Social', utmSource: 'ig' },
  { utmMedium: 'paidsearch' },
  { utmMedium: 'unpaid' },
  { hasGclid: true },
  { gadSource: '1' },
  { gadSource: '2' },
  { gadSource: 'null' },
  { gadSource: 'NULL' },
  { gadSource: '' },
  { utmMedium: 'cpv', utmSource: 'youtube' },
  { utmMedium: 'cpc', utmSource: 'amazon.co.uk' },
  { utmMedium: 'cpc', utmSource: 'amazon.de' },
  { utmSource: 'chatgpt.com' },
  { referringDomain: 'chatgpt.com' },
  { referringDomain: 'www.perplexity.ai' },
  { utmMedium: 'cpc', utmSource: 'claude.ai' },
  { hasGclid: true, referringDomain: 'gemini.google.com' },
  { referringDomain: 'com.google.android.gm' },
  { utmSource: 'firebase' },
  { utmMedium: 'cpc', utmSource: 'www.google.co.uk' },
  { utmMedium: 'cpc', utmSource: 'https://l.facebook.com/l.php' },
  { utmMedium: 'cpc', utmSource: 'google', utmCampaign: 'shopping' },
  { utmMedium: 'cpm', utmCampaign: 'summer-shop' },
  { hasGclid: true, utmSource: 'newsletter', utmCampaign: 'eshop' },
  { utmMedium: 'cpm' },
  { utmMedium: 'banner', hasGclid: true },
  { utmMedium: 'social', gadSource: '3' },
  { utmMedium: 'video', hasGclid: true },
  { utmMedium: 'email', hasGclid: true },
  { utmMedium: 'cpm', referringDomain: 'google.com' },
  { utmMedium: 'cpc', referringDomain: 'www.google.co.uk' },
  { hasGclid: true, referringDomain: 'l.facebook.com' },
  { hasGclid: true, referringDomain: 'Google.com' },
  { utmMedium: 'cpc', utmSource: 'email', referringDomain: 'youtube.com' },
  { utmMedium: 'cpc', utmSource: 'mail.google.com' },
  { utmMedium: 'cpc', utmSource: 'sms' },
  { gadSource: '1', utmCampaign: 'video', hasFbclid: true },
  { gadSource: '1', referringDomain: 'facebook.com' },
  { utmMedium: 'cpc', utmCampaign: 'Spring_VIDEO_ads' },
  { hasGclid: true, utmCampaign: 'video', hasFbclid: true },
  { hasGclid: true, hasFbclid: true },
  { hasFbclid: true },
  { hasGclid: true, referringDomain: '$direct' },
  { referringDomain: '$direct' },
  { referringDomain: '$direct', utmSource: '(direct)' },
  { referringDomain: '$direct', utmSource: 'DIRECT' },
  { referringDomain: '$direct', utmSource: '$direct' },
  { referringDomain: '$direct', utmSource: 'null', utmMedium: '' },
  { referringDomain: '$direct', hasFbclid: true },
  { referringDomain: '$direct', utmMedium: 'email' },
  { referringDomain: '$direct', utmSource: 'google' },
  { referringDomain: '$direct', utmSource: 'foo' },
  { referringDomain: '$direct', utmMedium: 'NULL' },
  { referringDomain: '$direct', utmSource: 'foo', utmCampaign: 'video' },
  { referringDomain: '$DIRECT' },
  { utmSource: 'google' },
  { utmSource: 'DuckDuckGo' },
  { utmSource: 'www.google.co.uk' },
  { utmSource: 'WWW.GOOGLE.CO.UK' },
  { utmSource: 'lm.facebook.com' },
  { utmSource: 'https://www.youtube.com/watch?v=1' },
  { utmSource: 'etsy' },
  { utmSource: 'Email' },
  { utmSource: 'e mail' },
  { utmSource: 'mail.google.com' },
  { utmSource: 'SMS' },
  { utmSource: 'google', utmMedium: 'email' },
  { utmSource: 'NULL', referringDomain: 'google.com' },
  { utmCampaign: 'shop' },
  { utmCampaign: 'eshop' },
  { utmCampaign: 'x_shop_y' },
  { utmCampaign: 'bookshopping' },
  { utmCampaign: 'workshop' },
  { utmCampaign: 'WORKSHOP' },
  { utmCampaign: 'éshop' },
  { utmCampaign: '😀shop' },
  { utmCampaign: 'shop', utmMedium: 'email' },
  { utmMedium: 'Social' },
  { utmMedium: 'social media' },
  { utmMedium: 'affiliate' },
  { utmMedium: 'referral' },
  { utmMedium: 'display' },
  { utmMedium: 'e_mail' },
  { utmMedium: 'audio' },
  { utmMedium: 'push' },
  { utmMedium: 'notification' },
  { utmMedium: 'web-push' },
  { utmMedium: 'push', utmCampaign: 'video' },
  { utmMedium: 'web-push', utmCampaign: 'video' },
  { utmMedium: 'pushy' },
  { utmMedium: 'push\n' },
  { utmMedium: 'x\npush' },
  { utmMedium: 'referral', referringDomain: 'google.com' },
  { referringDomain: 'www.google.com' },
  { referringDomain: 'l.facebook.com' },
  { referringDomain: 'mail.google.com' },
  { referringDomain: 't.co' },
  { referringDomain: 'Google.com' },
  { referringDomain: 'google.com', utmCampaign: 'video' },
  { utmCampaign: 'Launch-Video' },
  { utmCampaign: 'a\nvideo\nb' },
  { utmCampaign: 'cross-\nnetwork' },
  { hasFbclid: true, referringDomain: 'example.com' },
  { referringDomain: 'example.com' },
  { referringDomain: '' },
  { referringDomain: 'null' },
  { referringDomain: 'NULL' },
  {},
  { utmSource: '', utmMedium: '', utmCampaign: '', gadSource: '' },
  { utmSource: 'newsletter' },
  { utmSource: '\u212Aick' },
  // KELVIN SIGN: String#toLowerCase makes it 'k', ClickHouse lower() keeps it
  { utmMedium: 'LIN\u212A' },
  { utmCampaign: 'cross-networ\u212A' },
  { utmSource: "it's", utmMedium: 'back\\slash', utmCampaign: "'; DROP TABLE x; --", referringDomain: '\\' },
  { utmSource: 'nul\u0000', utmCampaign: 'vid\u0000eo', referringDomain: 'a\u0000b.com' },
];

/** The cross product of a few representative values per field. */
function crossProduct(): ChannelInput[] {
  const values: Record<(typeof FIELDS)[number], (string | boolean | null)[]> = {
    utmSource: [null, '', 'null', 'NULL', 'google', 'WWW.Google.CO.UK', 'mail.google.com', 'email', '(direct)', 'foo'],
    utmMedium: [null, 'null', 'cpc', 'Paid-social', 'cpm', 'email', 'web-push', 'affiliate', 'zzz'],
    utmCampaign: [null, 'cross-network', 'shop', 'video', 'workshop'],
    referringDomain: [null, '', '$direct', 'www.youtube.com', 'Google.com', 'example.com'],
    hasGclid: [false, true],
    gadSource: [null, '1', '5'],
    hasFbclid: [false, true],
  };
  let out: Partial<ChannelInput>[] = [{}];
  for (const field of FIELDS) out = out.flatMap((partial) => values[field].map((v) => ({ ...partial, [field]: v })));
  return out.map(input);
}

/** Seeded random inputs drawn from the list keys and their variants, and arbitrary strings. */
function randomInputs(count: number): ChannelInput[] {
  const sourceKeys = [...SOURCE_CATEGORY_BY_KEY.keys()];
  const mediums = [...MEDIUM_TYPE_BY_KEY.keys(), 'cpc', 'cpm', 'cpv', 'cpa', 'ppc', 'retargeting', 'paid', 'paid_search'];
  const specials = ['', 'null', 'NULL', 'Null', '$direct', '$DIRECT', '(direct)', 'direct', 'Direct', ' ', '1', 'www.', '.'];
  const flipCase = (s: string, mask: number): string =>
    s.replace(/[a-z]/g, (c, i: number) => ((mask >> (i % 30)) & 1 ? c.toUpperCase() : c));
  const wellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);
  const keyVariant = fc
    .tuple(
      fc.constantFrom(...sourceKeys),
      fc.constantFrom('', 'www.', 'sub.', 'a.b.', 'WWW.', 'https://', 'https://www.', 'http://user@m.'),
      fc.constantFrom('', '', '/', '/path?q=1', ':8080', '.', '#x'),
      fc.nat(),
      fc.boolean(),
    )
    .map(([key, prefix, suffix, mask, flip]) => {
      const value = `${prefix}${key}${suffix}`;
      return flip ? flipCase(value, mask) : value;
    });
  const arbitrary = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 })).filter(wellFormed);
  const word = fc.constantFrom(
    'shop',
    'shopping',
    'video',
    'VIDEO',
    'cross-network',
    'push',
    'e',
    'work',
    '-',
    '_',
    ' ',
    '\n',
    'é',
    'x',
    '😀',
  );
  const campaign = fc.array(word, { maxLength: 4 }).map((parts) => parts.join(''));
  const value = (...arbs: fc.Arbitrary<string>[]): fc.Arbitrary<string | null> =>
    fc.oneof(fc.constant(null), fc.constantFrom(...specials), ...arbs);
  const medium = fc.tuple(fc.constantFrom(...mediums), fc.nat(), fc.boolean()).map(([m, mask, flip]) => (flip ? flipCase(m, mask) : m));
  const record = fc.record({
    utmSource: value(keyVariant, keyVariant, fc.constantFrom(...mediums), arbitrary),
    utmMedium: value(medium, medium, fc.constantFrom('web-push', 'push\n', 'app_push', 'pushy'), arbitrary),
    utmCampaign: value(campaign, campaign, arbitrary),
    referringDomain: value(keyVariant, keyVariant, arbitrary),
    hasGclid: fc.boolean(),
    gadSource: value(fc.constantFrom('1', '2', '5', ' 1', '01'), arbitrary),
    hasFbclid: fc.boolean(),
  });
  return fc.sample(record, { numRuns: count, seed: 0x5e55 });
}

describe('channelTypeSql on the real ClickHouse engine', () => {
  let db: TestDatabase;
  let table: string;

  beforeAll(async () => {
    db = await testDatabase('channel_sql');
    table = `${db.database}.attribution`;
    await db.handle.client.command({
      query: `CREATE TABLE ${table} (
        id UInt32,
        utm_source Nullable(String), utm_medium Nullable(String), utm_campaign Nullable(String),
        referring_domain Nullable(String), has_gclid Bool, gad_source Nullable(String),
        has_fbclid Bool, source_site Nullable(String), referring_site Nullable(String)
      ) ENGINE = MergeTree ORDER BY id`,
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  async function evaluate(inputs: readonly ChannelInput[], firstId: number): Promise<Map<number, string>> {
    const rows = inputs.map((i, n) => toRow(firstId + n, i));
    await db.handle.client.insert({ table, values: rows, format: 'JSONEachRow' });
    const rs = await db.handle.client.query({
      query: `SELECT id, ${channelTypeSql(COLUMNS)} AS channel FROM ${table}
              WHERE id >= ${firstId} AND id < ${firstId + inputs.length} ORDER BY id`,
      format: 'JSONEachRow',
    });
    const out = await rs.json<{ id: number; channel: string }>();
    return new Map(out.map((r) => [r.id, r.channel]));
  }

  async function expectAgreement(inputs: readonly ChannelInput[], firstId: number): Promise<Set<ChannelType>> {
    const actual = await evaluate(inputs, firstId);
    expect(actual.size).toBe(inputs.length);
    const seen = new Set<ChannelType>();
    const mismatches: { input: ChannelInput; sites: object; ts: ChannelType; sql: string | undefined }[] = [];
    inputs.forEach((i, n) => {
      const ts = channelType(i);
      seen.add(ts);
      const sql = actual.get(firstId + n);
      if (sql !== ts) mismatches.push({ input: i, sites: attributionSites(i), ts, sql });
    });
    expect(mismatches.slice(0, 20), `${mismatches.length} of ${inputs.length} rows disagree`).toEqual([]);
    return seen;
  }

  it('is a String expression', async () => {
    const columns = Object.values(COLUMNS)
      .map((c: string) => `CAST(NULL, '${c.startsWith('has_') ? 'Nullable(Bool)' : 'Nullable(String)'}') AS ${c}`)
      .join(', ');
    const rs = await db.handle.client.query({
      query: `SELECT toTypeName(${channelTypeSql(COLUMNS)}) AS t FROM (SELECT ${columns})`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ t: 'String' }]);
  });

  it("gives PostHog's expected channel type in every case of its test_channel_type.py and test_sessions_v3.py", async () => {
    const actual = await evaluate(
      POSTHOG_DEFAULT_CASES.map((c) => inputOf(c.properties)),
      500,
    );
    expect(POSTHOG_DEFAULT_CASES.map((c, n) => [c.name, actual.get(500 + n)])).toEqual(
      POSTHOG_DEFAULT_CASES.map((c) => [c.name, c.expected]),
    );
  });

  it('agrees with channelType on every rule branch and precedence case', async () => {
    const seen = await expectAgreement(BRANCH_CASES.map(input), 1_000);
    // the table reaches every channel type
    expect([...CHANNEL_TYPES].filter((t) => !seen.has(t))).toEqual([]);
  });

  it('agrees with channelType on a cross product of representative values', async () => {
    const inputs = crossProduct();
    expect(inputs.length).toBeGreaterThan(10_000);
    await expectAgreement(inputs, 100_000);
  });

  it('agrees with channelType on 5000 seeded random inputs', async () => {
    const inputs = randomInputs(5_000);
    const seen = await expectAgreement(inputs, 1_000_000);
    expect(seen.size).toBeGreaterThanOrEqual(CHANNEL_TYPES.length - 2);
  });

  it('evaluates over literal NULLs and non-Nullable columns too', async () => {
    const nulls = Object.fromEntries(Object.keys(COLUMNS).map((k) => [k, 'NULL'])) as unknown as ChannelSqlColumns;
    const strings = Object.fromEntries(
      Object.keys(COLUMNS).map((k) => [k, k.startsWith('has') ? 'false' : "toString('')"]),
    ) as unknown as ChannelSqlColumns;
    const rs = await db.handle.client.query({
      query: `SELECT ${channelTypeSql(nulls)} AS a, ${channelTypeSql({ ...strings, referringDomain: "'$direct'" })} AS b`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ a: channelType(input({})), b: channelType(input({ utmSource: '', referringDomain: '$direct' })) }]);
  });
});

describe('the ClickHouse behaviour the reference relies on', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('channel_sql_semantics');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function one(query: string): Promise<Record<string, unknown>> {
    const rs = await db.handle.client.query({ query, format: 'JSONEachRow' });
    const [row] = await rs.json<Record<string, unknown>>();
    return row ?? {};
  }

  it('match() is RE2 with . matching newline and $ only at the end; lower() is ASCII-only', async () => {
    expect(
      await one(`SELECT match('a\\nvideo\\nb', '^(.*video.*)$') AS dotall, match('push\\n', 'push$') AS dollar,
                 lower('ÄBC\u212A') AS lowered, match('éshop', '^(.*(([^a-df-z]|^)shop|shopping).*)$') AS shop`),
    ).toEqual({ dotall: 1, dollar: 0, lowered: 'Äbc\u212A', shop: 1 });
  });

  it('NULL operands make conditions NULL, and NOT NULL is NULL', async () => {
    const n = "CAST(NULL, 'Nullable(String)')";
    expect(
      await one(`SELECT ${n} IN ('cpc') AS inn, startsWith(${n}, 'paid') AS sw, match(${n}, 'x') AS m,
                 ${n} = '$direct' AS eq, (${n} = 'x') OR 0 AS orr, NOT (${n} = 'x') AS nott,
                 multiIf(${n} = 'x', 'then', 'else') AS mi`),
    ).toEqual({ inn: null, sw: null, m: null, eq: null, orr: null, nott: null, mi: 'else' });
  });

  it('registrableDomain agrees with cutToFirstSignificantSubdomain on the listed sites and suffixes', async () => {
    // Not used by the SQL (it reads the precomputed sites), but PostHog uses the ClickHouse
    // function: on our own keys and suffixes the approximation must give the same answer.
    const hosts = [
      ...[...SOURCE_CATEGORY_BY_KEY.keys()]
        .filter((k) => k.includes('.'))
        .flatMap((k) => [k, `www.${k}`, `sub.${k}`, `https://a.b.${k}/x`]),
      ...SECOND_LEVEL_SUFFIXES.flatMap((s) => [`y.${s}`, `x.y.${s}`]),
    ];
    const rs = await db.handle.client.query({
      query: 'SELECT h, cutToFirstSignificantSubdomain(h) AS c FROM (SELECT arrayJoin({hosts:Array(String)}) AS h)',
      query_params: { hosts },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ h: string; c: string }>();
    expect(rows.length).toBe(hosts.length);
    const differ = rows.filter((r) => r.c !== registrableDomain(r.h)).map((r) => ({ ...r, ours: registrableDomain(r.h) }));
    // com.bd and com.be are not public suffixes for ClickHouse either, see domains.ts
    expect(differ).toEqual([]);
  });
});

/** The string columns custom rules read in these tests (the view passes CHANNEL_RULE_COLUMNS). */
const RULE_COLUMNS = ['entry_utm_source', 'entry_utm_medium', 'entry_current_url', 'entry_pathname', 'entry_hostname'] as const;
type RuleRow = Record<(typeof RULE_COLUMNS)[number], string | null>;

function rulesOf(json: unknown): ChannelRules {
  const parsed = parseChannelRules(json, RULE_COLUMNS);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.rules;
}

/** Values that are hard to keep equal between JavaScript and ClickHouse. */
const HOSTILE = [
  "it's",
  "'; DROP TABLE x; --",
  'back\\slash',
  '\\',
  "\\'",
  '%',
  '_',
  'a%b',
  'a_b',
  'line\nbreak',
  'nul\u0000byte',
  'tab\there',
  '😀',
  'x😀y',
  'École',
  'école',
  'ÉCOLE',
  'K\u212A',
  'Straße',
  '',
  ' ',
  'null',
  'NULL',
  'https://www.google.com:3000/Some/Path?q=1#x',
  '/some/path',
  '/Some/Path',
  'google.com',
];

const REGEXES = [
  '^/some/path$',
  '(?i)^/some/path$',
  '^.$',
  '^..$',
  'a.b',
  '\\pL+',
  '^\\p{Greek}',
  '[[:upper:]]',
  '[[:^alpha:]]',
  '\\d',
  '\\s',
  '\\bpath\\b',
  '\\Qa.b\\E',
  '(?P<n>oo)g',
  '^\\x{1F600}$',
  '\\x{212A}',
  '(?s:.)break',
  '(?i)ß',
  '(?i)straSSe',
  '(?i)école',
  '\\\\',
  "'",
  '\\x00',
  '^$',
  '\\A/',
  'Path\\z',
  '[^a-z]',
  'x{2,3}',
  '(a|b)*c',
  '',
];

describe('custom channel rules on the real ClickHouse engine', () => {
  let db: TestDatabase;
  let table: string;

  beforeAll(async () => {
    db = await testDatabase('channel_rules');
    table = `${db.database}.rows`;
    await db.handle.client.command({
      query: `CREATE TABLE ${table} (
        id UInt32, team_id Int64,
        utm_source Nullable(String), utm_medium Nullable(String), utm_campaign Nullable(String),
        referring_domain Nullable(String), has_gclid Bool, gad_source Nullable(String),
        has_fbclid Bool, source_site Nullable(String), referring_site Nullable(String),
        ${RULE_COLUMNS.map((c) => `${c} Nullable(String)`).join(', ')}
      ) ENGINE = MergeTree ORDER BY id`,
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  async function expectAgreement(rules: ChannelRules, rows: readonly { team: number; input: ChannelInput; row: RuleRow }[], first: number) {
    await db.handle.client.insert({
      table,
      values: rows.map((r, n) => ({ ...toRow(first + n, r.input), team_id: r.team, ...r.row })),
      format: 'JSONEachRow',
    });
    const sql = channelTypeSql(COLUMNS, { rules, teamId: 'team_id', columns: RULE_COLUMNS });
    const rs = await db.handle.client.query({
      query: `SELECT id, ${sql} AS channel FROM ${table} WHERE id >= ${first} AND id < ${first + rows.length} ORDER BY id`,
      format: 'JSONEachRow',
    });
    const actual = new Map((await rs.json<{ id: number; channel: string }>()).map((r) => [r.id, r.channel]));
    expect(actual.size).toBe(rows.length);
    const mismatches = rows.flatMap((r, n) => {
      const ts = channelTypeWithRules(r.input, { rules: rules.get(r.team) ?? [], columns: (c) => r.row[c as keyof RuleRow] ?? null });
      const got = actual.get(first + n);
      return got === ts ? [] : [{ team: r.team, row: r.row, ts, sql: got }];
    });
    expect(mismatches.slice(0, 10), `${mismatches.length} of ${rows.length} rows disagree`).toEqual([]);
    return rows.map((_, n) => actual.get(first + n));
  }

  function rowOf(p: Properties): RuleRow {
    const url = p['$current_url'] === undefined ? null : String(p['$current_url']);
    return {
      entry_utm_source: p['utm_source'] === undefined ? null : String(p['utm_source']),
      entry_utm_medium: p['utm_medium'] === undefined ? null : String(p['utm_medium']),
      entry_current_url: url,
      entry_pathname: url === null ? null : new URL(url).pathname,
      entry_hostname: url === null ? null : new URL(url).hostname,
    };
  }

  it("gives PostHog's expected custom channel types (test_custom_channel_type)", async () => {
    const rules = rulesOf(Object.fromEntries(POSTHOG_CUSTOM_CASES.map((c, n) => [String(n + 1), c.rules])));
    const rows = POSTHOG_CUSTOM_CASES.map((c, n) => ({ team: n + 1, input: inputOf(c.properties), row: rowOf(c.properties) }));
    const got = await expectAgreement(rules, rows, 1);
    expect(got).toEqual(POSTHOG_CUSTOM_CASES.map((c) => c.expected));
  });

  it('agrees with channelType on every operator over hostile values and RE2 features, per team', async () => {
    const ops = ['exact', 'is_not', 'icontains', 'not_icontains', 'is_set', 'is_not_set'] as const;
    const teams: Record<string, unknown[]> = {};
    let team = 100;
    // one team per (operator, value): the rule's label says which, so each row answers every rule
    for (const op of ops) {
      for (const value of op.startsWith('is_s') || op.startsWith('is_not_s') ? [undefined] : HOSTILE) {
        teams[String(team++)] = [
          {
            channel_type: `${op} ${JSON.stringify(value)}`,
            items: [{ key: 'entry_utm_source', op, ...(value === undefined ? {} : { value }) }],
          },
        ];
      }
    }
    for (const op of ['regex', 'not_regex'] as const) {
      for (const value of REGEXES) {
        teams[String(team++)] = [{ channel_type: `${op} ${JSON.stringify(value)}`, items: [{ key: 'entry_pathname', op, value }] }];
      }
    }
    // combiners, lists, hostile labels, several rules in order
    teams[String(team++)] = [
      {
        channel_type: "It's \\'); DROP TABLE x; -- 😀",
        combiner: 'OR',
        items: [
          { key: 'entry_utm_source', op: 'exact', value: ['%', '_', "it's"] },
          { key: 'entry_pathname', op: 'regex', value: '(?i)^/some' },
        ],
      },
      {
        channel_type: 'second',
        combiner: 'AND',
        items: [
          { key: 'hostname', op: 'icontains', value: 'GOOGLE' },
          { key: 'entry_utm_medium', op: 'is_not_set' },
        ],
      },
      { channel_type: 'skipped list matches all', items: [{ key: 'entry_utm_source', op: 'exact', value: [] }] },
    ];
    const rules = rulesOf(teams);
    const teamIds = [...rules.keys(), 1, 99999];
    const value = fc.option(
      fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 })),
      {
        nil: null,
      },
    );
    const wellFormed = (s: string | null): boolean => s === null || !/\p{Surrogate}/u.test(s);
    const samples = fc.sample(
      fc.record({ source: value, medium: value, url: value, path: value, host: value }).filter((r) => Object.values(r).every(wellFormed)),
      { numRuns: 120, seed: 0xc0de },
    );
    const rows = teamIds.flatMap((t) =>
      samples.map((r) => ({
        team: t,
        input: input({ utmSource: r.source, utmMedium: r.medium }),
        row: {
          entry_utm_source: r.source,
          entry_utm_medium: r.medium,
          entry_current_url: r.url,
          entry_pathname: r.path,
          entry_hostname: r.host,
        },
      })),
    );
    expect(rows.length).toBeGreaterThan(20_000);
    const got = await expectAgreement(rules, rows, 10_000);
    // the rules decided often, and the built-in rules decided too
    expect(got.filter((g) => g !== undefined && !(CHANNEL_TYPES as readonly string[]).includes(g)).length).toBeGreaterThan(5_000);
    expect(got.filter((g) => g === 'Unknown' || g === 'Organic Search').length).toBeGreaterThan(100);
  });

  it('the sessions view applies CHANNEL_RULES per team, equal to the oracle, and re-creates when they change', async () => {
    const database = db.database;
    const rules = rulesOf({
      '1': [{ channel_type: 'Google, mine', items: [{ key: 'utm_source', op: 'icontains', value: 'GOOG' }] }],
      '2': [
        { channel_type: 'Pricing page', items: [{ key: 'entry_pathname', op: 'regex', value: '^/pricing' }] },
        {
          channel_type: "Team 2's rest",
          combiner: 'OR',
          items: [
            { key: 'entry_utm_medium', op: 'is_set' },
            { key: 'entry_utm_source', op: 'is_not_set' },
          ],
        },
      ],
    });
    expect(
      [...rules.values()]
        .flat()
        .flatMap((r) => r.conditions.map((c) => c.column))
        .every((c) => (CHANNEL_RULE_COLUMNS as readonly string[]).includes(c)),
    ).toBe(true);
    const first = await migrate(db.handle.client, { database, channelRules: rules });
    expect(first.applied).toEqual(['0002', '0003', '0004', 'R__sessions_view']);
    const events: SessionEvent[] = [];
    for (let s = 0; s < 300; s += 1) {
      for (let i = 0; i < 1 + (s % 4); i += 1)
        events.push(eventFor(1 + (s % 3), s, i, { teams: [1, 2, 3], sessions: 300, uuids: 4, timeSlots: 40 }));
    }
    const buffer = new SessionBuffer();
    for (const e of events) buffer.add(e);
    await new ClickHouseSessionSink(db.handle.client, { schema: { database } }).write(buffer.drain());
    const expected = sessionize(events, { channelRules: rules });
    expect(await readSessions(db.handle.client, database)).toEqual(expected);
    const types = new Set(expected.map((s) => s.channel_type));
    for (const t of ['Google, mine', 'Pricing page', "Team 2's rest"]) expect(types, t).toContain(t);
    expect(expected.filter((s) => s.team_id === 3).every((s) => (CHANNEL_TYPES as readonly string[]).includes(s.channel_type))).toBe(true);

    const unchanged = await migrate(db.handle.client, { database, channelRules: rules });
    expect(unchanged.applied).toEqual([]);
    const removed = await migrate(db.handle.client, { database });
    expect(removed.applied).toEqual(['R__sessions_view']);
    expect(await readSessions(db.handle.client, database)).toEqual(sessionize(events));
  });
});
