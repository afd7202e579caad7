/**
 * The one wait of the tests: poll a condition until it holds, or fail after a timeout naming what
 * was awaited and the probe's last error. Tests wait for conditions, never for durations; `sleep`
 * is for fault schedules (how long an outage lasts, when a kill comes), and `retrying` for calls
 * that fail while a broker restarts.
 */
import { retry } from '@sessionizer/clickhouse';

/** Poll `probe` every `everyMs` until it returns a value (not undefined); errors count as not yet. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A pause in a fault schedule; never a wait for a condition (that is `waitFor`). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries transient admin errors (a fresh broker has no coordinator yet; a restarting one none), with the shared retry. */
export async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const { value } = await retry(fn, {
    policy: { maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 1_000 },
    classify: (err) =>
      Date.now() > deadline ? { fail: new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`) } : { retry: err },
  });
  return value;
}
