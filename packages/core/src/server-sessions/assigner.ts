/**
 * The streaming side of the rule (rule.ts): the open session of each (team_id, distinct_id) of
 * one source partition, in memory, with what persistence needs.
 *
 * Exactness under crashes and rebalances rests on one contract with the store: every flush
 * writes the keys changed since the previous flush (`takeChanges`) with `version` = the offset
 * snapshot of that flush, in the same checkpoint as the partial rows and before the offset
 * commit; a key is read back as its row with the greatest version ≤ the committed offset. The
 * state at an offset is a function of the partition's events before it, so every writer (an old
 * owner during a rebalance, a process that crashed after writing) writes the same row for a
 * version, and the state read back is exactly the state an uninterrupted run had at the offset
 * where re-delivery starts.
 *
 * Memory is a cache of the store: a key may be evicted once its latest state is written in a
 * committed flush (`confirm`); when an event of a key that is not in memory arrives, the caller
 * loads it first (`missing` → store → `load`).
 *
 * With a filter of the keys that may be in the store (`useStoredKeys`, key-filter.ts), `missing`
 * leaves out keys the filter does not hold: they have no row, so the store would answer nothing
 * for them, and they start with no state, as a read of nothing would give. The filter must hold
 * every key the store had when it was built, and every key this assigner evicts afterwards (it
 * adds them itself; `beginStoredKeys` keeps those evicted while a new filter is being built).
 * Rows written since the build by someone else (an old owner during a rebalance) are of keys
 * with events before this assigner's start, whose state at its start was already stored; or of
 * keys with events since, which this assigner holds in memory or evicted.
 */
import type { SessionEvent } from '../event.js';
import type { KeyFilter } from './key-filter.js';
import { serverSessionKey, step, type OpenSession, type ServerSessionOptions, type ServerSessionRule } from './rule.js';

interface Entry {
  state: OpenSession;
  /** Changed since the last `takeChanges`. */
  dirty: boolean;
  /** Number of the flush that last wrote it (0: never written by us). */
  writtenIn: number;
}

export interface StateChange {
  readonly teamId: number;
  readonly distinctId: string;
  readonly state: OpenSession;
}

export interface KeyRef {
  readonly teamId: number;
  readonly distinctId: string;
}

export type RuleCounts = Record<ServerSessionRule, number>;

/** Rough V8 heap bytes of one tracked key (Map entry, key string, entry and state objects, session id string). */
export function estimateTrackedBytes(distinctIdLength: number): number {
  // 612 B measured at 36-character distinct_ids with 200,000 keys (V8 heap after gc, Node 20;
  // `npm run bench:server-sessions`, BENCHMARKS.md), not counting the distinct_id string itself
  return 540 + 2 * distinctIdLength;
}

export class ServerSessionAssigner {
  readonly #options: ServerSessionOptions;
  #entries = new Map<string, Entry>();
  #flush = 0;
  #committedFlush = 0;
  readonly counts: RuleCounts = { new: 0, join: 0, late: 0 };
  /** Keys that may be in the store (undefined: any key may be; `missing` lists all not in memory). */
  #stored: KeyFilter | undefined;
  /** Keys evicted while a filter is being built (`beginStoredKeys`), for the new filter. */
  #evictedDuringBuild: string[] | undefined;

  constructor(options: ServerSessionOptions = {}) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Keys of these events that are not in memory (and, with a filter, may be in the store): load
   * them from the store before `assign`.
   */
  missing(events: Iterable<KeyRef>): KeyRef[] {
    const out = new Map<string, KeyRef>();
    const stored = this.#stored;
    for (const e of events) {
      const key = serverSessionKey(e.teamId, e.distinctId);
      if (this.#entries.has(key) || out.has(key)) continue;
      if (stored !== undefined && !stored.has(key)) continue;
      out.set(key, { teamId: e.teamId, distinctId: e.distinctId });
    }
    return [...out.values()];
  }

  /** A filter for this assigner is being built from the store: keep the keys evicted meanwhile. */
  beginStoredKeys(): void {
    this.#evictedDuringBuild ??= [];
  }

  /**
   * From now on, `missing` lists only keys `filter` holds. It must hold every key the store had
   * when its build began (`beginStoredKeys`, before reading the store).
   */
  useStoredKeys(filter: KeyFilter): void {
    for (const key of this.#evictedDuringBuild ?? []) filter.add(key);
    this.#evictedDuringBuild = undefined;
    this.#stored = filter;
  }

  /** The filter of stored keys in use (undefined: none). */
  get storedKeys(): KeyFilter | undefined {
    return this.#stored;
  }

  /** States read from the store (greatest version ≤ the committed offset). Keys in memory win. */
  load(states: Iterable<StateChange>): void {
    for (const s of states) {
      const key = serverSessionKey(s.teamId, s.distinctId);
      if (!this.#entries.has(key)) this.#entries.set(key, { state: s.state, dirty: false, writtenIn: 0 });
    }
  }

  /** The event with its server-side session id; the key's state moves on. */
  assign(e: SessionEvent): SessionEvent {
    return this.assignWithRule(e).event;
  }

  /** `assign`, and which rule decided (for metrics). */
  assignWithRule(e: SessionEvent): { event: SessionEvent; rule: ServerSessionRule } {
    const key = serverSessionKey(e.teamId, e.distinctId);
    const entry = this.#entries.get(key);
    const result = step(entry?.state, e, this.#options);
    this.counts[result.rule] += 1;
    if (entry === undefined) {
      this.#entries.set(key, { state: result.next, dirty: true, writtenIn: 0 });
    } else {
      if (result.next !== entry.state) {
        entry.state = result.next;
        entry.dirty = true;
      }
      // most recently used last: eviction walks from the front
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return { event: { ...e, sessionId: result.sessionId, sessionIdSource: 'server' }, rule: result.rule };
  }

  /**
   * The keys changed since the last call, for the flush being prepared; returns the flush's
   * number for `confirm`. Call it in the same synchronous step as the offset snapshot.
   */
  takeChanges(): { flush: number; changes: StateChange[] } {
    this.#flush += 1;
    const changes: StateChange[] = [];
    for (const [key, entry] of this.#entries) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      entry.writtenIn = this.#flush;
      const colon = key.indexOf(':');
      changes.push({ teamId: Number(key.slice(0, colon)), distinctId: key.slice(colon + 1), state: entry.state });
    }
    return { flush: this.#flush, changes };
  }

  /** The flush `flush` (and every one before it) is written and its offsets committed. */
  confirm(flush: number): void {
    if (flush > this.#committedFlush) this.#committedFlush = flush;
  }

  /**
   * Drop least recently used keys whose state is safely in the store until at most `maxKeys`
   * remain (keys that are dirty or written by an unconfirmed flush stay). Returns how many.
   */
  evict(maxKeys: number): number {
    let evicted = 0;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= maxKeys) break;
      if (entry.dirty || entry.writtenIn > this.#committedFlush) continue;
      this.#entries.delete(key);
      // the store has it now: a later event of the key must read it back
      this.#stored?.add(key);
      this.#evictedDuringBuild?.push(key);
      evicted += 1;
    }
    return evicted;
  }
}
