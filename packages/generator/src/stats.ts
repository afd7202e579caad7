/** Message sizes, in UTF-8 bytes (what Kafka stores), without node:buffer. */
import type { GeneratedMessage, MessageKind } from './generator.js';

/** UTF-8 length of a string (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export interface SizeStats {
  readonly count: number;
  readonly bytes: number;
  readonly meanBytes: number;
  readonly minBytes: number;
  readonly p50Bytes: number;
  readonly p95Bytes: number;
  readonly maxBytes: number;
}

/** Size statistics of the values of `messages` (only the given kinds, default all). */
export function messageSizeStats(messages: Iterable<GeneratedMessage>, kinds?: readonly MessageKind[]): SizeStats {
  const sizes: number[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (kinds !== undefined && !kinds.includes(m.kind)) continue;
    const n = utf8Length(m.value);
    sizes.push(n);
    bytes += n;
  }
  sizes.sort((a, b) => a - b);
  const at = (q: number): number => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))] ?? 0;
  return {
    count: sizes.length,
    bytes,
    meanBytes: sizes.length === 0 ? 0 : bytes / sizes.length,
    minBytes: sizes[0] ?? 0,
    p50Bytes: at(0.5),
    p95Bytes: at(0.95),
    maxBytes: sizes[sizes.length - 1] ?? 0,
  };
}
