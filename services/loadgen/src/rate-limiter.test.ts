import { describe, expect, it } from 'vitest';
import type { Clock } from './clock.js';
import { TokenBucket } from './rate-limiter.js';

/** Time moves only when someone sleeps (or the test advances it). */
class FakeClock implements Clock {
  t = 1_000;
  sleeps: number[] = [];
  /** Extra time every sleep takes (timer lateness). */
  constructor(readonly overshootMs = 0) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms + this.overshootMs;
    return Promise.resolve();
  }
}

async function grantTimes(bucket: TokenBucket, clock: FakeClock, n: number, minSleepMs = 0): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await bucket.take(1, minSleepMs);
    times.push(clock.now());
  }
  return times;
}

describe('TokenBucket', () => {
  it('holds the average rate', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(100, { clock });
    const times = await grantTimes(bucket, clock, 1_000);
    const elapsed = (times.at(-1) ?? 0) - 1_000;
    // 1000 tokens at 100/s, the first `burst` free: ~9.95 s
    expect(elapsed).toBeGreaterThan(9_900);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('is smooth: no window of 100 ms grants more than its share plus the burst', async () => {
    for (const [rate, minSleep] of [
      [100, 0],
      [1_000, 4],
      [20_000, 4],
    ] as const) {
      const clock = new FakeClock(1);
      const bucket = new TokenBucket(rate, { clock });
      const times = await grantTimes(bucket, clock, rate * 3, minSleep);
      let worst = 0;
      let j = 0;
      for (let i = 0; i < times.length; i++) {
        while ((times[j] ?? 0) <= (times[i] ?? 0) - 100) j++;
        worst = Math.max(worst, i - j + 1);
      }
      const share = rate / 10;
      expect(worst).toBeLessThanOrEqual(Math.ceil(share + bucket.burst + (rate * minSleep) / 1_000 + 1));
      // and not slower than asked, even though every sleep is 1 ms late
      const elapsed = (times.at(-1) ?? 0) - 1_000;
      expect(elapsed).toBeLessThanOrEqual(3_000);
      expect(elapsed).toBeGreaterThan(2_800);
    }
  });

  it('grants the burst at once, then waits', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(1_000, { clock, burst: 5 });
    for (let i = 0; i < 5; i++) expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBeCloseTo(1, 6);
    expect(bucket.reserve()).toBeCloseTo(2, 6);
    expect(bucket.reserve(10)).toBeCloseTo(12, 6); // debt accumulates: 12 tokens owed
  });

  it('does not bank idle time beyond the burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(100, { clock });
    expect(bucket.burst).toBe(5);
    await clock.sleep(60_000);
    const start = clock.now();
    await grantTimes(bucket, clock, 105);
    expect(clock.now() - start).toBeCloseTo(1_000, 0);
  });

  it('waits below minSleepMs are skipped and repaid later', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(1_000, { clock, burst: 1 });
    await grantTimes(bucket, clock, 1_001, 4);
    expect(clock.now() - 1_000).toBeGreaterThanOrEqual(1_000 - 5);
    expect(Math.min(...clock.sleeps)).toBeGreaterThan(4);
  });

  it('rejects a rate that is not positive', () => {
    const clock = new FakeClock();
    for (const r of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new TokenBucket(r, { clock })).toThrow(RangeError);
    expect(() => new TokenBucket(10, { clock, burst: 0.5 })).toThrow(RangeError);
  });
});
