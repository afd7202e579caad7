/** The aggregator: one synchronous checkpoint of states, dead letters and the offsets they cover; commit only of a written one. */
import { describe, expect, it } from 'vitest';
import { normalize } from '@sessionizer/core';
import type { DeadLetterRecord } from '@sessionizer/kafka';
import { eventFor, type EventPools } from '../../../../test/support/arbitraries.js';
import { serialize } from '../../../../test/support/stream.js';
import type { ServerSessionStore, StateWrite } from '@sessionizer/clickhouse';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import { Aggregator, writeCheckpoint, type Checkpoint, type WrittenCheckpoint } from './aggregator.js';
import { ServerSessionStage } from './server-sessions.js';

const POOLS: EventPools = { teams: [1], sessions: 10, uuids: 1_000, timeSlots: 10 };
const P0 = [{ topic: 't', partition: 0 }];

function add(a: Aggregator, session: number, uuid: number): void {
  const r = normalize('posthog-events', serialize(eventFor(1, session, uuid, POOLS), 'posthog-events'), {});
  if (!r.ok) throw new Error(r.message);
  a.add(r.event);
}

const letter = (n: number): DeadLetterRecord => ({ key: null, value: Buffer.alloc(n), headers: {} });

describe('Aggregator', () => {
  it('a checkpoint holds everything processed so far and leaves the aggregate empty', () => {
    const a = new Aggregator();
    add(a, 1, 1);
    add(a, 2, 2);
    a.deadLetter(letter(10), 'malformed_json');
    a.processed('t', 0, '2');
    expect([a.sessions, a.deadLetters, a.bytes - a.stateBytes]).toEqual([2, 1, 10 + 256]);
    const stateBytes = a.stateBytes;
    const c = a.checkpoint(P0);
    expect(c.states).toHaveLength(2);
    expect(c.deadLetters.map((d) => d.reason)).toEqual(['malformed_json']);
    expect(c.offsets).toEqual([{ topic: 't', partition: 0, offset: '3' }]);
    expect(c.stateBytes).toBe(stateBytes);
    expect([a.sessions, a.deadLetters, a.bytes]).toEqual([0, 0, 0]);
  });

  it('offsets stay uncommitted until a written checkpoint is committed; only owned partitions are in it', async () => {
    const a = new Aggregator();
    add(a, 1, 1);
    a.processed('t', 0, '0');
    a.processed('t', 1, '5');
    const c = a.checkpoint(P0);
    expect(c.offsets).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
    // @ts-expect-error a checkpoint that was not written cannot be committed
    a.committed(c satisfies Checkpoint);
    const a2 = new Aggregator();
    add(a2, 1, 1);
    a2.processed('t', 0, '0');
    const written: string[][] = [];
    const { checkpoint, stats } = await writeCheckpoint(a2.checkpoint(P0), {
      states: (states) => {
        written.push(states.map((s) => s.sessionId));
        return Promise.resolve(states.length);
      },
      deadLetters: () => Promise.reject(new Error('no dead letters in this checkpoint')),
    });
    expect(stats).toBe(1);
    expect(written).toHaveLength(1);
    expect(a2.uncommitted(P0)).toHaveLength(1);
    a2.committed(checkpoint satisfies WrittenCheckpoint);
    expect(a2.uncommitted(P0)).toEqual([]);
  });
});

describe('Aggregator with server-side sessions', () => {
  it('the checkpoint carries the changed state, taken in the same step; it is written with the states or not at all', async () => {
    const stored: StateWrite[] = [];
    const store: ServerSessionStore = {
      write: (writes) => {
        stored.push(...writes);
        return Promise.resolve({ rows: writes.length, bytes: 0 });
      },
      load: () => Promise.resolve([]),
    };
    const stage = new ServerSessionStage({ idleMs: 1_800_000, store });
    const a = new Aggregator({ serverSessions: stage });
    const events = [serverEvent(1, 0, 'u'), serverEvent(2, 1, 'v')].map((e) => ({ ...e, sessionIdSource: 'server' as const }));
    const batch = {
      topic: 't',
      partition: 0,
      records: events.map((_, i) => ({ topic: 't', partition: 0, offset: String(i), key: null, value: null, headers: {} })),
      lagAfter: 0,
    };
    await stage.prepare(batch, (r) => ({ ok: true, event: events[Number(r.offset)] as (typeof events)[number], warnings: [] }));
    for (const e of events) a.add(stage.apply('t', 0, e));
    a.processed('t', 0, '1');
    const c = a.checkpoint(P0);
    expect(c.offsets).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
    expect(c.serverSessions?.writes.map((w) => [w.version, w.changes.length])).toEqual([['2', 2]]);
    // nothing changed since: the next checkpoint has no state to write
    expect(a.checkpoint(P0).serverSessions?.writes).toEqual([]);
    // a checkpoint with state cannot become a WrittenCheckpoint without its writer
    await expect(writeCheckpoint(c, { states: () => Promise.resolve(0), deadLetters: () => Promise.resolve() })).rejects.toThrow(
      /server-side session state/,
    );
    const { checkpoint } = await writeCheckpoint(c, {
      states: () => Promise.resolve(0),
      deadLetters: () => Promise.resolve(),
      serverSessions: (changes) => stage.write(changes),
    });
    a.written(checkpoint);
    expect(stored.map((w) => w.version)).toEqual(['2']);
  });
});
