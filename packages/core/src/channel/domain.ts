/**
 * The registrable domain of a traffic source, for the channel lookups' second chance
 * (`www.google.co.uk` → `google.co.uk`, `l.facebook.com` → `facebook.com`).
 *
 * It approximates ClickHouse's `cutToFirstSignificantSubdomain`, which PostHog uses, with our
 * curated second-level suffix list (SECOND_LEVEL_SUFFIXES in suffixes.ts) in place of the public
 * suffix list compiled into ClickHouse. It deliberately differs where the ClickHouse function
 * would throw our bare source names away: a single label (`google`) is returned as is (ClickHouse
 * gives ''), a trailing dot is dropped (ClickHouse gives ''), and userinfo and a port are
 * stripped (ClickHouse gives ''). Hosts under private suffixes of the public list
 * (`x.github.io`) are cut to the last two labels here, except blogspot.com, which is in the source data
 * and in the suffix list (`foo.blogspot.com` stays whole, as in ClickHouse).
 *
 * Case: the result keeps the case of its input, like ClickHouse (PostHog does not lowercase
 * referring_domain, so `Google.com` must not find `google.com`); only the structural decisions,
 * the leading `www.` and the suffix list, ignore ASCII case.
 *
 * The SQL expression never calls this: ingestion computes it in Node and stores the result
 * (see attributionSites in channel-type.ts), so both implementations share this one function.
 */
import { SECOND_LEVEL_SUFFIXES } from './suffixes.js';

const SUFFIXES: ReadonlySet<string> = new Set(SECOND_LEVEL_SUFFIXES);

/** A URL scheme, `https://`; scheme-relative `//host` is handled apart. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** The end of the authority part of a URL. */
const AUTHORITY_END = /[/?#]/;
/** Characters that make a host junk: whitespace (Unicode too), brackets, backslash. */
const JUNK = /[\s[\]\\]/;

/** Lowercases ASCII A–Z only, like ClickHouse's `lower` (unlike String#toLowerCase). */
export function asciiLower(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * The host of `value` (a bare host, a bare name or a URL): scheme, userinfo, port and
 * path/query/fragment removed, then one leading `www.` and one trailing dot. '' when there is
 * no usable host.
 */
function hostOf(value: string): string {
  let rest = value;
  const scheme = SCHEME.exec(rest);
  if (scheme !== null) rest = rest.slice(scheme[0].length);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  const end = rest.search(AUTHORITY_END);
  if (end >= 0) rest = rest.slice(0, end);
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  const colon = rest.indexOf(':');
  if (colon >= 0) rest = rest.slice(0, colon);
  if (asciiLower(rest.slice(0, 4)) === 'www.') rest = rest.slice(4);
  if (rest.endsWith('.')) rest = rest.slice(0, -1);
  if (rest === '' || JUNK.test(rest) || hasControlCharacter(rest)) return '';
  return rest;
}

/**
 * The registrable domain of a host or URL: one or two labels are kept as they are; of three or
 * more, the last three when the last two are a known second-level suffix (`google.co.uk`), else
 * the last two. Junk (no host, empty labels, whitespace or control characters) gives ''.
 * Never throws.
 */
export function registrableDomain(value: string): string {
  const host = hostOf(value);
  if (host === '') return '';
  const labels = host.split('.');
  if (labels.includes('')) return '';
  if (labels.length <= 2) return host;
  const lastTwo = labels.slice(-2).join('.');
  const keep = SUFFIXES.has(asciiLower(lastTwo)) ? 3 : 2;
  return labels.slice(-keep).join('.');
}
