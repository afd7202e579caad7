import { describe, expect, it } from 'vitest';
import { registrableDomain } from './domain.js';
import { MEDIUM_CLASSES, SECOND_LEVEL_SUFFIXES, SOURCE_CATEGORY_TYPES, SOURCES_BY_CATEGORY, type SourceCategory } from './domains.js';
import { CHANNEL_TYPES } from './types.js';

const categories = Object.entries(SOURCES_BY_CATEGORY) as [SourceCategory, readonly string[]][];
const allLists: [string, readonly string[]][] = [
  ...categories.map(([c, keys]): [string, readonly string[]] => [`sources.${c}`, keys]),
  ...MEDIUM_CLASSES.map((m): [string, readonly string[]] => [`mediums.${m.organic ?? 'none'}`, m.mediums]),
  ['second-level suffixes', SECOND_LEVEL_SUFFIXES],
];

function duplicates(values: readonly string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

describe('domains.ts', () => {
  it.each(allLists)('%s: every entry is non-empty, trimmed, lowercase ASCII', (_name, values) => {
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(value, value).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/);
      expect(value, value).toBe(value.trim());
      expect(value, value).not.toMatch(/[A-Z]/);
    }
  });

  it.each(allLists)('%s: no duplicates', (_name, values) => {
    expect(duplicates(values)).toEqual([]);
  });

  it('no source key is in two categories', () => {
    expect(duplicates(categories.flatMap(([, keys]) => keys))).toEqual([]);
  });

  it('no medium is in two classes', () => {
    expect(duplicates(MEDIUM_CLASSES.flatMap((m) => m.mediums))).toEqual([]);
  });

  it('source categories and mediums map only to known channel types', () => {
    const known: readonly string[] = CHANNEL_TYPES;
    for (const { paid, organic } of [...Object.values(SOURCE_CATEGORY_TYPES), ...MEDIUM_CLASSES]) {
      if (paid !== null) expect(known).toContain(paid);
      if (organic !== null) expect(known).toContain(organic);
    }
  });

  it('covers the medium classes of the rules', () => {
    const byMedium = new Map(MEDIUM_CLASSES.flatMap((m) => m.mediums.map((medium) => [medium, m] as const)));
    expect(byMedium.get('cpm')).toMatchObject({ paid: 'Display', organic: 'Display' });
    expect(byMedium.get('social media')).toMatchObject({ paid: 'Paid Social', organic: 'Organic Social' });
    expect(byMedium.get('video')).toMatchObject({ paid: 'Paid Video', organic: 'Organic Video' });
    expect(byMedium.get('partnerships')).toMatchObject({ paid: null, organic: 'Affiliate' });
    expect(byMedium.get('link')).toMatchObject({ paid: null, organic: 'Referral' });
    expect(byMedium.get('e mail')).toMatchObject({ paid: null, organic: 'Email' });
    expect(byMedium.get('notification')).toMatchObject({ paid: null, organic: 'Push' });
    expect(byMedium.get('audio')).toMatchObject({ paid: null, organic: 'Audio' });
  });

  it('second-level suffixes have exactly two labels', () => {
    for (const suffix of SECOND_LEVEL_SUFFIXES) expect(suffix, suffix).toMatch(/^[a-z]+\.[a-z]+$/);
  });

  it('every listed country second-level domain is a known suffix (so www.<key> finds <key>)', () => {
    const secondLevel = /^(?:.+\.)?((?:co|com|net|org|ac|gov|gob|ne|or|go|edu)\.[a-z]{2})$/;
    const missing = categories
      .flatMap(([, keys]) => keys)
      .map((key) => secondLevel.exec(key)?.[1])
      .filter((suffix): suffix is string => suffix !== undefined && !SECOND_LEVEL_SUFFIXES.includes(suffix))
      // not public suffixes in ClickHouse either: those keys match exactly only
      .filter((suffix) => !['com.bd', 'com.be'].includes(suffix));
    expect([...new Set(missing)]).toEqual([]);
  });

  it('every two-label or country second-level site is its own registrable domain', () => {
    const site = /^[^.]+\.[^.]+$|^[^.]+\.(?:co|com|net|org|ac|gov|gob|ne|or|go|edu)\.[a-z]{2}$/;
    const keys = categories.flatMap(([, list]) => list).filter((key) => site.test(key) && !/\.com\.b[de]$/.test(key));
    expect(keys.length).toBeGreaterThan(100);
    expect(keys.filter((key) => registrableDomain(`www.${key}`) !== key || registrableDomain(`a.b.${key}`) !== key)).toEqual([]);
  });

  it('has the sites of the brief', () => {
    const has = (category: SourceCategory, ...keys: string[]): void => {
      for (const key of keys) expect(SOURCES_BY_CATEGORY[category], key).toContain(key);
    };
    has('search', 'google', 'google.com', 'google.co.uk', 'bing.com', 'duckduckgo.com', 'search.yahoo.com', 'yandex.ru');
    has('search', 'baidu.com', 'naver.com', 'ecosia.org', 'seznam.cz', 'search.brave.com', 'so.360.cn', 'daum.net');
    has('social', 'facebook', 'fb', 'ig', 'x', 'l.facebook.com', 'lm.facebook.com', 't.co', 'lnkd.in', 'bsky.app');
    has('social', 'news.ycombinator.com', 'old.reddit.com', 'threads.net', 't.me', 'whatsapp.com');
    has('video', 'youtube', 'youtube.com', 'm.youtube.com', 'youtu.be', 'twitch.tv', 'vimeo.com');
    has('shopping', 'amazon', 'amazon.de', 'ebay.co.uk', 'etsy.com', 'shopify.com', 'aliexpress.com');
    has('email', 'email', 'e-mail', 'e_mail', 'e mail', 'mail.google.com', 'outlook.live.com', 'mail.proton.me');
    has('sms', 'sms');
  });
});
