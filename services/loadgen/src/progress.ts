/** One progress line on stderr (when it is a TTY), redrawn at most every 200 ms. */
import type { ProduceStats } from './run.js';

export class Progress {
  readonly #write: (s: string) => void;
  readonly #enabled: boolean;
  readonly #total: number;
  readonly #now: () => number;
  #last = -Infinity;
  #drawn = false;

  constructor(options: { enabled: boolean; total: number; write: (s: string) => void; now: () => number }) {
    this.#enabled = options.enabled;
    this.#total = options.total;
    this.#write = options.write;
    this.#now = options.now;
  }

  update(s: ProduceStats, done: boolean): void {
    if (!this.#enabled) return;
    const now = this.#now();
    if (!done && now - this.#last < 200) return;
    this.#last = now;
    this.#write(`\r\x1b[2K${formatProgress(s, this.#total)}`);
    this.#drawn = true;
    if (done) this.#write('\n');
  }

  /** Ends the line if one was drawn and the run did not finish (an error). */
  close(): void {
    if (this.#drawn) this.#write('\n');
    this.#drawn = false;
  }
}

function formatProgress(s: ProduceStats, total: number): string {
  const seconds = Math.max(s.elapsedMs / 1_000, 0.001);
  const pct = total > 0 ? ` (${((s.events / total) * 100).toFixed(0)}%)` : '';
  const rate = Math.round(s.acknowledged / seconds).toLocaleString('en-US');
  const mib = (s.bytes / 1_048_576).toFixed(1);
  return `sent ${s.acknowledged.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${pct}, ${rate} events/s, ${mib} MiB, ${seconds.toFixed(1)} s`;
}
