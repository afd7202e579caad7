/** Time as the loop sees it: injectable, so tests run on a fake clock. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms);
    }),
};
