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
import { asciiLower, registrableDomain } from './domain.js';
import { MEDIUM_CLASSES, SOURCE_CATEGORY_TYPES, SOURCES_BY_CATEGORY, type SourceCategory } from './domains.js';
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

function buildSourceCategories(): ReadonlyMap<string, SourceCategory> {
  const map = new Map<string, SourceCategory>();
  for (const [category, keys] of Object.entries(SOURCES_BY_CATEGORY) as [SourceCategory, readonly string[]][]) {
    for (const key of keys) if (!map.has(key)) map.set(key, category);
  }
  return map;
}

function buildMediumTypes(): ReadonlyMap<string, { readonly paid: ChannelType | null; readonly organic: ChannelType | null }> {
  const map = new Map<string, { readonly paid: ChannelType | null; readonly organic: ChannelType | null }>();
  for (const { mediums, paid, organic } of MEDIUM_CLASSES) {
    for (const medium of mediums) if (!map.has(medium)) map.set(medium, { paid, organic });
  }
  return map;
}

/** Every source key of domains.ts with its category, in list order (first listing wins). */
export const SOURCE_CATEGORY_BY_KEY: ReadonlyMap<string, SourceCategory> = buildSourceCategories();
/** Every medium of the medium table with its paid and organic type (first listing wins). */
export const MEDIUM_TYPE_BY_KEY: ReadonlyMap<string, { readonly paid: ChannelType | null; readonly organic: ChannelType | null }> =
  buildMediumTypes();

/** PostHog's `lower(nullIf(nullIf(x, ''), 'null'))`: 'NULL' is not null, it becomes 'null'. */
export function normaliseLower(value: string | null): string | null {
  return value === null || value === '' || value === 'null' ? null : asciiLower(value);
}

/** PostHog's `nullIf(nullIf(x, ''), 'null')`, for gad_source and the click ids. */
export function normaliseKeepCase(value: string | null): string | null {
  return value === null || value === '' || value === 'null' ? null : value;
}

function typeOfSource(kind: AttributionKind, key: string): ChannelType | null {
  const category = SOURCE_CATEGORY_BY_KEY.get(key);
  return category === undefined ? null : SOURCE_CATEGORY_TYPES[category][kind];
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
export function attributionSites(input: ChannelInput): AttributionSites {
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

/** The channel type of a session's entry attribution, exactly as PostHog defines it. */
export function channelType(input: ChannelInput): ChannelType {
  const campaign = normaliseLower(input.utmCampaign);
  const medium = normaliseLower(input.utmMedium);
  const source = normaliseLower(input.utmSource);
  const gadSource = normaliseKeepCase(input.gadSource);
  const hasGclid = normaliseKeepCase(input.gclid) !== null;
  const hasFbclid = normaliseKeepCase(input.fbclid) !== null;
  const referringDomain = input.referringDomain;

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
