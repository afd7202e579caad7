/**
 * What may be committed. For each partition: the offset after the last message processed
 * (folded into the buffer, queued for the dead-letter topic, or excluded). A flush snapshots
 * this together with the buffer it drains, so the snapshot never covers a message that the
 * flush does not write.
 */
import type { CommitOffset, TopicPartition } from '@sessionizer/kafka';

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class OffsetTracker {
  readonly #processed = new Map<string, CommitOffset>();
  readonly #committed = new Map<string, string>();

  /** Record that every message of the partition up to and including `lastOffset` is processed. */
  processed(topic: string, partition: number, lastOffset: string): void {
    const k = key(topic, partition);
    const next = (BigInt(lastOffset) + 1n).toString();
    const prev = this.#processed.get(k);
    // Only forward: after a rebalance kafkajs may re-deliver from the last commit (duplicates).
    if (prev === undefined || BigInt(prev.offset) < BigInt(next)) this.#processed.set(k, { topic, partition, offset: next });
  }

  /** Offsets processed but not yet committed, for the given assignment (all if undefined). */
  snapshot(assignment?: readonly TopicPartition[]): CommitOffset[] {
    const owned = assignment === undefined ? undefined : new Set(assignment.map((tp) => key(tp.topic, tp.partition)));
    const out: CommitOffset[] = [];
    for (const [k, o] of this.#processed) {
      if (owned !== undefined && !owned.has(k)) continue;
      if (this.#committed.get(k) !== o.offset) out.push(o);
    }
    return out;
  }

  markCommitted(offsets: readonly CommitOffset[]): void {
    for (const o of offsets) this.#committed.set(key(o.topic, o.partition), o.offset);
  }

  /** Forget partitions that are no longer ours (their events are still flushed). */
  retain(assignment: readonly TopicPartition[]): void {
    const owned = new Set(assignment.map((tp) => key(tp.topic, tp.partition)));
    for (const k of [...this.#processed.keys()]) {
      if (!owned.has(k)) {
        this.#processed.delete(k);
        this.#committed.delete(k);
      }
    }
  }

  committed(topic: string, partition: number): string | undefined {
    return this.#committed.get(key(topic, partition));
  }
}
