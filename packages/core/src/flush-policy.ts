/**
 * When to flush the in-memory delta: by time, by buffered sessions, by buffered bytes,
 * whichever comes first. Pure: the caller passes the clock.
 */
export interface FlushPolicy {
  readonly intervalMs: number;
  readonly maxSessions: number;
  readonly maxBytes: number;
}

export type FlushReason = 'interval' | 'sessions' | 'bytes' | 'shutdown' | 'rebalance' | 'end';

export function flushReason(
  policy: FlushPolicy,
  buffered: { readonly size: number; readonly bytes: number },
  msSinceLastFlush: number,
): FlushReason | null {
  if (buffered.size >= policy.maxSessions) return 'sessions';
  if (buffered.bytes >= policy.maxBytes) return 'bytes';
  if (buffered.size > 0 && msSinceLastFlush >= policy.intervalMs) return 'interval';
  return null;
}
