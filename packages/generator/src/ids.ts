/** Identifiers as PostHog's SDKs make them, from the seeded PRNG. */
import type { Rng } from './random.js';

const VARIANTS = '89ab';

function variant(rng: Rng): string {
  return VARIANTS[rng.uint32() & 3] ?? '8';
}

/** A UUIDv7 (RFC 9562) whose 48-bit prefix is `ms`, lowercase. */
export function uuidV7(ms: number, rng: Rng): string {
  const t = Math.floor(ms).toString(16).padStart(12, '0');
  const r = rng.hex(18);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(0, 3)}-${variant(rng)}${r.slice(3, 6)}-${r.slice(6, 18)}`;
}

/** A random UUIDv4, lowercase. */
export function uuidV4(rng: Rng): string {
  const r = rng.hex(29);
  return `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant(rng)}${r.slice(15, 18)}-${r.slice(18, 29)}${rng.hex(1)}`;
}

/** A name-based (version 5 layout) UUID like PostHog's person ids; random here. */
export function uuidV5Like(rng: Rng): string {
  const r = rng.hex(29);
  return `${r.slice(0, 8)}-${r.slice(8, 12)}-5${r.slice(12, 15)}-${variant(rng)}${r.slice(15, 18)}-${r.slice(18, 29)}${rng.hex(1)}`;
}
