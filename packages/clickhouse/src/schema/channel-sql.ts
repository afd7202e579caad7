/**
 * PostHog's channel type as one ClickHouse expression, generated from the same lists and rule
 * constants as the TypeScript reference `channelType` in @sessionizer/core; an integration test
 * holds the two equal on the real engine.
 *
 * NULL handling: ClickHouse answers NULL for `NULL IN (...)`, `startsWith(NULL, ...)`,
 * `match(NULL, ...)` and `NULL = '...'`, and NULL survives `AND`/`OR`/`NOT` whenever it could
 * matter. multiIf treats a NULL condition as false, but `NOT` of NULL is NULL, not true, so every
 * condition here is made a plain 0/1 with ifNull(..., 0) first; the reference treats a NULL
 * condition as false throughout.
 *
 * The registrable-domain fallback of the source lookups reads the precomputed `sourceSite` and
 * `referringSite` columns (attributionSites in @sessionizer/core, computed at ingestion) instead
 * of ClickHouse's cutToFirstSignificantSubdomain, which disagrees with it on bare names, trailing
 * dots and private suffixes.
 *
 * The source lists are embedded as two-step transform() lookups: key → category number (one
 * hash lookup on the long key list), then category number → channel type. The key list is
 * repeated textually per use, but identical subexpressions are computed once per block.
 */
import {
  CHANNEL_PATTERNS,
  DIRECT_REFERRING_DOMAIN,
  DIRECT_SOURCES,
  MEDIUM_TYPE_BY_KEY,
  PAID_MEDIUMS,
  SOURCE_CATEGORY_BY_KEY,
  SOURCE_CATEGORY_TYPES,
  type AttributionKind,
  type ChannelType,
  type SourceCategory,
} from '@sessionizer/core';

/**
 * SQL expressions (column names or any expression) of type Nullable(String), NULL = absent.
 * The utm values, gclid, gad_source and fbclid are the raw stored values; the rules normalise
 * them. `sourceSite`/`referringSite` are what attributionSites computed for the same row.
 */
export interface ChannelSqlColumns {
  readonly utmSource: string;
  readonly utmMedium: string;
  readonly utmCampaign: string;
  readonly referringDomain: string;
  readonly gclid: string;
  readonly gadSource: string;
  readonly fbclid: string;
  readonly sourceSite: string;
  readonly referringSite: string;
}

/**
 * A ClickHouse single-quoted string literal. Backslash escapes are live inside ClickHouse
 * literals, so backslash and quote are escaped, and control characters are written as \xHH.
 */
export function clickHouseStringLiteral(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

function stringArray(values: readonly string[]): string {
  return `[${values.map(clickHouseStringLiteral).join(', ')}]`;
}

const CATEGORIES = Object.keys(SOURCE_CATEGORY_TYPES) as SourceCategory[];

function categoryNumber(category: SourceCategory): number {
  return CATEGORIES.indexOf(category) + 1;
}

const SOURCE_KEYS = [...SOURCE_CATEGORY_BY_KEY.keys()];
const SOURCE_KEY_ARRAY = stringArray(SOURCE_KEYS);
const SOURCE_CATEGORY_ARRAY = `[${SOURCE_KEYS.map((key) => {
  const category = SOURCE_CATEGORY_BY_KEY.get(key);
  if (category === undefined) throw new Error(`unreachable: ${key}`);
  return categoryNumber(category);
}).join(', ')}]`;

/** The category number (0 = unlisted) of a String (not Nullable) expression. */
function sourceCategorySql(key: string): string {
  return `transform(${key}, ${SOURCE_KEY_ARRAY}, ${SOURCE_CATEGORY_ARRAY}, 0)`;
}

/** Nullable(String): the `kind` type of a category number, NULL when it has none. */
function categoryTypeSql(kind: AttributionKind, category: string): string {
  const typed = CATEGORIES.flatMap((c) => {
    const type = SOURCE_CATEGORY_TYPES[c][kind];
    return type === null ? [] : [{ number: categoryNumber(c), type }];
  });
  const numbers = `[${typed.map((t) => t.number).join(', ')}]`;
  return `nullIf(transform(${category}, ${numbers}, ${stringArray(typed.map((t) => t.type))}, ''), '')`;
}

/** lookup{Paid,Organic}SourceType: exact key first, then its registrable domain. */
function lookupSourceSql(kind: AttributionKind, value: string, site: string): string {
  return (
    `coalesce(${categoryTypeSql(kind, sourceCategorySql(`coalesce(${value}, '')`))}, ` +
    `${categoryTypeSql(kind, sourceCategorySql(`coalesce(${site}, '')`))})`
  );
}

/** lookup{Paid,Organic}MediumType: exact match on the medium table. */
function lookupMediumSql(kind: AttributionKind, medium: string): string {
  const entries: { medium: string; type: ChannelType }[] = [];
  for (const [key, types] of MEDIUM_TYPE_BY_KEY) {
    const type = types[kind];
    if (type !== null) entries.push({ medium: key, type });
  }
  return (
    `nullIf(transform(coalesce(${medium}, ''), ${stringArray(entries.map((e) => e.medium))}, ` +
    `${stringArray(entries.map((e) => e.type))}, ''), '')`
  );
}

/** A condition that is 0 instead of NULL. */
function truthy(condition: string): string {
  return `ifNull(${condition}, 0)`;
}

function matchSql(value: string, pattern: string): string {
  return truthy(`match(${value}, ${clickHouseStringLiteral(pattern)})`);
}

/** One ClickHouse expression of type String: the PostHog channel type of the row. */
export function channelTypeSql(cols: ChannelSqlColumns): string {
  const raw = (expr: string): string => `(${expr})`;
  const keepCase = (expr: string): string => `nullIf(nullIf(${raw(expr)}, ''), 'null')`;
  const lowered = (expr: string): string => `lower(${keepCase(expr)})`;

  const campaign = lowered(cols.utmCampaign);
  const medium = lowered(cols.utmMedium);
  const source = lowered(cols.utmSource);
  const gadSource = keepCase(cols.gadSource);
  const hasGclid = `isNotNull(${keepCase(cols.gclid)})`;
  const hasFbclid = `isNotNull(${keepCase(cols.fbclid)})`;
  const referringDomain = raw(cols.referringDomain);
  const sourceSite = raw(cols.sourceSite);
  const referringSite = raw(cols.referringSite);
  const lit = clickHouseStringLiteral;

  const isPaid = [
    truthy(`${medium} IN (${PAID_MEDIUMS.map(lit).join(', ')})`),
    truthy(`startsWith(${medium}, 'paid')`),
    hasGclid,
    `isNotNull(${gadSource})`,
  ].join('\n    OR ');
  const isDirect = [
    truthy(`${referringDomain} = ${lit(DIRECT_REFERRING_DOMAIN)}`),
    `isNull(${medium})`,
    `(isNull(${source}) OR ${truthy(`${source} IN (${DIRECT_SOURCES.map(lit).join(', ')})`)})`,
    `NOT ${hasFbclid}`,
  ].join('\n    AND ');

  const paidResult = [
    lookupSourceSql('paid', source, sourceSite),
    `if(${matchSql(campaign, CHANNEL_PATTERNS.shopping)}, 'Paid Shopping', NULL)`,
    lookupMediumSql('paid', medium),
    lookupSourceSql('paid', referringDomain, referringSite),
    `multiIf(${truthy(`${gadSource} = '1'`)}, 'Paid Search', ` +
      `${matchSql(campaign, CHANNEL_PATTERNS.video)}, 'Paid Video', ` +
      `${hasFbclid}, 'Paid Social', 'Paid Unknown')`,
  ].join(',\n      ');
  const organicResult = [
    lookupSourceSql('organic', source, sourceSite),
    `if(${matchSql(campaign, CHANNEL_PATTERNS.shopping)}, 'Organic Shopping', NULL)`,
    lookupMediumSql('organic', medium),
    lookupSourceSql('organic', referringDomain, referringSite),
    `multiIf(${matchSql(campaign, CHANNEL_PATTERNS.video)}, 'Organic Video', ` +
      `${matchSql(medium, CHANNEL_PATTERNS.push)}, 'Push', ` +
      `${hasFbclid}, 'Organic Social', ` +
      `${truthy(`${referringDomain} = ${lit(DIRECT_REFERRING_DOMAIN)}`)}, 'Direct', ` +
      `isNotNull(${referringDomain}), 'Referral', 'Unknown')`,
  ].join(',\n      ');

  return [
    'multiIf(',
    `  ${matchSql(campaign, CHANNEL_PATTERNS.crossNetwork)}, 'Cross Network',`,
    `  ${isPaid},`,
    `    coalesce(\n      ${paidResult}),`,
    `  ${isDirect}, 'Direct',`,
    `    coalesce(\n      ${organicResult}))`,
  ].join('\n');
}
