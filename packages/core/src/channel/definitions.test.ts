import { describe, expect, it } from 'vitest';
import raw from './channel-definitions.json' with { type: 'json' };
import { lookupSourceCategory } from './channel-type.js';
import { CHANNEL_DEFINITIONS, loadChannelDefinitions } from './definitions.js';
import { registrableDomain } from './domain.js';
import { SECOND_LEVEL_SUFFIXES } from './suffixes.js';

const { sourceCategories, categoryTypes, mediumTypes, appSources } = CHANNEL_DEFINITIONS;
const siteKeys = [...sourceCategories.keys()].filter((k) => !appSources.has(k));

function withChange(change: (data: { sources: unknown[][]; mediums: unknown[][]; categories: Record<string, unknown> }) => void): unknown {
  const copy = structuredClone(raw) as unknown as { sources: unknown[][]; mediums: unknown[][]; categories: Record<string, unknown> };
  change(copy);
  return copy;
}

describe('channel-definitions.json', () => {
  it("has the coverage of PostHog's channel_definitions.json: ~1,650 rows, app package ids included", () => {
    expect(sourceCategories.size).toBe(1639);
    expect(mediumTypes.size).toBe(26);
    expect(appSources.size).toBe(394);
    expect(sourceCategories.get('com.google.android.gm')).toBe('Email');
    expect(appSources.has('com.google.android.gm')).toBe(true);
    expect(sourceCategories.get('com.reddit.frontpage')).toBe('Social');
  });

  it('has the AI category PostHog added in 2026: ten AI assistants, organic only', () => {
    const ai = [...sourceCategories].filter(([, c]) => c === 'AI').map(([k]) => k);
    expect(ai.sort()).toEqual([
      'ai.perplexity.app',
      'chatgpt.com',
      'claude.ai',
      'copilot.microsoft.com',
      'gemini.google.com',
      'meta.ai',
      'perplexity.ai',
      'pi.ai',
      'poe.com',
      'you.com',
    ]);
    expect(categoryTypes.get('AI')).toEqual({ paid: null, organic: 'AI Assistant' });
    // other assistants stay where PostHog has them
    expect(sourceCategories.get('chat.deepseek.com')).toBe('Search');
    expect(sourceCategories.get('chat.openai.com')).toBe('Search');
  });

  it('maps every category and medium to built-in channel types; email, SMS, push and AI have no paid type', () => {
    expect([...categoryTypes.keys()]).toEqual(['Search', 'Social', 'Video', 'Shopping', 'Email', 'SMS', 'Push', 'AI']);
    for (const c of ['Email', 'SMS', 'Push', 'AI']) expect(categoryTypes.get(c)?.paid).toBeNull();
    expect(mediumTypes.get('cpm')).toEqual({ paid: 'Display', organic: 'Display' });
    expect(mediumTypes.get('social media')).toEqual({ paid: 'Paid Social', organic: 'Organic Social' });
    expect(mediumTypes.get('partnerships')).toEqual({ paid: null, organic: 'Affiliate' });
    expect(mediumTypes.get('app')).toEqual({ paid: null, organic: 'Referral' });
    expect(mediumTypes.get('mobile')).toEqual({ paid: null, organic: 'Push' });
    expect(sourceCategories.get('firebase')).toBe('Push');
    expect(sourceCategories.get('sms')).toBe('SMS');
  });

  it('rejects a malformed data file, naming the problem', () => {
    const load =
      (json: unknown): (() => unknown) =>
      () =>
        loadChannelDefinitions(json);
    expect(load(withChange((d) => d.sources.push(['google', 'Search'])))).toThrow(/source google: listed twice/);
    expect(load(withChange((d) => d.sources.push(['x.example', 'Nope'])))).toThrow(/unknown category Nope/);
    expect(load(withChange((d) => d.sources.push(['Google.example', 'Search'])))).toThrow(/must be lowercase/);
    expect(load(withChange((d) => d.sources.push([' x', 'Search'])))).toThrow(/surrounding space/);
    expect(load(withChange((d) => d.mediums.push(['cpm', 'Display', 'Display'])))).toThrow(/medium cpm: listed twice/);
    expect(load(withChange((d) => d.mediums.push(['zz', 'Paid Nothing', null])))).toThrow(/mediums\.26\.1/);
    expect(load(withChange((d) => (d.categories['X'] = { paid: null, organic: 'Display', extra: 1 })))).toThrow(/categories/);
  });

  it('every listed country second-level domain is a known suffix (so www.<key> finds <key>)', () => {
    const secondLevel = /^(?:.+\.)?((?:co|com|net|org|ac|gov|gob|ne|or|go|edu)\.[a-z]{2})$/;
    const missing = siteKeys
      .map((k) => secondLevel.exec(k)?.[1])
      .filter((suffix): suffix is string => suffix !== undefined && !SECOND_LEVEL_SUFFIXES.includes(suffix))
      // not public suffixes for ClickHouse either (wildcard rules of the list): exact matches only
      .filter((suffix) => !['com.bd', 'co.ck', 'com.jm', 'com.kh', 'com.mm', 'com.np', 'com.pg'].includes(suffix));
    expect([...new Set(missing)]).toEqual([]);
  });

  it('every two-label or country second-level site is its own registrable domain', () => {
    const site = /^[^.]+\.[^.]+$|^[^.]+\.(?:co|com|net|org|ac|gov|gob|ne|or|go|edu)\.[a-z]{2}$/;
    const keys = siteKeys.filter(
      (k) => site.test(k) && !SECOND_LEVEL_SUFFIXES.includes(k) && !/\.(?:com\.bd|co\.ck|com\.jm|com\.kh|com\.mm|com\.np|com\.pg)$/.test(k),
    );
    expect(keys.length).toBeGreaterThan(500);
    expect(keys.filter((k) => registrableDomain(`www.${k}`) !== k || registrableDomain(`a.b.${k}`) !== k)).toEqual([]);
  });
});

// PostHog's TestReferringDomainType (test_channel_type.py): lookupDomainType of a referring domain.
describe('lookupSourceCategory (PostHog TestReferringDomainType)', () => {
  it.each([
    ['www.google.co.uk', 'Search'],
    ['yahoo.co.jp', 'Search'],
    ['m.alibaba.com', 'Shopping'],
    ['stripe.com', 'Shopping'],
    ['shopping.yahoo.co.jp', 'Shopping'],
    ['lnkd.in', 'Social'],
    ['old.reddit.com', 'Social'],
    ['plus.google.com', 'Social'],
    ['news.ycombinator.com', 'Social'],
  ])('%s is %s', (domain, category) => {
    expect(lookupSourceCategory(domain)).toBe(category);
  });

  it('an unknown domain has none', () => {
    expect(lookupSourceCategory('example.com')).toBeNull();
    expect(lookupSourceCategory(null)).toBeNull();
  });
});
