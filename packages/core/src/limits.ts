/**
 * Bounds on what one message may put into memory. A message over maxMessageBytes is rejected
 * before it is parsed (`event_too_large`); strings kept in session state are cut to these
 * lengths (counted as the `field_truncated` warning), so a 1 MiB URL costs at most 8 KiB.
 */
export interface Limits {
  /** Largest message accepted, in bytes (UTF-8). Kafka's own default limit is ~1 MiB. */
  readonly maxMessageBytes: number;
  /** Longest URL kept, in UTF-16 code units. */
  readonly maxUrlLength: number;
  /** Longest other string kept (UTMs, referrer, click ids, distinct_id). */
  readonly maxFieldLength: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 1_048_576,
  maxUrlLength: 8_192,
  maxFieldLength: 1_024,
};

/**
 * Whether `text` encodes to more than `maxBytes` bytes of UTF-8, without encoding it. A UTF-16
 * unit is 1–3 bytes (a surrogate pair is 4 bytes for 2 units), so most texts are decided by
 * their length alone.
 */
export function exceedsUtf8Bytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 2 : 3; // a pair: 2 + 2
    if (bytes > maxBytes) return true;
  }
  return false;
}

/** Cut to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end);
}

/** ES2024's String.prototype.isWellFormed/toWellFormed (Node ≥ 20; not in the ES2023 lib types). */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * Replace lone UTF-16 surrogates (which JSON input can carry as `\ud800` escapes) with U+FFFD.
 * ClickHouse rejects them on insert (CANNOT_PARSE_ESCAPE_SEQUENCE), which would stop a whole
 * batch for one bad string. The engine's own check: a one-byte string is well-formed without a
 * scan, where the regular expression this replaced cost ~8% of normalisation (a profile of
 * test/bench/hot-path.ts; BENCHMARKS.md).
 */
export function wellFormed(value: string): string {
  const s = value as unknown as WellFormedString;
  return s.isWellFormed() ? value : s.toWellFormed();
}
