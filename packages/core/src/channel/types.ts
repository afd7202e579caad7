/**
 * The attribution of a session's entry event that the channel type reads: PostHog v3's
 * `entry_channel_type_properties` tuple (utm_source, utm_medium, utm_campaign, referring domain,
 * has_gclid, has_fbclid, gad_source), all from the first page-like event as a whole. Strings are
 * the raw property values (absent: null; ingestion turns '' into null); the rules apply
 * PostHog's own normalisation (nullIf '' / 'null', then lower) themselves. The click ids are
 * booleans, as v3 stores them (`hasClickId` says how they are computed here).
 */
export interface ChannelInput {
  readonly utmSource: string | null;
  readonly utmMedium: string | null;
  readonly utmCampaign: string | null;
  readonly referringDomain: string | null;
  readonly hasGclid: boolean;
  readonly hasFbclid: boolean;
  readonly gadSource: string | null;
}

/**
 * The built-in channel types, in PostHog's order (DefaultChannelTypes), plus the two the rules
 * produce that PostHog's list omits: Display (the medium table's paid/organic display mediums)
 * and AI Assistant (the 2026 AI source category).
 */
export const CHANNEL_TYPES = [
  'Cross Network',
  'Paid Search',
  'Paid Social',
  'Paid Video',
  'Paid Shopping',
  'Paid Unknown',
  'Direct',
  'Organic Search',
  'Organic Social',
  'Organic Video',
  'Organic Shopping',
  'Push',
  'SMS',
  'Audio',
  'Email',
  'Referral',
  'Affiliate',
  'Display',
  'AI Assistant',
  'Unknown',
] as const;

export type ChannelType = (typeof CHANNEL_TYPES)[number];
