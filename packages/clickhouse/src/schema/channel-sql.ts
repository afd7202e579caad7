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
 * written once, as an aliased array literal that the other lookups refer to.
 */
import {
  CHANNEL_PATTERNS,
  DIRECT_REFERRING_DOMAIN,
  DIRECT_SOURCES,
  MEDIUM_TYPE_BY_KEY,
  PAID_MEDIUMS,
  SOURCE_CATEGORY_BY_KEY,
  SOURCE_CATEGORY_TYPES,
  asciiLower,
  type AttributionKind,
  type ChannelCondition,
  type ChannelRule,
  type ChannelRules,
  type ChannelType,
} from '@sessionizer/core';

/**
 * SQL expressions (column names or any expression) of PostHog's channel input. The utm values,
 * the referring domain and gad_source are Nullable(String) (NULL = absent), the raw stored values;
 * the rules normalise them. hasGclid/hasFbclid are Bool. `sourceSite`/`referringSite` are what
 * attributionSites computed for the same row.
 */
export interface ChannelSqlColumns {
  readonly utmSource: string;
  readonly utmMedium: string;
  readonly utmCampaign: string;
  readonly referringDomain: string;
  readonly hasGclid: string;
  readonly hasFbclid: string;
  readonly gadSource: string;
  readonly sourceSite: string;
  readonly referringSite: string;
}

/** Custom channel rules in SQL: per team, first match wins, then the built-in rules. */
export interface CustomChannelSql {
  readonly rules: ChannelRules;
  /** SQL of the row's team_id. */
  readonly teamId: string;
  /** The string columns a condition may read (the view passes its list: CHANNEL_RULE_COLUMNS). */
  readonly columns: readonly string[];
  /** SQL of a column; default: its name (a column or alias of the SELECT the expression is in). */
  readonly column?: (name: string) => string;
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

const CATEGORIES = [...SOURCE_CATEGORY_TYPES.keys()];

function categoryNumber(category: string): number {
  return CATEGORIES.indexOf(category) + 1;
}

const SOURCE_KEYS = [...SOURCE_CATEGORY_BY_KEY.keys()];
const SOURCE_KEY_ARRAY = stringArray(SOURCE_KEYS);
const SOURCE_CATEGORY_ARRAY = `[${SOURCE_KEYS.map((key) => {
  const category = SOURCE_CATEGORY_BY_KEY.get(key);
  if (category === undefined) throw new Error(`unreachable: ${key}`);
  return categoryNumber(category);
}).join(', ')}]`;

/**
 * The source key list is ~30 KB of SQL: written once per expression, as an alias of the array
 * literals the later lookups refer to (ClickHouse's max_query_size is 256 KiB for the whole
 * CREATE VIEW). `aliases` says whether this is the first lookup of the expression.
 */
const KEYS_ALIAS = '__channel_source_keys';
const CATEGORIES_ALIAS = '__channel_source_categories';

/** The category number (0 = unlisted) of a String (not Nullable) expression. */
function sourceCategorySql(key: string, first: boolean): string {
  return first
    ? `transform(${key}, (${SOURCE_KEY_ARRAY} AS ${KEYS_ALIAS}), (${SOURCE_CATEGORY_ARRAY} AS ${CATEGORIES_ALIAS}), 0)`
    : `transform(${key}, ${KEYS_ALIAS}, ${CATEGORIES_ALIAS}, 0)`;
}

/** Nullable(String): the `kind` type of a category number, NULL when it has none. */
function categoryTypeSql(kind: AttributionKind, category: string): string {
  const typed = CATEGORIES.flatMap((c) => {
    const type = SOURCE_CATEGORY_TYPES.get(c)?.[kind] ?? null;
    return type === null ? [] : [{ number: categoryNumber(c), type }];
  });
  const numbers = `[${typed.map((t) => t.number).join(', ')}]`;
  return `nullIf(transform(${category}, ${numbers}, ${stringArray(typed.map((t) => t.type))}, ''), '')`;
}

/** lookup{Paid,Organic}SourceType: exact key first, then its registrable domain. */
function lookupSourceSql(kind: AttributionKind, value: string, site: string, first: boolean): string {
  return (
    `coalesce(${categoryTypeSql(kind, sourceCategorySql(`coalesce(${value}, '')`, first))}, ` +
    `${categoryTypeSql(kind, sourceCategorySql(`coalesce(${site}, '')`, false))})`
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

/** One ClickHouse expression of type String: PostHog's built-in channel type of the row. */
export function defaultChannelTypeSql(cols: ChannelSqlColumns): string {
  const raw = (expr: string): string => `(${expr})`;
  const keepCase = (expr: string): string => `nullIf(nullIf(${raw(expr)}, ''), 'null')`;
  const lowered = (expr: string): string => `lower(${keepCase(expr)})`;

  const campaign = lowered(cols.utmCampaign);
  const medium = lowered(cols.utmMedium);
  const source = lowered(cols.utmSource);
  const gadSource = keepCase(cols.gadSource);
  const hasGclid = truthy(raw(cols.hasGclid));
  const hasFbclid = truthy(raw(cols.hasFbclid));
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

  // the first lookup (in the text) defines the aliases of the key list, the others refer to them
  const paidResult = [
    lookupSourceSql('paid', source, sourceSite, true),
    `if(${matchSql(campaign, CHANNEL_PATTERNS.shopping)}, 'Paid Shopping', NULL)`,
    lookupMediumSql('paid', medium),
    lookupSourceSql('paid', referringDomain, referringSite, false),
    `multiIf(${truthy(`${gadSource} = '1'`)}, 'Paid Search', ` +
      `${matchSql(campaign, CHANNEL_PATTERNS.video)}, 'Paid Video', ` +
      `${hasFbclid}, 'Paid Social', 'Paid Unknown')`,
  ].join(',\n      ');
  const organicResult = [
    lookupSourceSql('organic', source, sourceSite, false),
    `if(${matchSql(campaign, CHANNEL_PATTERNS.shopping)}, 'Organic Shopping', NULL)`,
    lookupMediumSql('organic', medium),
    lookupSourceSql('organic', referringDomain, referringSite, false),
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

/** One condition as SQL: 0/1, never NULL, exactly as conditionHolds (@sessionizer/core) decides. */
function conditionSql(op: ChannelCondition['op'], col: string, value: string): string {
  const lit = clickHouseStringLiteral;
  switch (op) {
    case 'exact':
      return truthy(`${col} = ${lit(value)}`);
    case 'is_not':
      return `ifNull(${col} != ${lit(value)}, 1)`;
    case 'icontains':
      return truthy(`position(lower(${col}), ${lit(asciiLower(value))}) > 0`);
    case 'not_icontains':
      return `ifNull(position(lower(${col}), ${lit(asciiLower(value))}) = 0, 1)`;
    case 'regex':
      return truthy(`match(${col}, ${lit(value)})`);
    case 'not_regex':
      return `ifNull(NOT match(${col}, ${lit(value)}), 1)`;
    case 'is_set':
      return `isNotNull(${col})`;
    case 'is_not_set':
      return `isNull(${col})`;
  }
}

function ruleSql(rule: ChannelRule, custom: CustomChannelSql, allowed: ReadonlySet<string>): string {
  const parts: string[] = [];
  for (const c of rule.conditions) {
    if (!allowed.has(c.column))
      throw new Error(`custom channel rule ${JSON.stringify(rule.channelType)} reads ${c.column}, not a string column of the view`);
    if (c.values !== undefined && c.values.length === 0) continue;
    const col = `(${custom.column?.(c.column) ?? c.column})`;
    const alternatives = (c.values ?? ['']).map((v) => conditionSql(c.op, col, v));
    parts.push(alternatives.length === 1 ? (alternatives[0] ?? '1') : `(${alternatives.join(' OR ')})`);
  }
  if (parts.length === 0) return '1';
  return `(${parts.join(rule.combiner === 'AND' ? ' AND ' : ' OR ')})`;
}

/** Nullable(String): the first matching custom rule of the row's team; NULL when none matches. */
export function customChannelTypeSql(custom: CustomChannelSql): string {
  const allowed = new Set(custom.columns);
  const teams: string[] = [];
  for (const [team, rules] of custom.rules) {
    if (!Number.isSafeInteger(team) || team < 0)
      throw new Error(`team_id ${team} of the custom channel rules is not a non-negative integer`);
    if (rules.length === 0) continue;
    const branches = rules.flatMap((rule) => [ruleSql(rule, custom, allowed), clickHouseStringLiteral(rule.channelType)]);
    teams.push(`${truthy(`(${custom.teamId}) = ${team}`)}, multiIf(${branches.join(', ')}, NULL)`);
  }
  return teams.length === 0 ? "CAST(NULL, 'Nullable(String)')" : `multiIf(${teams.join(',\n  ')}, NULL)`;
}

/**
 * One ClickHouse expression of type String: the channel type of the row, the first matching
 * custom rule of its team (when `custom` has rules), else the built-in rules.
 */
export function channelTypeSql(cols: ChannelSqlColumns, custom?: CustomChannelSql): string {
  const builtIn = defaultChannelTypeSql(cols);
  if (custom === undefined || [...custom.rules.values()].every((rules) => rules.length === 0)) return builtIn;
  return `assumeNotNull(coalesce(\n${customChannelTypeSql(custom)},\n${builtIn}))`;
}
