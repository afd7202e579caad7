/**
 * The one retry helper: exponential backoff with full jitter, abortable, until the operation
 * succeeds, the error is not worth retrying, or the attempts run out. The ClickHouse sink, the
 * service's dead-letter queue, opening a held embedded data directory and the tests use it.
 */

export interface RetryPolicy {
  /** Attempts, including the first; Infinity retries until success or abort. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 30_000 };

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Resolve after `ms`; reject with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with full jitter: uniform in [0, min(max, initial·2^(attempt-1))]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(random() * cap);
}

export interface RetryOptions<E> {
  readonly policy: RetryPolicy;
  /**
   * What a failure means: the error to retry on, or a `{ fail }` to throw at once instead (not
   * worth retrying). Called with what `run` threw and the attempt that failed.
   */
  readonly classify: (error: unknown, attempt: number) => { readonly retry: E } | { readonly fail: unknown };
  /** Called before each wait: for logs, metrics and readiness. */
  readonly onRetry?: (error: E, attempt: number, delayMs: number) => void;
  readonly signal?: AbortSignal;
  /** Randomness for the jitter (tests pass a fixed one). */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Run `run(attempt)` until it resolves; resolves with its value and the attempts it took. */
export async function retry<T, E>(run: (attempt: number) => Promise<T>, o: RetryOptions<E>): Promise<{ value: T; attempts: number }> {
  const random = o.random ?? Math.random;
  const wait = o.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    o.signal?.throwIfAborted();
    try {
      return { value: await run(attempt), attempts: attempt };
    } catch (err) {
      o.signal?.throwIfAborted();
      const outcome = o.classify(err, attempt);
      if ('fail' in outcome) throw outcome.fail;
      // the caller's classified error (a SinkError for the sink), as it would have been retried
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (attempt >= o.policy.maxAttempts) throw outcome.retry;
      const delay = backoffDelay(attempt, o.policy, random);
      o.onRetry?.(outcome.retry, attempt, delay);
      await wait(delay, o.signal);
    }
  }
}
