/**
 * The server-side session stage, between normalisation and aggregation (`run` and `replay`):
 * events kept without $session_id (NormalizeOptions.serverSessions) get their session from the
 * rule of @sessionizer/core (server-sessions/rule.ts), with one assigner per source partition —
 * the rule is defined on a partition's arrival order.
 *
 * With a store (`run`), the stage keeps each partition's assigner exactly at the partition's
 * position (ARCHITECTURE.md, *Server-side sessions*):
 *   - `prepare`, before a batch: when the batch does not start where the assigner stopped
 *     (first batch after a start or a rebalance, kafkajs re-delivering from the last commit),
 *     memory is dropped; then the keys of the batch that are not in memory are read from the
 *     store as of the batch's first offset (the row with the greatest version ≤ it). A new
 *     assigner first reads which keys the store has for the partition (a filter, rebuilt when
 *     full), and keys it does not hold are not read: they have no row, so nothing is read back.
 *   - `processed`, once the batch's events are applied (in the synchronous step that folds the
 *     batch into the aggregate, with the offsets): the position moves past the batch. Not in
 *     `prepare`: between a prepared batch and its ingestion a flush may take a checkpoint (the
 *     previous flush's completion, a stop), and its rows must not claim a batch not yet applied.
 *   - `takeChanges`, in the flush's synchronous step: the keys changed since the previous flush,
 *     with version = the partition's position (the state is exactly that of the events before it).
 *   - `written`, once the store has them: those keys may be evicted (least recently used first,
 *     down to `maxTrackedKeys`), since the store gives them back as they are.
 */
import { ServerSessionAssigner, type Normalized, type ServerSessionRule, type SessionEvent } from '@sessionizer/core';
import type { ServerSessionStore, StateWrite } from '@sessionizer/clickhouse';
import type { PartitionBatch, SourceRecord, TopicPartition } from '@sessionizer/kafka';
import type { ServerSessionsSetting } from '../config.js';

const DEFAULT_MAX_TRACKED_KEYS = 200_000;

export interface ServerSessionStageOptions {
  readonly idleMs: number;
  /** `run`: where state survives restarts and rebalances. `replay` has none: a file is one whole stream. */
  readonly store?: ServerSessionStore | undefined;
  /** Bound on distinct_ids kept in memory over all partitions (default 200,000). */
  readonly maxTrackedKeys?: number;
  /** Called once per assigned event, with the rule that decided. */
  readonly onAssigned?: (rule: ServerSessionRule) => void;
  /** Called for an event whose message key does not keep its distinct_id on one partition. */
  readonly onMisrouted?: (reason: MisroutedReason, example: { key: string | null; distinctId: string; teamId: number }) => void;
}

export type MisroutedReason = 'no_key' | 'other_key';

/**
 * Does a message key keep all events of the distinct_id on one partition? PostHog's capture keys
 * messages `token:distinct_id`; a key equal to the distinct_id does too. No key (round-robin or
 * sticky partitioning, PostHog's overflow rerouting) or any other key may spread a distinct_id
 * over partitions, and then its server-side sessions depend on which instance reads what.
 */
export function checkKey(key: Buffer | null, distinctId: string): MisroutedReason | undefined {
  if (key === null || key.length === 0) return 'no_key';
  const text = key.toString('utf8');
  if (text === distinctId || (text.endsWith(distinctId) && text.charCodeAt(text.length - distinctId.length - 1) === 0x3a)) return undefined;
  return 'other_key';
}

/** NormalizeOptions.serverSessions for a setting: undefined when off. */
export function serverSessionTeams(setting: ServerSessionsSetting): ((teamId: number) => boolean) | undefined {
  if (setting === 'off') return undefined;
  if (setting === 'all') return () => true;
  const teams = new Set(setting);
  return (teamId) => teams.has(teamId);
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  assigner: ServerSessionAssigner;
  /** The next offset the assigner expects (its state is that of the events before it). */
  position: string | undefined;
}

/** Changes taken by a flush: what to write, and what to confirm once written. */
export interface StateCheckpoint {
  readonly writes: readonly StateWrite[];
  readonly flushes: readonly { readonly partition: PartitionState; readonly assigner: ServerSessionAssigner; readonly flush: number }[];
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ServerSessionStage {
  readonly #options: ServerSessionStageOptions;
  readonly #partitions = new Map<string, PartitionState>();

  constructor(options: ServerSessionStageOptions) {
    this.#options = options;
  }

  get persistent(): boolean {
    return this.#options.store !== undefined;
  }

  #state(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let p = this.#partitions.get(key);
    if (p === undefined) {
      p = { topic, partition, assigner: this.#newAssigner(), position: undefined };
      this.#partitions.set(key, p);
    }
    return p;
  }

  #newAssigner(): ServerSessionAssigner {
    return new ServerSessionAssigner({ idleMs: this.#options.idleMs });
  }

  /** The assigner of a source partition (created on first use). */
  assigner(topic: string, partition: number): ServerSessionAssigner {
    return this.#state(topic, partition).assigner;
  }

  /**
   * Before a batch (with a store): decode it, put the partition's assigner at the batch's first
   * offset, and load the keys it lacks. Resolves to the decoded records.
   */
  async prepare(batch: PartitionBatch, decode: (record: SourceRecord) => Normalized, signal?: AbortSignal): Promise<Normalized[]> {
    const decoded = batch.records.map(decode);
    const first = batch.records[0];
    const last = batch.records[batch.records.length - 1];
    if (first === undefined || last === undefined) return decoded;
    const p = this.#state(batch.topic, batch.partition);
    if (p.position !== first.offset) {
      // not where the assigner stopped: its memory is of other offsets
      p.assigner = this.#newAssigner();
    }
    const store = this.#options.store;
    if (store !== undefined) {
      if (store.storedKeys !== undefined && (p.assigner.storedKeys === undefined || p.assigner.storedKeys.full)) {
        // once per assigner (and when its filter is full): which keys the store may have, so
        // that keys it cannot have (new distinct_ids) are not read (assigner.ts)
        const assigner = p.assigner;
        assigner.beginStoredKeys();
        const filter = await store.storedKeys(batch.topic, batch.partition, signal);
        assigner.useStoredKeys(filter);
      }
      const events = decoded.flatMap((r) => (r.ok && r.event.sessionIdSource === 'server' ? [r.event] : []));
      const missing = p.assigner.missing(events);
      if (missing.length > 0) p.assigner.load(await store.load(batch.topic, batch.partition, missing, first.offset, signal));
    }
    // the assigner stays at the batch's first offset: `processed` moves it once the events are applied
    p.position = first.offset;
    return decoded;
  }

  /**
   * Every event of the partition up to and including `lastOffset` is applied: the assigner's
   * state is that of the events before `lastOffset + 1`, the version its next changes carry.
   */
  processed(topic: string, partition: number, lastOffset: string): void {
    this.#state(topic, partition).position = (BigInt(lastOffset) + 1n).toString();
  }

  /**
   * The event with its session: the client's untouched, a server-side one assigned. `key`: the
   * message key, checked against the partitioning requirement (undefined: not from Kafka).
   */
  apply(topic: string, partition: number, event: SessionEvent, key?: Buffer | null): SessionEvent {
    if (event.sessionIdSource !== 'server') return event;
    if (key !== undefined && this.#options.onMisrouted !== undefined) {
      const bad = checkKey(key, event.distinctId);
      if (bad !== undefined) {
        this.#options.onMisrouted(bad, {
          key: key === null ? null : key.toString('utf8').slice(0, 200),
          distinctId: event.distinctId.slice(0, 200),
          teamId: event.teamId,
        });
      }
    }
    const { event: assigned, rule } = this.assigner(topic, partition).assignWithRule(event);
    this.#options.onAssigned?.(rule);
    return assigned;
  }

  /** In the flush's synchronous step: the changed keys of every partition, at its position. */
  takeChanges(): StateCheckpoint | undefined {
    if (this.#options.store === undefined) return undefined;
    const writes: StateWrite[] = [];
    const flushes: StateCheckpoint['flushes'][number][] = [];
    for (const p of this.#partitions.values()) {
      if (p.position === undefined) continue;
      const { flush, changes } = p.assigner.takeChanges();
      flushes.push({ partition: p, assigner: p.assigner, flush });
      if (changes.length > 0) writes.push({ topic: p.topic, partition: p.partition, version: p.position, changes });
    }
    return { writes, flushes };
  }

  /** Write a checkpoint's states (before the offsets are committed). */
  async write(checkpoint: StateCheckpoint, signal?: AbortSignal): Promise<number> {
    const store = this.#options.store;
    if (store === undefined || checkpoint.writes.length === 0) return 0;
    return (await store.write(checkpoint.writes, signal)).rows;
  }

  /** The checkpoint is in the store: its keys may leave memory. */
  written(checkpoint: StateCheckpoint): void {
    const share = Math.max(
      1_000,
      Math.floor((this.#options.maxTrackedKeys ?? DEFAULT_MAX_TRACKED_KEYS) / Math.max(1, this.#partitions.size)),
    );
    for (const f of checkpoint.flushes) {
      f.assigner.confirm(f.flush);
      if (f.partition.assigner === f.assigner) f.assigner.evict(share);
    }
  }

  /** After a rebalance: forget the partitions that are not ours (the store has what was written). */
  retain(assignment: readonly TopicPartition[]): void {
    const owned = new Set(assignment.map((tp) => partitionKey(tp.topic, tp.partition)));
    for (const key of [...this.#partitions.keys()]) if (!owned.has(key)) this.#partitions.delete(key);
  }

  /** Tracked distinct_ids over all partitions. */
  get trackedKeys(): number {
    let n = 0;
    for (const p of this.#partitions.values()) n += p.assigner.size;
    return n;
  }
}

/**
 * onMisrouted for the service: every event is counted (by the caller's `count`); a warning is
 * logged for the first one and then at most once per `intervalMs`, with how many were not logged.
 */
export function misroutedReporter(
  count: (reason: MisroutedReason) => void,
  warn: (message: string, fields: Record<string, unknown>) => void,
  now: () => number,
  intervalMs = 60_000,
): NonNullable<ServerSessionStageOptions['onMisrouted']> {
  let lastLog = -Infinity;
  let suppressed = 0;
  return (reason, example) => {
    count(reason);
    const t = now();
    if (t - lastLog < intervalMs) {
      suppressed += 1;
      return;
    }
    warn(
      'server-side sessions: a message key does not keep its distinct_id on one partition (producers must key messages token:distinct_id; docs/operations.md)',
      {
        reason,
        ...example,
        notLoggedSinceLastWarning: suppressed,
      },
    );
    lastLog = t;
    suppressed = 0;
  };
}
