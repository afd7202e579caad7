import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiLower, registrableDomain } from './domain.js';
import { SECOND_LEVEL_SUFFIXES } from './suffixes.js';

describe('registrableDomain', () => {
  it.each([
    // one or two labels: as they are
    ['google', 'google'],
    ['google.com', 'google.com'],
    ['co.uk', 'co.uk'],
    ['$direct', '$direct'],
    // three or more labels
    ['l.facebook.com', 'facebook.com'],
    ['a.b.c.facebook.com', 'facebook.com'],
    ['google.co.uk', 'google.co.uk'],
    ['www.google.co.uk', 'google.co.uk'],
    ['news.bbc.co.uk', 'bbc.co.uk'],
    ['a.b.c.d.com.br', 'd.com.br'],
    ['x.y.com.au', 'y.com.au'],
    ['so.360.cn', '360.cn'],
    ['x.github.io', 'github.io'],
    ['foo.blogspot.com', 'foo.blogspot.com'],
    ['a.foo.blogspot.com', 'foo.blogspot.com'],
    ['192.168.0.1', '0.1'],
    // www. and the trailing dot
    ['www.google.com', 'google.com'],
    ['WWW.google.com', 'google.com'],
    ['www.www.google.com', 'google.com'],
    ['www.com', 'com'],
    ['www', 'www'],
    ['google.com.', 'google.com'],
    ['www.google.co.uk.', 'google.co.uk'],
    // URLs
    ['https://www.google.co.uk/search?q=x', 'google.co.uk'],
    ['http://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com', 'facebook.com'],
    ['HTTPS://M.YouTube.com/watch?v=1', 'YouTube.com'],
    ['//cdn.example.com/x.js', 'example.com'],
    ['https://user:pw@mail.example.co.jp:8443/x', 'example.co.jp'],
    ['localhost:8000', 'localhost'],
    ['example.com#frag', 'example.com'],
    ['example.com?q=1', 'example.com'],
    ['android-app://com.google.android.gm/', 'android.gm'],
    // case is kept; the suffix list and www. ignore it
    ['Www.Google.CO.UK', 'Google.CO.UK'],
    ['News.BBC.Co.Uk', 'BBC.Co.Uk'],
    ['WWW.GOOGLE.COM', 'GOOGLE.COM'],
    // non-ASCII hosts are hosts too
    ['яндекс.рф', 'яндекс.рф'],
    ['поиск.яндекс.рф', 'яндекс.рф'],
    // junk
    ['', ''],
    ['.', ''],
    ['www.', ''],
    ['..', ''],
    ['.com', ''],
    ['a..b.com', ''],
    ['google .com', ''],
    [' google.com', ''],
    ['e mail', ''],
    ['tab\tcom', ''],
    ['nul\u0000.com', ''],
    ['https://', ''],
    ['https:///path', ''],
    ['[::1]:8080', ''],
    ['back\\slash.com', ''],
  ])('%j → %j', (input, expected) => {
    expect(registrableDomain(input)).toBe(expected);
  });

  it('never throws and returns a substring of its input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (value) => {
        const result = registrableDomain(value);
        expect(value.includes(result)).toBe(true);
      }),
      { numRuns: 2000, seed: 20240611 },
    );
  });

  it('returns a suffix of the host, with at most three labels, keeping case', () => {
    const label = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,8}$/);
    const host = fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.constantFrom('', 'co.uk', 'CO.UK', 'com.br', 'com', 'de', 'org'))
      .map(([labels, suffix]) => [...labels, ...(suffix === '' ? [] : [suffix])].join('.'));
    fc.assert(
      fc.property(
        host,
        fc.constantFrom('', 'https://', 'http://user@'),
        fc.constantFrom('', '/', '/p?q=1#f', ':80'),
        (h, prefix, suffix) => {
          const withoutWww = /^www\./i.test(h) ? h.slice(4) : h;
          const result = registrableDomain(`${prefix}${h}${suffix}`);
          expect(result).not.toBe('');
          expect(withoutWww.endsWith(result)).toBe(true);
          expect(result.split('.').length).toBeLessThanOrEqual(3);
          // the same answer for the bare host, and for the host with another subdomain in front
          expect(registrableDomain(h)).toBe(result);
          // (unless the result is itself a bare suffix like `co.uk`: `sub.co.uk` is registrable)
          if (result.includes('.') && !SECOND_LEVEL_SUFFIXES.includes(asciiLower(result)))
            expect(registrableDomain(`sub.${result}`)).toBe(result);
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });
});

describe('asciiLower', () => {
  it('lowercases A–Z only, like ClickHouse lower()', () => {
    expect(asciiLower('GooGLE.Com')).toBe('google.com');
    expect(asciiLower('ÄÖÜ-ABC')).toBe('ÄÖÜ-abc');
    // KELVIN SIGN lowercases to 'k' with toLowerCase(), not in ClickHouse
    expect(asciiLower('\u212A')).toBe('\u212A');
    expect(asciiLower('İ')).toBe('İ');
  });
});
