/**
 * The path of a URL, robust to junk: `https://h/a/b?x#y` → `/a/b`; a URL with no path → `/`;
 * a bare path `/a?x` → `/a`; anything else (no scheme and not starting with `/`) → null.
 * The path is taken as written (no decoding or normalisation), like ClickHouse's path().
 */
const SCHEME_AUTHORITY_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

export function pathnameOf(url: string | null): string | null {
  if (url === null) return null;
  let rest: string;
  const m = SCHEME_AUTHORITY_RE.exec(url);
  if (m !== null) rest = url.slice(m[0].length);
  else if (url.startsWith('/')) rest = url;
  else return null;
  let end = rest.length;
  const q = rest.indexOf('?');
  if (q !== -1) end = q;
  const h = rest.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const path = rest.slice(0, end);
  return path === '' ? '/' : path;
}
