/**
 * The attribution of a session's entry event, as stored: absent values are null (ingestion
 * turns '' into null), otherwise the raw property value, untouched. The channel rules apply
 * PostHog's own normalisation (nullIf '' / 'null', then lower) themselves.
 */
export interface ChannelInput {
  readonly utmSource: string | null;
  readonly utmMedium: string | null;
  readonly utmCampaign: string | null;
  readonly referringDomain: string | null;
  readonly gclid: string | null;
  readonly gadSource: string | null;
  readonly fbclid: string | null;
}

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
  'Unknown',
] as const;

export type ChannelType = (typeof CHANNEL_TYPES)[number];
