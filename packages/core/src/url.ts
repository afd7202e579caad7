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

/**
 * The URL as ClickHouse sees it, one unit per UTF-8 byte: every non-ASCII character becomes as
 * many U+0080 units as it has bytes (never a character the parser looks at), and `offsets` maps
 * a byte position back to the string (results always start and end at ASCII characters).
 */
function utf8View(url: string): { bytes: string; offsets: number[] } {
  let bytes = '';
  const offsets: number[] = [];
  for (let i = 0; i < url.length;) {
    const cp = url.codePointAt(i) ?? 0;
    const units = cp > 0xffff ? 2 : 1;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k += 1) offsets.push(i);
    bytes += n === 1 ? (url[i] ?? '') : '\u0080'.repeat(n);
    i += units;
  }
  offsets.push(url.length);
  return { bytes, offsets };
}

/** `domain(url)`: the host, or '' when ClickHouse finds none (no dot, a restricted character …). */
export function urlDomain(url: string | null): string | null {
  if (url === null) return null;
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\u0000-\u007f]*$/.test(url);
  const view = ascii ? { bytes: url, offsets: null } : utf8View(url);
  const host = hostRange(view.bytes);
  if (host === null) return '';
  const [start, end] = host;
  return view.offsets === null ? url.slice(start, end) : url.slice(view.offsets[start], view.offsets[end]);
}

/** ClickHouse's getURLHost over bytes: the host's [start, end), or null. */
function hostRange(url: string): [number, number] | null {
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
      if (RESTRICTED.has(c)) return null;
      break;
    }
    if (schemeEnd - pos > 2 && at(pos) === ':' && at(pos + 1) === '/' && at(pos + 2) === '/') pos += 3;
    else pos = 0;
  }
  let dotPos = -1;
  let startOfHost = pos;
  const hostEndingAt = (p: number): [number, number] | null => {
    if (dotPos === -1 || startOfHost >= p || p - dotPos === 1) return null;
    const afterDot = at(dotPos + 1);
    if (afterDot === ':' || afterDot === '/' || afterDot === '?' || afterDot === '#') return null;
    return [startOfHost, p];
  };
  for (; pos < size; pos += 1) {
    const c = at(pos);
    if (c === '.') dotPos = pos;
    else if (c === ':' || c === '/' || c === '?' || c === '#') return hostEndingAt(pos);
    else if (c === '@') startOfHost = pos + 1;
    else if (RESTRICTED.has(c)) return null;
  }
  return hostEndingAt(pos);
}
