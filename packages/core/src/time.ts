/**
 * Timestamps are integers: microseconds since the Unix epoch, UTC. JavaScript's Date keeps only
 * milliseconds, and ClickHouse's DateTime64(6) keeps microseconds, so we never go through Date.
 */

export const MICROS_PER_MS = 1_000;
export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_HOUR = 3_600 * MICROS_PER_SECOND;

/**
 * Accepted years. ClickHouse's DateTime64 spans 1900–2299, but microseconds since the epoch are
 * exact JavaScript integers only until 2255 (2^53 µs), so we stop at 2200.
 */
const MIN_YEAR = 1900;
const MAX_YEAR = 2200;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719_468;
  const era = Math.floor(zz / 146_097);
  const doe = zz - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

// YYYY-MM-DD[ T]HH:MM:SS[.f…][Z|±HH[:]MM]
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC, PostHog's ClickHouse format) or ISO 8601 with an
 * optional zone (no zone means UTC). Fractions beyond microseconds are truncated.
 * Returns null for anything else, including impossible dates like February 30th.
 */
export function parseTimestamp(value: string): number | null {
  if (value.length > 40) return null;
  const m = TIMESTAMP_RE.exec(value);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const frac = m[7] ?? '';
  const micros = frac === '' ? 0 : Number((frac + '00000').slice(0, 6));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60;
  return seconds * MICROS_PER_SECOND + micros;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS.ffffff`, UTC: what ClickHouse prints for DateTime64(6, 'UTC'). */
export function formatTimestamp(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND);
  const frac = micros - seconds * MICROS_PER_SECOND;
  const days = Math.floor(seconds / 86_400);
  const sod = seconds - days * 86_400;
  const [y, mo, d] = civilFromDays(days);
  return (
    `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)} ` +
    `${pad(Math.floor(sod / 3_600), 2)}:${pad(Math.floor((sod % 3_600) / 60), 2)}:${pad(sod % 60, 2)}.${pad(frac, 6)}`
  );
}

/** Whole seconds since the epoch, floored (what ClickHouse's dateDiff('second', …) compares). */
export function floorSeconds(micros: number): number {
  return Math.floor(micros / MICROS_PER_SECOND);
}
