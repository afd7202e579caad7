/**
 * PostHog's own assertions (test_channel_type.py, test_sessions_v3.py) against the TypeScript
 * reference; test/integration/channel-sql.test.ts runs the same cases through ClickHouse.
 */
import { describe, expect, it } from 'vitest';
import { POSTHOG_CUSTOM_CASES, POSTHOG_DEFAULT_CASES, inputOf, type Properties } from '../../../../test/support/posthog-channel-cases.js';
import { urlPath } from '../url.js';
import { channelType, defaultChannelType } from './channel-type.js';
import { channelTypeNames, parseChannelRules } from './custom-rules.js';

const COLUMNS = [
  'entry_utm_source',
  'entry_utm_medium',
  'entry_utm_campaign',
  'entry_referring_domain',
  'entry_current_url',
  'entry_pathname',
  'entry_hostname',
];

/** The `sessions` columns of a one-event session with these properties. */
function columnsOf(p: Properties): (column: string) => string | null {
  const url = p['$current_url'] === undefined ? null : String(p['$current_url']);
  const row: Record<string, string | null> = {
    entry_utm_source: p['utm_source'] === undefined ? null : String(p['utm_source']),
    entry_utm_medium: p['utm_medium'] === undefined ? null : String(p['utm_medium']),
    entry_utm_campaign: p['utm_campaign'] === undefined ? null : String(p['utm_campaign']),
    entry_referring_domain: p['$referring_domain'] === undefined ? null : String(p['$referring_domain']),
    entry_current_url: url,
    entry_pathname: urlPath(url),
    entry_hostname: url === null ? null : new URL(url).hostname,
  };
  return (column) => row[column] ?? null;
}

describe("PostHog's test_channel_type.py and test_sessions_v3.py: built-in channel types", () => {
  it.each(POSTHOG_DEFAULT_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(defaultChannelType(inputOf(c.properties))).toBe(c.expected);
    // with no custom rules, channelType is the built-in channel type
    expect(channelType(inputOf(c.properties), { rules: [], columns: columnsOf(c.properties) })).toBe(c.expected);
  });
});

describe("PostHog's test_custom_channel_type", () => {
  it.each(POSTHOG_CUSTOM_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const parsed = parseChannelRules({ '1': c.rules }, COLUMNS);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const rules = parsed.rules.get(1) ?? [];
    expect(channelType(inputOf(c.properties), { rules, columns: columnsOf(c.properties) })).toBe(c.expected);
  });
});

describe("PostHog's test_sessions_v3.py test_custom_channel_types", () => {
  it('lists custom types first, in rule order, without duplicates, then the built-in ones', () => {
    const parsed = parseChannelRules(
      {
        '1': [
          { items: [], combiner: 'AND', channel_type: 'Test Channel Type', id: '1' },
          { items: [], combiner: 'AND', channel_type: 'Paid Social', id: '2' },
          { items: [], combiner: 'AND', channel_type: 'Test Channel Type', id: '3' },
        ],
      },
      COLUMNS,
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    // PostHog's list, plus Display and AI Assistant (which its DefaultChannelTypes omits) before Unknown
    expect(channelTypeNames(parsed.rules.get(1) ?? [])).toEqual([
      'Test Channel Type',
      'Paid Social',
      'Cross Network',
      'Paid Search',
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
    ]);
  });
});
