/**
 * entry/exit pathname and hostname: the TypeScript port (core url.ts) equals ClickHouse's own
 * path() and domain() on the real engine, for random, URL-shaped and hostile strings. The
 * `sessions` view computes them with path()/domain(); the oracle with urlPath/urlDomain.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlDomain, urlPath, wellFormed } from '@sessionizer/core';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';

const piece = fc.constantFrom(
  '',
  'https://',
  'http://',
  'HTTPS://',
  '//',
  'android-app://',
  'a+b.c-d://',
  'ftp:',
  'mailto:',
  'user@',
  'u:p@',
  'www.example.com',
  'x.co.uk',
  'localhost',
  'a.',
  '.b',
  '[::1]',
  ':8080',
  ':',
  '/',
  '//',
  '/path/to',
  '?q=1',
  '#frag',
  '?',
  '#',
  '@',
  '.',
  '%20',
  ' ',
  '\t',
  '<',
  '&',
  '=',
  ';',
  '~',
  'é',
  '😀',
  'ü.example',
  '\u0000',
);
/** URL-shaped strings: concatenations of the pieces ClickHouse's parsers look at. */
const urlish = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
const anyString = fc.oneof(fc.string({ maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 12 })).map(wellFormed);

describe('urlPath / urlDomain equal ClickHouse path() / domain()', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('urlfn');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('on ~6,000 URL-shaped and arbitrary strings', async () => {
    const inputs = [
      ...fc.sample(urlish, { seed: 11, numRuns: 4_000 }),
      ...fc.sample(anyString, { seed: 12, numRuns: 2_000 }),
      'https://www.northwind-trail.com/pricing?plan=pro#faq',
      'https://a.b/c//d;e',
      'x'.repeat(20) + '://host.example/p',
      'abcdefghijklmn://h.example/p',
      'abcdefghijklm://h.example/p',
    ];
    const rs = await db.handle.client.query({
      query: 'SELECT u, path(u) AS p, domain(u) AS d FROM (SELECT arrayJoin({urls:Array(String)}) AS u)',
      query_params: { urls: inputs },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ u: string; p: string; d: string }>();
    expect(rows).toHaveLength(inputs.length);
    const mismatches = rows.filter((r) => urlPath(r.u) !== r.p || urlDomain(r.u) !== r.d);
    expect(mismatches.slice(0, 5).map((r) => ({ ...r, ts: [urlPath(r.u), urlDomain(r.u)] }))).toEqual([]);
    // and the inputs did exercise both outcomes
    expect(rows.filter((r) => r.d !== '').length).toBeGreaterThan(300);
    expect(rows.filter((r) => r.p !== '').length).toBeGreaterThan(300);
  });

  it('NULL gives NULL in both', async () => {
    const rs = await db.handle.client.query({ query: 'SELECT path(NULL) AS p, domain(NULL) AS d', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ p: null, d: null }]);
    expect([urlPath(null), urlDomain(null)]).toEqual([null, null]);
  });
});
