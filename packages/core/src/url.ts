/**
 * ClickHouse's `path()` and `domain()`, exactly (PostHog's entry_pathname / entry_hostname are
 * these functions of the entry URL). Ported from ClickHouse's src/Functions/URL/path.h and
 * domain.h; `test/integration/url-functions.test.ts` holds them equal to the engine on random
 * and hostile URLs. ClickHouse works on UTF-8 bytes, these on UTF-16 units: every character
 * the functions look at is ASCII, and a non-ASCII character is one unit here and several bytes
 * there but never matches, so positions agree.
 */

/**
 * `path(url)`: from the first `/` (after `//` when the URL starts with a scheme's or a bare
 * `//`) up to `?` or `#`; '' when there is none. `https://x/a/b?q#f` → `/a/b`; `https://x` → ''.
 */
export function urlPath(url: string | null): string | null {
  if (url === null) return null;
  let pos = url.indexOf('/');
  if (pos === -1) return '';
  if (url.charCodeAt(pos + 1) === 0x2f /* '/' */) {
    pos = url.indexOf('/', pos + 2);
    if (pos === -1) return '';
  }
  let end = url.length;
  for (let i = pos; i < end; i += 1) {
    const c = url.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) end = i;
  }
  return url.slice(pos, end);
}

/** Characters after which ClickHouse's getURLHost gives up (the URL is not a valid host). */
const RESTRICTED = new Set([' ', '\t', '<', '>', '%', '{', '}', '|', '\\', '^', '~', '[', ']', ';', '=', '&']);

const isAlphaNumericAscii = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);

/** `domain(url)`: the host, or '' when ClickHouse finds none (no dot, a restricted character …). */
export function urlDomain(url: string | null): string | null {
  if (url === null) return null;
  const size = url.length;
  // ClickHouse strings are zero-terminated: reading one past the end gives '\0'
  const at = (i: number): string => (i < size ? (url[i] ?? '\0') : '\0');
  let pos = 0;
  if (at(0) === '/' && at(1) === '/') {
    pos = 2;
  } else {
    const schemeEnd = Math.min(size, 16);
    for (pos = 1; pos < schemeEnd; pos += 1) {
      const c = at(pos);
      if (isAlphaNumericAscii(c) || c === '.' || c === '-' || c === '+') continue;
      if (RESTRICTED.has(c)) return '';
      break;
    }
    if (schemeEnd - pos > 2 && at(pos) === ':' && at(pos + 1) === '/' && at(pos + 2) === '/') pos += 3;
    else pos = 0;
  }
  let dotPos = -1;
  let startOfHost = pos;
  const hostEndingAt = (p: number): string => {
    if (dotPos === -1 || startOfHost >= p || p - dotPos === 1) return '';
    const afterDot = at(dotPos + 1);
    if (afterDot === ':' || afterDot === '/' || afterDot === '?' || afterDot === '#') return '';
    return url.slice(startOfHost, p);
  };
  for (; pos < size; pos += 1) {
    const c = at(pos);
    if (c === '.') dotPos = pos;
    else if (c === ':' || c === '/' || c === '?' || c === '#') return hostEndingAt(pos);
    else if (c === '@') startOfHost = pos + 1;
    else if (RESTRICTED.has(c)) return '';
  }
  return hostEndingAt(pos);
}
