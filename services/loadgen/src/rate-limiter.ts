/**
 * A token bucket for a steady message rate. Tokens refill continuously at `ratePerSecond` up to
 * a small `burst` (50 ms worth by default), so the output is smooth, not a burst per second, yet a
 * short stall (GC, a slow send) is caught up.
 * `reserve` debits at once and says how long to wait: a caller that sleeps only when the wait
 * is worth it (`minSleepMs`) still keeps the exact average rate, because the debt carries over.
 */
import type { Clock } from './clock.js';

export interface TokenBucketOptions {
  readonly clock: Clock;
  /** Most tokens that can pile up while idle (default: 50 ms worth, at least 1). */
  readonly burst?: number;
}

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(ratePerSecond: number, options: TokenBucketOptions) {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0))
      throw new RangeError(`rate must be a positive number, got ${ratePerSecond}`);
    this.ratePerSecond = ratePerSecond;
    this.burst = options.burst ?? Math.max(1, ratePerSecond / 20);
    if (!(this.burst >= 1)) throw new RangeError(`burst must be at least 1, got ${this.burst}`);
    this.#clock = options.clock;
    this.#tokens = this.burst;
    this.#last = options.clock.now();
  }

  /** Takes `n` tokens now (possibly into debt); returns the ms to wait before using them. */
  reserve(n = 1): number {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1_000);
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1_000) / this.ratePerSecond;
  }

  /** Waits until `n` tokens are available; skips waits of at most `minSleepMs` (they carry over). */
  async take(n = 1, minSleepMs = 0): Promise<void> {
    const wait = this.reserve(n);
    if (wait > minSleepMs) await this.#clock.sleep(wait);
  }
}
