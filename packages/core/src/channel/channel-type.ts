/**
 * PostHog's built-in channel type, in TypeScript: the reference implementation. The ClickHouse
 * expression `channelTypeSql` (@sessionizer/clickhouse) computes the same thing and an
 * integration test holds the two equal on the real engine.
 *
 * Every step mirrors the SQL, including its NULL semantics: a comparison, `IN` or `match` with a
 * NULL operand is NULL, which multiIf treats as false, and that is `false` here. `lower` in
 * ClickHouse lowercases ASCII only, hence asciiLower. ClickHouse regular expressions are RE2 with
 * `.` matching newlines too, hence the `s` flag; `$` is the end of the text in both.
 */
import { CHANNEL_DEFINITIONS, type ChannelTypePair } from './definitions.js';
import { customChannelType, type ChannelRule, type ChannelRuleColumns } from './custom-rules.js';
import { asciiLower, registrableDomain } from './domain.js';
import type { ChannelInput, ChannelType } from './types.js';

export type AttributionKind = 'paid' | 'organic';

/** Mediums that make a visit paid on their own (besides any medium starting with `paid`). */
export const PAID_MEDIUMS: readonly string[] = ['cpc', 'cpm', 'cpv', 'cpa', 'ppc', 'retargeting'];
/** Sources that still count as direct traffic. */
export const DIRECT_SOURCES: readonly string[] = ['(direct)', 'direct', '$direct'];
/** The referring domain PostHog records for a visit without a referrer. */
export const DIRECT_REFERRING_DOMAIN = '$direct';

/** The regular expressions of the rules, in RE2 syntax (valid JavaScript with the `s` flag). */
export const CHANNEL_PATTERNS = {
  crossNetwork: 'cross-network',
  shopping: '^(.*(([^a-df-z]|^)shop|shopping).*)$',
  video: '^(.*video.*)$',
  push: 'push$',
} as const;

const REGEX = {
  crossNetwork: new RegExp(CHANNEL_PATTERNS.crossNetwork, 's'),
  shopping: new RegExp(CHANNEL_PATTERNS.shopping, 's'),
  video: new RegExp(CHANNEL_PATTERNS.video, 's'),
  push: new RegExp(CHANNEL_PATTERNS.push, 's'),
};

/** Every source key of channel-definitions.json with its category, in file order. */
export const SOURCE_CATEGORY_BY_KEY: ReadonlyMap<string, string> = CHANNEL_DEFINITIONS.sourceCategories;
/** The paid and organic channel type of each source category. */
export const SOURCE_CATEGORY_TYPES: ReadonlyMap<string, ChannelTypePair> = CHANNEL_DEFINITIONS.categoryTypes;
/** Every medium of the medium table with its paid and organic type. */
export const MEDIUM_TYPE_BY_KEY: ReadonlyMap<string, ChannelTypePair> = CHANNEL_DEFINITIONS.mediumTypes;

/** PostHog's `lower(nullIf(nullIf(x, ''), 'null'))`: 'NULL' is not null, it becomes 'null'. */
export function normaliseLower(value: string | null): string | null {
  return value === null || value === '' || value === 'null' ? null : asciiLower(value);
}

/** PostHog's `nullIf(nullIf(x, ''), 'null')`, for gad_source and the click ids. */
export function normaliseKeepCase(value: string | null): string | null {
  return value === null || value === '' || value === 'null' ? null : value;
}

/**
 * has_gclid / has_fbclid of the channel input: the click id is there, '' and the string 'null'
 * counting as absent, as PostHog's v2 sessions and person-initial channel type
 * (`isNotNull(nullIf(nullIf(gclid, ''), 'null'))`) count them. PostHog v3 stores
 * `gclid IS NOT NULL` of the raw property, where '' and 'null' are present (docs/sessions.md).
 */
export function hasClickId(value: string | null): boolean {
  return normaliseKeepCase(value) !== null;
}

function typeOfSource(kind: AttributionKind, key: string): ChannelType | null {
  const category = SOURCE_CATEGORY_BY_KEY.get(key);
  return category === undefined ? null : (SOURCE_CATEGORY_TYPES.get(category)?.[kind] ?? null);
}

/**
 * PostHog's lookupDomainType: the category (Search, Social, …) of a source or referring domain,
 * by exact key, else by its registrable domain; null when neither is listed.
 */
export function lookupSourceCategory(value: string | null): string | null {
  const key = value ?? '';
  return SOURCE_CATEGORY_BY_KEY.get(key) ?? SOURCE_CATEGORY_BY_KEY.get(registrableDomain(key)) ?? null;
}

/**
 * PostHog's lookupPaidSourceType / lookupOrganicSourceType: the type of the source `value`
 * (already normalised by the caller; referring_domain is passed raw), by exact match, else by
 * its registrable domain. Null when neither is listed, or when the category has no such kind
 * (paid email, paid SMS).
 */
export function lookupSource(kind: AttributionKind, value: string | null): ChannelType | null {
  const key = value ?? '';
  return typeOfSource(kind, key) ?? typeOfSource(kind, registrableDomain(key));
}

/** PostHog's lookupPaidMediumType / lookupOrganicMediumType: exact match on the medium table. */
export function lookupMedium(kind: AttributionKind, value: string | null): ChannelType | null {
  return MEDIUM_TYPE_BY_KEY.get(value ?? '')?.[kind] ?? null;
}

export interface AttributionSites {
  /** registrableDomain of the normalised (lowercased) utm_source; null when that is ''. */
  readonly sourceSite: string | null;
  /** registrableDomain of the raw referring domain (case kept); null when that is ''. */
  readonly referringSite: string | null;
}

/**
 * The registrable domains the source lookups fall back on, computed at ingestion and stored
 * next to the attribution, because the SQL expression cannot compute them the same way.
 */
export function attributionSites(input: Pick<ChannelInput, 'utmSource' | 'referringDomain'>): AttributionSites {
  const sourceSite = registrableDomain(normaliseLower(input.utmSource) ?? '');
  const referringSite = registrableDomain(input.referringDomain ?? '');
  return {
    sourceSite: sourceSite === '' ? null : sourceSite,
    referringSite: referringSite === '' ? null : referringSite,
  };
}

function matches(value: string | null, pattern: RegExp): boolean {
  return value !== null && pattern.test(value);
}

/** The built-in channel type of a session's entry attribution, exactly as PostHog defines it. */
export function defaultChannelType(input: ChannelInput): ChannelType {
  const campaign = normaliseLower(input.utmCampaign);
  const medium = normaliseLower(input.utmMedium);
  const source = normaliseLower(input.utmSource);
  const gadSource = normaliseKeepCase(input.gadSource);
  const { hasGclid, hasFbclid, referringDomain } = input;

  if (matches(campaign, REGEX.crossNetwork)) return 'Cross Network';

  const shoppingCampaign = matches(campaign, REGEX.shopping);
  const videoCampaign = matches(campaign, REGEX.video);

  const paid = (medium !== null && (PAID_MEDIUMS.includes(medium) || medium.startsWith('paid'))) || hasGclid || gadSource !== null;
  if (paid) {
    return (
      lookupSource('paid', source) ??
      (shoppingCampaign ? 'Paid Shopping' : null) ??
      lookupMedium('paid', medium) ??
      lookupSource('paid', referringDomain) ??
      (gadSource === '1' ? 'Paid Search' : videoCampaign ? 'Paid Video' : hasFbclid ? 'Paid Social' : 'Paid Unknown')
    );
  }

  if (
    referringDomain === DIRECT_REFERRING_DOMAIN &&
    medium === null &&
    (source === null || DIRECT_SOURCES.includes(source)) &&
    !hasFbclid
  ) {
    return 'Direct';
  }

  return (
    lookupSource('organic', source) ??
    (shoppingCampaign ? 'Organic Shopping' : null) ??
    lookupMedium('organic', medium) ??
    lookupSource('organic', referringDomain) ??
    (videoCampaign
      ? 'Organic Video'
      : matches(medium, REGEX.push)
        ? 'Push'
        : hasFbclid
          ? 'Organic Social'
          : referringDomain === DIRECT_REFERRING_DOMAIN
            ? 'Direct'
            : referringDomain !== null
              ? 'Referral'
              : 'Unknown')
  );
}

/** A team's custom rules and the session's `sessions` columns they read. */
export interface CustomChannel {
  readonly rules: readonly ChannelRule[];
  readonly columns: ChannelRuleColumns;
}

/**
 * The channel type of a session: the first matching custom rule of its team (PostHog's custom
 * channel types), else the built-in rules (`coalesce(custom, default)` in PostHog and in SQL).
 */
export function channelType(input: ChannelInput, custom?: CustomChannel): string {
  const chosen = custom === undefined || custom.rules.length === 0 ? null : customChannelType(custom.rules, custom.columns);
  return chosen ?? defaultChannelType(input);
}
