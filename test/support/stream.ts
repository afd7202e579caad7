/**
 * A test stream of PostHog messages with a known answer: events for many sessions (teams share
 * session ids), serialised in either input format, plus duplicates, invalid messages and events
 * without $session_id, shuffled. The expected sessions are the oracle's over what normalises.
 */
import fc from 'fast-check';
import { formatTimestamp, normalize, type InputFormat, type NormalizeOptions, type Session, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { eventFor } from './arbitraries.js';

export const TEST_TOKENS = new Map([
  ['phc_test_team_1', 1],
  ['phc_test_team_2', 2],
  ['phc_test_team_3', 3],
]);

export interface StreamMessage {
  readonly key: string;
  readonly value: string;
}

export interface TestStream {
  readonly messages: StreamMessage[];
  readonly expected: Session[];
  /** Values of the messages that must be dead-lettered (invalid input). */
  readonly invalid: string[];
  /** Values excluded by a session rule (no $session_id …). */
  readonly excluded: string[];
  readonly format: InputFormat;
  readonly normalizeOptions: NormalizeOptions;
}

function properties(e: SessionEvent): Record<string, unknown> {
  return {
    $session_id: e.sessionId,
    $current_url: e.currentUrl,
    $referring_domain: e.referringDomain,
    utm_source: e.utmSource,
    utm_medium: e.utmMedium,
    utm_campaign: e.utmCampaign,
    utm_content: e.utmContent,
    gclid: e.gclid,
    gad_source: e.gadSource,
    fbclid: e.fbclid,
    $browser: 'Chrome',
    $os: 'Mac OS X',
    $lib: 'web',
    $lib_version: '1.200.0',
    $device_type: 'Desktop',
  };
}

export function serialize(e: SessionEvent, format: InputFormat, props: Record<string, unknown> = properties(e)): string {
  if (format === 'posthog-events') {
    return JSON.stringify({
      uuid: e.uuid,
      event: e.event,
      team_id: e.teamId,
      distinct_id: e.distinctId,
      timestamp: formatTimestamp(e.timestamp),
      properties: JSON.stringify(props),
      elements_chain: '',
      created_at: formatTimestamp(e.timestamp + 1_000_000),
      project_id: e.teamId,
    });
  }
  const iso = new Date(Math.floor(e.timestamp / 1000)).toISOString();
  return JSON.stringify({
    uuid: e.uuid,
    distinct_id: e.distinctId,
    ip: '203.0.113.7',
    now: iso,
    token: `phc_test_team_${e.teamId}`,
    data: JSON.stringify({ event: e.event, properties: props }),
  });
}

export function buildStream(options: {
  seed: number;
  sessions: number;
  maxEventsPerSession: number;
  format?: InputFormat;
  duplicates?: number;
  invalid?: number;
  noSessionId?: number;
}): TestStream {
  const format = options.format ?? 'posthog-events';
  const normalizeOptions: NormalizeOptions = { tokenTeams: TEST_TOKENS };
  const [counts = []] = fc.sample(fc.array(fc.nat(), { minLength: options.sessions, maxLength: options.sessions }), {
    seed: options.seed,
    numRuns: 1,
  });
  const events: SessionEvent[] = [];
  for (let s = 0; s < options.sessions; s += 1) {
    const team = 1 + (s % 3);
    const n = 1 + ((counts[s] ?? 0) % options.maxEventsPerSession);
    // session index reused across teams: equal session ids, different teams
    const sessionIndex = Math.floor(s / 2);
    for (let i = 0; i < n; i += 1) {
      const e = eventFor(team, sessionIndex, i + (s % 2) * 1000, {
        teams: [1, 2, 3],
        sessions: options.sessions,
        uuids: 5000,
        timeSlots: 60,
      });
      events.push(e);
    }
  }
  const unique = [...new Map(events.map((e) => [e.uuid, e])).values()];
  const messages: StreamMessage[] = unique.map((e, i) => ({
    // keys like PostHog capture's token:distinct_id, so one session spreads over partitions
    key: `phc_test_team_${e.teamId}:${e.distinctId}:${i % 7}`,
    value: serialize(e, format),
  }));
  const pick = (i: number): StreamMessage => messages[(i * 7919) % messages.length] as StreamMessage;
  for (let i = 0; i < (options.duplicates ?? 0); i += 1) messages.push(pick(i));

  const invalid: string[] = [];
  const sample = unique[0];
  for (let i = 0; i < (options.invalid ?? 0); i += 1) {
    const kinds = [
      `{"uuid": "broken json ${i}"`,
      JSON.stringify({
        uuid: `not-a-uuid-${i}`,
        event: '$pageview',
        team_id: 1,
        distinct_id: 'x',
        timestamp: '2026-11-26 10:00:00',
        properties: '{}',
      }),
      sample === undefined
        ? '[]'
        : serialize({ ...sample, uuid: `0f0e0d0c-0b0a-4000-9000-${String(900000 + i).padStart(12, '0')}` }, format).replace(
            /"team_id":\d+/,
            '"team_id":"abc"',
          ),
      '\u0000\u0001binary',
      sample === undefined
        ? ''
        : serialize(
            {
              ...sample,
              uuid: `0f0e0d0c-0b0a-4000-9000-${String(800000 + i).padStart(12, '0')}`,
              sessionId: '0f0e0d0c-0b0a-4000-9000-000000000abc',
            },
            format,
          ),
    ];
    invalid.push(kinds[i % kinds.length] ?? '');
  }
  const excluded: string[] = [];
  for (let i = 0; i < (options.noSessionId ?? 0) && sample !== undefined; i += 1) {
    const e = { ...sample, uuid: `0f0e0d0c-0b0a-4000-9000-${String(700000 + i).padStart(12, '0')}` };
    const props = properties(e);
    delete props['$session_id'];
    excluded.push(serialize(e, format, props));
  }
  // classify the injected messages by what the pipeline will do with them
  const dlq = invalid.filter((v) => {
    const r = normalize(format, v, normalizeOptions);
    return !r.ok && r.action === 'dlq';
  });
  const dropped = [...invalid, ...excluded].filter((v) => {
    const r = normalize(format, v, normalizeOptions);
    return !r.ok && r.action === 'drop';
  });
  for (const v of [...invalid, ...excluded]) messages.push({ key: 'bad', value: v });

  const [order = []] = fc.sample(fc.shuffledSubarray(messages, { minLength: messages.length }), { seed: options.seed + 1, numRuns: 1 });
  const accepted = order.flatMap((m) => {
    const r = normalize(format, m.value, normalizeOptions);
    return r.ok ? [r.event] : [];
  });
  return { messages: order, expected: sessionize(accepted), invalid: dlq, excluded: dropped, format, normalizeOptions };
}
