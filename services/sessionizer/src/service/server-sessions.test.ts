/** The server-side session stage: client events untouched, one assigner per source partition, rules counted. */
import { describe, expect, it } from 'vitest';
import { assignServerSessionsOracle, type ServerSessionRule } from '@sessionizer/core';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import { ServerSessionStage, serverSessionTeams } from './server-sessions.js';

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
