import { describe, expect, it } from 'vitest';
import { flushReason } from './flush-policy.js';

const policy = { intervalMs: 5_000, maxSessions: 100, maxBytes: 10_000 };

describe('flushReason', () => {
  it('flushes by sessions, then bytes, then time', () => {
    expect(flushReason(policy, { size: 100, bytes: 20_000 }, 9_999)).toBe('sessions');
    expect(flushReason(policy, { size: 99, bytes: 10_000 }, 0)).toBe('bytes');
    expect(flushReason(policy, { size: 1, bytes: 1 }, 5_000)).toBe('interval');
  });
  it('does not flush early, nor flush an empty buffer on time', () => {
    expect(flushReason(policy, { size: 99, bytes: 9_999 }, 4_999)).toBeNull();
    expect(flushReason(policy, { size: 0, bytes: 0 }, 1_000_000)).toBeNull();
  });
});
