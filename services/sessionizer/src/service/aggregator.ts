/**
 * The aggregate step: what has been processed since the last checkpoint — session states, dead
 * letters waiting to be written, and the offsets they cover — handed out as one checkpoint.
 *
 * INVARIANT (end-to-end acknowledgement): a checkpoint's offsets cover exactly the messages
 * whose states and dead letters are in that checkpoint (or that were excluded): `checkpoint()`
 * drains both and snapshots the offsets in one synchronous step. Offsets reach a commit only as
 * a `WrittenCheckpoint`, which `writeCheckpoint` alone makes, after the sink and the dead-letter
 * queue resolved: commit-after-write is a type, not an order of statements.
 *
 * With server-side sessions (SERVER_SESSIONS, `run`), the checkpoint also carries the state rows
 * of the distinct_ids changed since the previous one (taken in the same synchronous step, at each
 * partition's position), and `writeCheckpoint` writes them with the states: the state a restart
 * reads back is never behind the committed offsets (ARCHITECTURE.md, invariant 7).
 */
import { SessionBuffer, type SessionEvent, type SessionState } from '@sessionizer/core';
import type { CommitOffset, DeadLetterRecord, TopicPartition } from '@sessionizer/kafka';
import { OffsetTracker } from './offsets.js';
import type { ServerSessionStage, StateCheckpoint } from './server-sessions.js';

/** A dead letter and why (the reason labels the dead-lettered metric once it is written). */
export interface PendingDeadLetter {
  readonly record: DeadLetterRecord;
  readonly reason: string;
}

export interface Checkpoint {
  readonly states: readonly SessionState[];
  readonly deadLetters: readonly PendingDeadLetter[];
  /** Next offsets to commit once the states and dead letters are written (owned partitions only). */
  readonly offsets: readonly CommitOffset[];
  /** Estimated heap of the drained states (the buffered-bytes gauge counts them until written). */
  readonly stateBytes: number;
  /** Server-side session state changed since the previous checkpoint (undefined: no store). */
  readonly serverSessions: StateCheckpoint | undefined;
}

declare const written: unique symbol;
/** A checkpoint whose states and dead letters are durably written: its offsets may be committed. */
export type WrittenCheckpoint = Checkpoint & { readonly [written]: true };

/** Estimated bytes a dead letter holds: its key and value, plus headers and bookkeeping. */
const deadLetterBytes = (r: DeadLetterRecord): number => (r.value?.length ?? 0) + (r.key?.length ?? 0) + 256;

export class Aggregator {
  #buffer = new SessionBuffer();
  #deadLetters: PendingDeadLetter[] = [];
  #deadLetterBytes = 0;
  readonly #offsets = new OffsetTracker();
  readonly #serverSessions: ServerSessionStage | undefined;

  constructor(options: { readonly serverSessions?: ServerSessionStage | undefined } = {}) {
    this.#serverSessions = options.serverSessions;
  }

  add(event: SessionEvent): void {
    this.#buffer.add(event);
  }

  deadLetter(record: DeadLetterRecord, reason: string): void {
    this.#deadLetters.push({ record, reason });
    this.#deadLetterBytes += deadLetterBytes(record);
  }

  /** Every message of the partition up to and including `lastOffset` is added, dead-lettered or excluded. */
  processed(topic: string, partition: number, lastOffset: string): void {
    this.#offsets.processed(topic, partition, lastOffset);
    // the server-side session state moves with the offsets, in the same synchronous step
    this.#serverSessions?.processed(topic, partition, lastOffset);
  }

  /** Buffered session states. */
  get sessions(): number {
    return this.#buffer.size;
  }

  /** Estimated heap of the buffered states. */
  get stateBytes(): number {
    return this.#buffer.bytes;
  }

  get deadLetters(): number {
    return this.#deadLetters.length;
  }

  /** Estimated heap of the states and the dead letters waiting. */
  get bytes(): number {
    return this.#buffer.bytes + this.#deadLetterBytes;
  }

  /** Offsets processed and not yet committed, of the given partitions. */
  uncommitted(assignment: readonly TopicPartition[]): CommitOffset[] {
    return this.#offsets.snapshot(assignment);
  }

  /** One synchronous step: everything processed so far, and an empty aggregate. */
  checkpoint(assignment: readonly TopicPartition[]): Checkpoint {
    const stateBytes = this.#buffer.bytes;
    const states = this.#buffer.drain();
    const deadLetters = this.#deadLetters;
    this.#deadLetters = [];
    this.#deadLetterBytes = 0;
    const serverSessions = this.#serverSessions?.takeChanges();
    return { states, deadLetters, offsets: this.#offsets.snapshot(assignment), stateBytes, serverSessions };
  }

  /** The checkpoint is written: its server-side session keys may leave memory (the store has them). */
  written(checkpoint: WrittenCheckpoint): void {
    if (checkpoint.serverSessions !== undefined) this.#serverSessions?.written(checkpoint.serverSessions);
  }

  committed(checkpoint: WrittenCheckpoint): void {
    this.#offsets.markCommitted(checkpoint.offsets);
  }

  /** Forget partitions that are no longer ours (what was processed of them is still written). */
  retain(assignment: readonly TopicPartition[]): void {
    this.#offsets.retain(assignment);
    this.#serverSessions?.retain(assignment);
  }
}

export interface CheckpointWriters<W> {
  /** Writes the states; resolves once they are durable. */
  readonly states: (states: readonly SessionState[]) => Promise<W>;
  /** Writes the dead letters; resolves once they are durable. */
  readonly deadLetters: (records: readonly DeadLetterRecord[]) => Promise<void>;
  /** Writes the server-side session state; required when the checkpoint carries any. */
  readonly serverSessions?: (changes: StateCheckpoint) => Promise<unknown>;
}

/**
 * Write a checkpoint's states, dead letters and server-side session state (concurrently); only
 * then is it a WrittenCheckpoint.
 */
export async function writeCheckpoint<W>(
  checkpoint: Checkpoint,
  writers: CheckpointWriters<W>,
): Promise<{ checkpoint: WrittenCheckpoint; stats: W | undefined }> {
  const state = checkpoint.serverSessions;
  if (state !== undefined && state.writes.length > 0 && writers.serverSessions === undefined) {
    throw new Error('a checkpoint with server-side session state needs a writer for it');
  }
  const [stats] = await Promise.all([
    checkpoint.states.length === 0 ? undefined : writers.states(checkpoint.states),
    checkpoint.deadLetters.length === 0 ? undefined : writers.deadLetters(checkpoint.deadLetters.map((d) => d.record)),
    state === undefined || state.writes.length === 0 ? undefined : writers.serverSessions?.(state),
  ]);
  return { checkpoint: checkpoint as WrittenCheckpoint, stats };
}
