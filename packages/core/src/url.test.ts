import { describe, expect, it } from 'vitest';
import { urlDomain, urlPath } from './url.js';

// Expected values as ClickHouse 26 (chDB) gives them for path() and domain();
// test/integration/url-functions.test.ts compares the two on the engine with random URLs.
describe('urlPath and urlDomain: ClickHouse path() and domain()', () => {
  it.each([
    ['https://x.com', '', 'x.com'],
    ['https://x.com/a/b?q#f', '/a/b', 'x.com'],
    ['/a?x', '/a', ''],
    ['x.com/a', '/a', 'x.com'],
    ['http://u@h:80/p', '/p', ''],
    ['mailto:x', '', ''],
    ['https://x.com?q', '', 'x.com'],
    ['https://x.com#f', '', 'x.com'],
    ['android-app://com.x/p', '/p', 'com.x'],
    ['//h/p', '/p', ''],
    ['a://', '', ''],
    ['', '', ''],
    ['HTTPS://X.COM/P', '/P', 'X.COM'],
    ['https://x.com/a%20b/', '/a%20b/', 'x.com'],
    ['ftp://h.com:21', '', 'h.com'],
    ['https://[::1]:8/p', '/p', ''],
    ['file:///etc/p', '/etc/p', ''],
    ['x.com', '', 'x.com'],
    ['localhost:3000/a', '/a', ''],
    ['https://a.b/c//d;e', '/c//d;e', 'a.b'],
  ])('%j → path %j, domain %j', (url, path, domain) => {
    expect(urlPath(url)).toBe(path);
    expect(urlDomain(url)).toBe(domain);
  });

  it('NULL in, NULL out', () => {
    expect(urlPath(null)).toBeNull();
    expect(urlDomain(null)).toBeNull();
  });
});
