import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathnameOf } from './url.js';

describe('pathnameOf', () => {
  it.each([
    ['https://example.com/a/b?x=1#frag', '/a/b'],
    ['https://example.com', '/'],
    ['https://example.com?x=1', '/'],
    ['https://user:pw@example.com:8443/p/', '/p/'],
    ['http://example.com/a%20b/c', '/a%20b/c'],
    ['android-app://com.example/screen/home', '/screen/home'],
    ['/relative/path?x=1', '/relative/path'],
    ['/', '/'],
    ['https://example.com/#/hash/route', '/'],
    ['not a url', null],
    ['', null],
    ['example.com/path', null],
    ['javascript:alert(1)', null],
  ])('%j → %j', (url, expected) => {
    expect(pathnameOf(url)).toBe(expected);
  });
  it('is null for null', () => {
    expect(pathnameOf(null)).toBeNull();
  });
  it('never throws and returns a substring of the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withFragments: true, withQueryParameters: true })), (s) => {
        const p = pathnameOf(s);
        if (p !== null && p !== '/') expect(s).toContain(p);
      }),
      { numRuns: 2000, seed: 9 },
    );
  });
});
