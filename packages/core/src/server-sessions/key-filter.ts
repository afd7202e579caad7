/**
 * Which (team_id, distinct_id) keys MAY have state in the store: a Bloom filter (no false
 * negatives; about 1% false positives up to its capacity, more beyond it).
 *
 * Why: a batch's keys that are not in memory must be read from the store before they are
 * assigned (assigner.ts), and most of them, in a stream with new anonymous distinct_ids, have
 * never been written: the read answers nothing and costs one SELECT per batch
 * (BENCHMARKS.md, *Server-side sessions: where the extra CPU goes*). A key the filter does not
 * hold has no row in the store, so its read is skipped: the answer is the same, nothing.
 * A key it holds (stored, or a false positive) is read exactly as before.
 */
import { hash128 } from './id.js';

/** False positive rate at capacity: 1%, ~9.6 bits and 7 probes per key. */
const BITS_PER_KEY = 9.6;
const PROBES = 7;
const MIN_CAPACITY = 1_024;

export class KeyFilter {
  readonly #bits: Uint32Array;
  readonly #m: number;
  readonly capacity: number;
  #added = 0;

  /** `capacity`: keys it holds at about 1% false positives (at least 1,024). */
  constructor(capacity: number) {
    this.capacity = Math.max(MIN_CAPACITY, Number.isFinite(capacity) ? Math.ceil(capacity) : MIN_CAPACITY);
    this.#m = Math.ceil((this.capacity * BITS_PER_KEY) / 32) * 32;
    this.#bits = new Uint32Array(this.#m / 32);
  }

  /** Keys added (with repeats): above `capacity`, false positives grow and a rebuild pays. */
  get added(): number {
    return this.#added;
  }

  get full(): boolean {
    return this.#added > this.capacity;
  }

  /** Heap bytes of the bit array. */
  get bytes(): number {
    return this.#bits.byteLength;
  }

  add(key: string): void {
    const [h1, h2] = hash128(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2 | 1)) >>> 0;
      const at = bit % this.#m;
      this.#bits[at >>> 5] = (this.#bits[at >>> 5] ?? 0) | (1 << (at & 31));
    }
    this.#added += 1;
  }

  /** false: the key was never added. true: it was, or a false positive. */
  has(key: string): boolean {
    const [h1, h2] = hash128(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2 | 1)) >>> 0;
      const at = bit % this.#m;
      if (((this.#bits[at >>> 5] ?? 0) & (1 << (at & 31))) === 0) return false;
    }
    return true;
  }
}
