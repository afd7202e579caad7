/**
 * The one wait of the tests: poll a condition until it holds, or fail after a timeout naming what
 * was awaited and the probe's last error. Tests wait for conditions, never for durations.
 */

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
