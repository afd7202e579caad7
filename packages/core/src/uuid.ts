/** UUIDs travel as canonical lowercase strings `xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx`. */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Canonical lowercase form of a hyphenated UUID of any version, or null. */
export function canonicalUuid(value: string): string | null {
  if (value.length !== 36) return null;
  if (UUID_RE.test(value)) return value;
  const lower = value.toLowerCase();
  return UUID_RE.test(lower) ? lower : null;
}

/** A canonical UUID with version 7 and the RFC 4122 variant. */
export function isUuidV7(canonical: string): boolean {
  const variant = canonical.charCodeAt(19);
  // '8', '9', 'a', 'b'
  return canonical.charCodeAt(14) === 0x37 && (variant === 0x38 || variant === 0x39 || variant === 0x61 || variant === 0x62);
}

/** The 48-bit Unix-millisecond prefix of a UUIDv7. */
export function uuidV7Millis(canonical: string): number {
  return parseInt(canonical.slice(0, 8) + canonical.slice(9, 13), 16);
}
