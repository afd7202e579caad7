/** A one-line progress display on a TTY (stderr), redrawn at most every 200 ms. */
export interface ProgressSnapshot {
  readonly events: number;
  readonly accepted: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly bytesRead: number;
  readonly totalBytes: number | undefined;
  readonly sessionsWritten: number;
}

export class Progress {
  readonly #write: (s: string) => void;
  readonly #enabled: boolean;
  readonly #now: () => number;
  readonly #started: number;
  // Nothing drawn yet: the first update draws whatever the clock says.
  #last = Number.NEGATIVE_INFINITY;
  #drawn = false;

  /** `now` is a monotonic clock in milliseconds (injected by tests). */
  constructor(enabled: boolean, write: (s: string) => void, now: () => number = () => performance.now()) {
    this.#enabled = enabled;
    this.#write = write;
    this.#now = now;
    this.#started = now();
  }

  update(s: ProgressSnapshot, force = false): void {
    if (!this.#enabled) return;
    const now = this.#now();
    if (!force && now - this.#last < 200) return;
    this.#last = now;
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = Math.round(s.events / seconds);
    let bar = '';
    if (s.totalBytes !== undefined && s.totalBytes > 0) {
      const frac = Math.min(1, s.bytesRead / s.totalBytes);
      const width = 24;
      const full = Math.round(frac * width);
      bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}% `;
    }
    const rejected = Object.entries(s.rejected)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r}=${n}`)
      .join(' ');
    const line = `${bar}${s.events} events ${rate}/s, ${s.sessionsWritten} sessions written${rejected === '' ? '' : `, rejected: ${rejected}`}`;
    this.#write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  done(): void {
    if (this.#enabled && this.#drawn) this.#write('\n');
  }
}
