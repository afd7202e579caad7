/** The server-side session stage: client events untouched, one assigner per source partition, rules counted. */
import { describe, expect, it } from 'vitest';
import {
  KeyFilter,
  serverSessionKey,
  type KeyRef,
  type Normalized,
  type ServerSessionRule,
  type SessionEvent,
  type StateChange,
} from '@sessionizer/core';
import { assignServerSessionsOracle } from '@sessionizer/core/testing';
import type { ServerSessionStore, StateWrite } from '@sessionizer/clickhouse';
import type { PartitionBatch } from '@sessionizer/kafka';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import { checkKey, misroutedReporter, ServerSessionStage, serverSessionTeams, type MisroutedReason } from './server-sessions.js';

const unassigned = (n: number, minutes: number, distinctId = 'u') => ({
  ...serverEvent(n, minutes, distinctId),
  sessionIdSource: 'server' as const,
});

describe('ServerSessionStage', () => {
  it('leaves client events alone', () => {
    const stage = new ServerSessionStage({ idleMs: 1_800_000 });
    const client = { ...serverEvent(1, 0), sessionId: '019ad9a0-0000-7000-8000-000000000001' };
    expect(stage.apply('t', 0, client)).toBe(client);
    expect(stage.trackedKeys).toBe(0);
  });

  it('assigns per partition, as the oracle does on each partition, and counts the rules', () => {
    const rules: ServerSessionRule[] = [];
    const stage = new ServerSessionStage({ idleMs: 1_800_000, onAssigned: (r) => rules.push(r) });
    const p0 = [unassigned(1, 0), unassigned(2, 10), unassigned(3, 100), unassigned(4, 50)];
    const p1 = [unassigned(5, 5), unassigned(6, 7)];
    const out0 = p0.map((e) => stage.apply('t', 0, e));
    const out1 = p1.map((e) => stage.apply('t', 1, e));
    expect(out0.map((e) => e.sessionId)).toEqual(assignServerSessionsOracle(p0));
    expect(out1.map((e) => e.sessionId)).toEqual(assignServerSessionsOracle(p1));
    expect(out0.every((e) => e.sessionIdSource === 'server')).toBe(true);
    expect(rules).toEqual(['new', 'join', 'new', 'late', 'new', 'join']);
    // the same key on two partitions is two states: the partitioning requirement
    expect(stage.trackedKeys).toBe(2);
  });

  it('serverSessionTeams: off, all, or the listed teams', () => {
    expect(serverSessionTeams('off')).toBeUndefined();
    expect(serverSessionTeams('all')?.(123)).toBe(true);
    const some = serverSessionTeams([2, 7]);
    expect([1, 2, 7].map((t) => some?.(t))).toEqual([false, true, true]);
  });
});

describe('the partitioning check', () => {
  it('accepts token:distinct_id and the bare distinct_id; flags no key and other keys', () => {
    expect(checkKey(Buffer.from('phc_abc:user-1'), 'user-1')).toBeUndefined();
    expect(checkKey(Buffer.from('user-1'), 'user-1')).toBeUndefined();
    expect(checkKey(Buffer.from('phc:a:b'), 'a:b')).toBeUndefined();
    expect(checkKey(null, 'user-1')).toBe('no_key');
    expect(checkKey(Buffer.alloc(0), 'user-1')).toBe('no_key');
    expect(checkKey(Buffer.from('phc_abc:xuser-1'), 'user-1')).toBe('other_key');
    expect(checkKey(Buffer.from('0f0e0d0c-0b0a-4000-9000-000000000001'), 'user-1')).toBe('other_key');
  });

  it('the stage counts every misrouted event; the reporter logs the first, then at most once per interval', () => {
    const counted: MisroutedReason[] = [];
    const logged: Record<string, unknown>[] = [];
    let clock = 0;
    const report = misroutedReporter(
      (r) => counted.push(r),
      (_m, fields) => logged.push(fields),
      () => clock,
      60_000,
    );
    const stage = new ServerSessionStage({ idleMs: 1_800_000, onMisrouted: report });
    stage.apply('t', 0, unassigned(1, 0, 'a'), Buffer.from('phc:a'));
    stage.apply('t', 0, unassigned(2, 1, 'a'), null);
    clock = 1_000;
    stage.apply('t', 0, unassigned(3, 2, 'a'), Buffer.from('other'));
    stage.apply('t', 0, unassigned(4, 3, 'a'), null);
    clock = 61_000;
    stage.apply('t', 0, unassigned(5, 4, 'a'), Buffer.from('other'));
    // replay: no key to check
    stage.apply('t', 0, unassigned(6, 5, 'a'));
    expect(counted).toEqual(['no_key', 'other_key', 'no_key', 'other_key']);
    expect(logged).toEqual([
      { reason: 'no_key', key: null, distinctId: 'a', teamId: 1, notLoggedSinceLastWarning: 0 },
      { reason: 'other_key', key: 'other', distinctId: 'a', teamId: 1, notLoggedSinceLastWarning: 2 },
    ]);
  });
});

/** The store contract in memory (the ClickHouse store is tested on the engine: server-sessions.test.ts). */
class MemoryStore implements ServerSessionStore {
  readonly rows: (StateChange & { topic: string; partition: number; version: bigint })[] = [];
  write(writes: readonly StateWrite[]): Promise<{ rows: number; bytes: number }> {
    for (const w of writes)
      for (const c of w.changes) this.rows.push({ ...c, topic: w.topic, partition: w.partition, version: BigInt(w.version) });
    return Promise.resolve({ rows: writes.reduce((n, w) => n + w.changes.length, 0), bytes: 0 });
  }
  load(topic: string, partition: number, keys: readonly KeyRef[], maxVersion: string): Promise<StateChange[]> {
    const out: StateChange[] = [];
    for (const k of keys) {
      const rows = this.rows.filter(
        (r) =>
          r.topic === topic &&
          r.partition === partition &&
          r.teamId === k.teamId &&
          r.distinctId === k.distinctId &&
          r.version <= BigInt(maxVersion),
      );
      const best = rows.sort((a, b) => (a.version < b.version ? -1 : 1)).at(-1);
      if (best !== undefined) out.push({ teamId: best.teamId, distinctId: best.distinctId, state: best.state });
    }
    return Promise.resolve(out);
  }
}

/** Partition 0 of topic 't', one record per event from offset `from`, keyed as the capture API does. */
const batchOf = (events: SessionEvent[], from: number): PartitionBatch => ({
  topic: 't',
  partition: 0,
  records: events.map((e, i) => ({
    topic: 't',
    partition: 0,
    offset: String(from + i),
    key: Buffer.from(`phc:${e.distinctId}`),
    value: null,
    headers: {},
  })),
  lagAfter: 0,
});
const decodeFrom =
  (events: SessionEvent[], from: number) =>
  (r: { offset: string }): Normalized => ({ ok: true, event: events[Number(r.offset) - from] as SessionEvent, warnings: [] });
/** As the consumer: prepare, apply every event, then processed (the aggregator's synchronous step). */
const run = async (stage: ServerSessionStage, events: SessionEvent[], from: number): Promise<string[]> => {
  await stage.prepare(batchOf(events, from), decodeFrom(events, from));
  const ids = events.map((e) => stage.apply('t', 0, e).sessionId);
  if (events.length > 0) stage.processed('t', 0, String(from + events.length - 1));
  return ids;
};

describe('ServerSessionStage with a store', () => {
  it('a re-delivery from an earlier offset meets the state of that offset, not of memory', async () => {
    const events = [unassigned(1, 0), unassigned(2, 10), unassigned(3, 100), unassigned(4, 50), unassigned(5, 101)];
    const expected = assignServerSessionsOracle(events);
    const store = new MemoryStore();
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store });
    expect(await run(stage, events.slice(0, 2), 0)).toEqual(expected.slice(0, 2));
    const checkpoint = stage.takeChanges();
    expect(checkpoint?.writes.map((w) => w.version)).toEqual(['2']);
    await stage.write(checkpoint as NonNullable<typeof checkpoint>);
    expect(await run(stage, events.slice(2), 2)).toEqual(expected.slice(2));
    // kafkajs re-delivers from the last commit (offset 2): memory is at 5, the store at 2
    expect(await run(stage, events.slice(2), 2)).toEqual(expected.slice(2));
    // a new instance (after a crash) from offset 2
    const fresh = new ServerSessionStage({ idleMs: 1_800_000, store });
    expect(await run(fresh, events.slice(2), 2)).toEqual(expected.slice(2));
  });

  it('a checkpoint taken between a prepared batch and its events has the version of the events applied', async () => {
    // The consumer applies a batch one microtask after `prepare` resolves, and a stop applies it
    // not at all: a flush may take its checkpoint in between. Its offsets are those of the events
    // applied, and so must be its state's version, or a restart at that commit misses the state.
    const events = [unassigned(1, 0), unassigned(2, 10), unassigned(3, 20), unassigned(4, 200), unassigned(5, 201)];
    const expected = assignServerSessionsOracle(events);
    const store = new MemoryStore();
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store });
    expect(await run(stage, events.slice(0, 2), 0)).toEqual(expected.slice(0, 2));
    await stage.prepare(batchOf(events.slice(2, 4), 2), decodeFrom(events.slice(2, 4), 2));
    const between = stage.takeChanges();
    expect(between?.writes.map((w) => w.version)).toEqual(['2']);
    await stage.write(between as NonNullable<typeof between>);
    // the batch is applied after all, and the next checkpoint is at its end
    expect(events.slice(2, 4).map((e) => stage.apply('t', 0, e).sessionId)).toEqual(expected.slice(2, 4));
    stage.processed('t', 0, '3');
    const after = stage.takeChanges();
    expect(after?.writes.map((w) => w.version)).toEqual(['4']);
    await stage.write(after as NonNullable<typeof after>);
    // a new instance resuming at either checkpoint's offsets meets the state of that offset
    for (const from of [2, 4]) {
      const fresh = new ServerSessionStage({ idleMs: 1_800_000, store });
      expect(await run(fresh, events.slice(from), from), `from ${from}`).toEqual(expected.slice(from));
    }
  });

  it('evicts written keys down to the bound and reads them back unchanged', async () => {
    const store = new MemoryStore();
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store, maxTrackedKeys: 0 });
    const events = Array.from({ length: 1_500 }, (_, i) => unassigned(i, i * 0.001, `k${i}`));
    const first = await run(stage, events, 0);
    const checkpoint = stage.takeChanges();
    if (checkpoint === undefined) throw new Error('no checkpoint');
    await stage.write(checkpoint);
    stage.written(checkpoint);
    expect(stage.trackedKeys).toBe(1_000); // the per-partition floor
    const again = events.map((e, i) => unassigned(10_000 + i, i * 0.001 + 1, e.distinctId));
    const second = await run(stage, again, 1_500);
    expect(second).toEqual(first); // every key joins its open session, evicted or not
  });
});

/** MemoryStore with `storedKeys`: the stage reads only the keys the store may have. */
class FilteringStore extends MemoryStore {
  readonly loaded: string[] = [];
  builds = 0;
  /** Capacity of the filters it builds (0: the minimum, 1,024 keys). */
  capacity = 0;
  override load(topic: string, partition: number, keys: readonly KeyRef[], maxVersion: string): Promise<StateChange[]> {
    this.loaded.push(...keys.map((k) => k.distinctId));
    return super.load(topic, partition, keys, maxVersion);
  }
  storedKeys(topic: string, partition: number): Promise<KeyFilter> {
    this.builds += 1;
    const filter = new KeyFilter(this.capacity);
    for (const r of this.rows) if (r.topic === topic && r.partition === partition) filter.add(serverSessionKey(r.teamId, r.distinctId));
    return Promise.resolve(filter);
  }
}

describe('ServerSessionStage with a store that filters its keys', () => {
  const flush = async (stage: ServerSessionStage): Promise<void> => {
    const checkpoint = stage.takeChanges();
    if (checkpoint === undefined) throw new Error('no checkpoint');
    await stage.write(checkpoint);
    stage.written(checkpoint);
  };

  it('new distinct_ids are not read; a restart reads the stored ones, and assigns as the oracle', async () => {
    const events = [
      unassigned(1, 0, 'a'),
      unassigned(2, 10, 'b'),
      unassigned(3, 100, 'a'),
      unassigned(4, 50, 'a'),
      unassigned(5, 101, 'c'),
    ];
    const expected = assignServerSessionsOracle(events.filter((e) => e.distinctId === 'a'));
    const store = new FilteringStore();
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store });
    const first = await run(stage, events.slice(0, 2), 0);
    expect(store.loaded).toEqual([]); // an empty store: nothing to read
    await flush(stage);
    const rest = await run(stage, events.slice(2), 2);
    expect(store.loaded).toEqual([]); // a and b in memory, c new: still nothing read
    expect([...first, ...rest].filter((_, i) => events[i]?.distinctId === 'a')).toEqual(expected);
    expect(store.builds).toBe(1);
    // a new instance from the commit at 2: a and b are stored and read, c (never written) is not
    const fresh = new ServerSessionStage({ idleMs: 1_800_000, store });
    expect(await run(fresh, events.slice(2), 2)).toEqual(rest);
    expect(store.loaded).toEqual(['a']);
    expect(store.builds).toBe(2);
    // and the same through a stage whose store does not filter (every key not in memory is read)
    const unfiltered = new ServerSessionStage({ idleMs: 1_800_000, store: new MemoryStore() });
    expect(await run(unfiltered, events, 0)).toEqual([...first, ...rest]);
  });

  it('evicted keys are read back; a full filter is rebuilt from the store', async () => {
    const store = new FilteringStore();
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store, maxTrackedKeys: 0 });
    const events = Array.from({ length: 1_500 }, (_, i) => unassigned(i, i * 0.001, `k${i}`));
    const first = await run(stage, events, 0);
    await flush(stage);
    expect(stage.trackedKeys).toBe(1_000); // the per-partition floor; 500 evicted into the filter
    expect(store.loaded).toEqual([]);
    const again = events.map((e, i) => unassigned(10_000 + i, i * 0.001 + 1, e.distinctId));
    // the filter (1,024 keys) now holds 500 evicted keys; more new keys fill it
    const extra = Array.from({ length: 600 }, (_, i) => unassigned(20_000 + i, 2, `n${i}`));
    await run(stage, extra, 1_500);
    await flush(stage);
    expect(store.builds).toBe(1);
    const second = await run(stage, again, 2_100);
    expect(second).toEqual(first); // every key joins its open session, evicted or not
    expect(store.builds).toBe(2); // the first filter was full: rebuilt before this batch
    // only stored keys were read, and some were: those evicted
    const stored = new Set(store.rows.map((r) => r.distinctId));
    expect(store.loaded.length).toBeGreaterThan(0);
    expect(store.loaded.filter((k) => !stored.has(k))).toEqual([]);
  });
});
