/**
 * Deterministic UUIDv7 session ids: the 48-bit millisecond prefix is the session's time, the 74
 * "random" bits come from a hash of what identifies the session, so the same events give the
 * same id on a replay, after a crash and on another instance. Pure (no node:crypto in core).
 */

/** 128 bits of a string as four 32-bit words (cyrb128: four interleaved MurmurHash3-style lanes). */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** A canonical lowercase UUIDv7 with the given millisecond time and random bits from `seed`. */
export function deterministicUuidV7(millis: number, seed: string): string {
  if (!Number.isSafeInteger(millis) || millis < 0 || millis >= 2 ** 48) throw new RangeError(`UUIDv7 time out of range: ${millis}`);
  const [a, b, c, d] = hash128(seed);
  const time = hex(millis, 12);
  const randA = hex(a & 0xfff, 3); // 12 bits
  const variant = hex(0x8000 | (b & 0x3fff), 4); // 10xx + 14 bits
  const randB = hex(c, 8) + hex(d & 0xffff, 4); // 48 bits
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randA}-${variant}-${randB}`;
}
