/** Normalisation keeps events without $session_id for server-side sessions only when told, per team. */
import { describe, expect, it } from 'vitest';
import { serverEvent } from '../../../../test/support/server-sessions.js';
import { serialize } from '../../../../test/support/stream.js';
import { normalize } from '../formats/index.js';
import { UNASSIGNED_SESSION_ID } from '../formats/common.js';
import { deterministicUuidV7 } from './id.js';

const noSession = (teamId: number, format: 'posthog-events' | 'posthog-capture'): string => {
  const e = serverEvent(7, 3, 'backend-user', teamId);
  return serialize(e, format, { $lib: 'posthog-node', utm_source: 'crm' });
};

describe('normalize with server-side sessions', () => {
  for (const format of ['posthog-events', 'posthog-capture'] as const) {
    it(`${format}: off → excluded as no_session_id`, () => {
      const r = normalize(format, noSession(1, format), { tokenTeams: new Map([['phc_test_team_1', 1]]) });
      expect(r).toMatchObject({ ok: false, reason: 'no_session_id', action: 'drop' });
    });

    it(`${format}: on for the team → kept, unassigned, marked server`, () => {
      const r = normalize(format, noSession(1, format), {
        tokenTeams: new Map([['phc_test_team_1', 1]]),
        serverSessions: (team) => team === 1,
      });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.event).toMatchObject({
        sessionId: UNASSIGNED_SESSION_ID,
        sessionIdSource: 'server',
        distinctId: 'backend-user',
        utmSource: 'crm',
      });
    });

    it(`${format}: on for another team → still excluded`, () => {
      const r = normalize(format, noSession(2, format), {
        tokenTeams: new Map([['phc_test_team_2', 2]]),
        serverSessions: (team) => team === 1,
      });
      expect(r).toMatchObject({ ok: false, reason: 'no_session_id' });
    });
  }

  it('an event with a $session_id keeps the client rules: a bad id is still excluded, not given a server session', () => {
    const e = serverEvent(8, 3, 'backend-user', 1);
    const r = normalize('posthog-events', serialize(e, 'posthog-events', { $session_id: 'not-a-uuid' }), { serverSessions: () => true });
    expect(r).toMatchObject({ ok: false, reason: 'session_id_not_uuidv7' });
    const clientId = deterministicUuidV7(Math.floor(e.timestamp / 1000), 'client');
    const client = normalize('posthog-events', serialize(e, 'posthog-events', { $session_id: clientId }), { serverSessions: () => true });
    expect(client).toMatchObject({ ok: true, event: { sessionId: clientId } });
    expect(client.ok && client.event.sessionIdSource).toBe(undefined);
  });
});
