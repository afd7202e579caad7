/** The shared retry: backoff with full jitter up to the maximum, classification, attempts, abort. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, type RetryPolicy } from './retry.js';

const POLICY: RetryPolicy = { maxAttempts: Infinity, initialDelayMs: 200, maxDelayMs: 1_000 };

/** Records the waits instead of waiting. */
function fakeSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: (ms) => (waits.push(ms), Promise.resolve()) };
}

const failing = (times: number, error: Error = new Error('down')) => {
  let n = 0;
  return (): Promise<string> => (++n <= times ? Promise.reject(error) : Promise.resolve('ok'));
};

describe('retry', () => {
  it('backoffDelay: uniform in [0, min(max, initial·2^(attempt-1))]', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, POLICY, () => 1))).toEqual([200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(3, POLICY, () => 0)).toBe(0);
    expect(backoffDelay(1_000, POLICY, () => 0.5)).toBe(500);
  });

  it('retries until success, waiting the backoff between attempts', async () => {
    const s = fakeSleep();
    const retried: number[] = [];
    const r = await retry(failing(4), {
      policy: POLICY,
      classify: (e) => ({ retry: e }),
      onRetry: (_e, attempt) => retried.push(attempt),
      random: () => 1,
      sleep: s.sleep,
    });
    expect(r).toEqual({ value: 'ok', attempts: 5 });
    expect(s.waits).toEqual([200, 400, 800, 1_000]);
    expect(retried).toEqual([1, 2, 3, 4]);
  });

  it('an error classified as not worth retrying is thrown at once, as classified', async () => {
    const s = fakeSleep();
    const fatal = new Error('bad data');
    await expect(retry(failing(1), { policy: POLICY, classify: () => ({ fail: fatal }), sleep: s.sleep })).rejects.toBe(fatal);
    expect(s.waits).toEqual([]);
  });

  it('gives up after maxAttempts with the last classified error', async () => {
    const s = fakeSleep();
    const last = new Error('still down');
    await expect(
      retry(failing(10, last), { policy: { ...POLICY, maxAttempts: 3 }, classify: (e) => ({ retry: e }), random: () => 1, sleep: s.sleep }),
    ).rejects.toBe(last);
    expect(s.waits).toEqual([200, 400]);
  });

  it('an abort during the wait rejects with the abort reason and stops retrying', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const run = retry(
      () => {
        attempts += 1;
        return Promise.reject(new Error('down'));
      },
      {
        policy: { ...POLICY, initialDelayMs: 60_000, maxDelayMs: 60_000 },
        classify: (e) => ({ retry: e }),
        random: () => 1,
        signal: controller.signal,
      },
    );
    await Promise.resolve();
    controller.abort(new Error('shutdown timed out'));
    await expect(run).rejects.toThrow('shutdown timed out');
    expect(attempts).toBe(1);
  });
});
