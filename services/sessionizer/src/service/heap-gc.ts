/**
 * A full garbage collection right after a flush has written its states (FLUSH_GC_OLD_SPACE_MIB).
 *
 * The session states live from their first event to the next flush (~5 s) and are dropped
 * together when it has written them: at that moment the live heap is at its smallest and the
 * garbage at its largest. Left to itself, with the image's 64 MiB semi-spaces, V8 lets the old
 * generation grow to ~3× its live size between mark-compacts (BENCHMARKS.md, "Why the 64 MiB
 * semi-space costs RSS at 1M events"), and that slack is most of the RSS that grows with the run.
 * A collection here marks only what is live, so it is cheap where V8's own are not, and it
 * resets V8's next limit from the small live size.
 *
 * Trigger: after a flush, V8's old space holds more than `minOldSpaceBytes` and more than
 * GROWTH × what the previous forced collection left (so that a large live heap, e.g. many
 * server-side sessions, is not marked after every flush for little garbage). 0 turns it off.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The old space must have grown by this factor over what the previous forced collection left. */
export const GROWTH = 1.5;

export interface FlushGcOptions {
  /** Collect only above this many bytes of old space used; 0: never. */
  readonly minOldSpaceBytes: number;
  /** Bytes used in V8's old space now. */
  readonly readOldSpaceUsed?: () => number;
  /** A full (mark-compact) collection, synchronous. */
  readonly collect?: () => void;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

export interface FlushGcOutcome {
  readonly beforeBytes: number;
  readonly afterBytes: number;
  readonly ms: number;
}

export function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

let exposed: (() => void) | undefined;
/**
 * V8's `gc()`: node's own when started with --expose-gc, otherwise the extension enabled at run
 * time (`--expose-gc` cannot be given in NODE_OPTIONS on every node 20, and the image should not
 * need an entrypoint flag for it).
 */
export function fullGc(): void {
  if (exposed === undefined) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (typeof global === 'function') exposed = global;
    else {
      setFlagsFromString('--expose-gc');
      exposed = runInNewContext('gc') as () => void;
    }
  }
  exposed();
}

export class FlushGc {
  readonly #min: number;
  readonly #read: () => number;
  readonly #collect: () => void;
  readonly #now: () => number;
  /** Old space used after the previous forced collection. */
  #left = 0;

  constructor(o: FlushGcOptions) {
    this.#min = o.minOldSpaceBytes;
    this.#read = o.readOldSpaceUsed ?? oldSpaceUsed;
    this.#collect = o.collect ?? fullGc;
    this.#now = o.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.#min > 0;
  }

  /** Whether a collection is due at this old-space size. */
  due(used: number): boolean {
    return this.enabled && used > this.#min && used > this.#left * GROWTH;
  }

  /** Called when a flush has written its states and dropped them: collect when due. */
  afterFlush(): FlushGcOutcome | undefined {
    if (!this.enabled) return undefined;
    const before = this.#read();
    if (!this.due(before)) return undefined;
    const t = this.#now();
    this.#collect();
    const ms = this.#now() - t;
    this.#left = this.#read();
    return { beforeBytes: before, afterBytes: this.#left, ms };
  }
}
