/**
 * `sessionizer replay`: NDJSON through normalise → aggregate → sink from stdin or a file, with
 * a fake sink; the rejects file; the summary and its text.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, REJECT_REASONS, type RejectReason, type SessionState } from '@sessionizer/core';
import type { SessionSink, WriteStats } from '@sessionizer/clickhouse';
import { eventFor } from '../../../../test/support/arbitraries.js';
import { serialize, TEST_TOKENS } from '../../../../test/support/stream.js';
import { Progress } from '../progress.js';
import { formatSummary, replay, type ReplayOptions, type ReplaySummary } from './replay.js';

class MemorySink implements SessionSink {
  readonly writes: SessionState[][] = [];
  write(states: readonly SessionState[]): Promise<WriteStats> {
    this.writes.push([...states]);
    return Promise.resolve({ rows: states.length, bytes: states.length * 10, inserts: 1, attempts: 1, durationMs: 0 });
  }
}

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sessionizer-replay-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (team: number, session: number, index: number): string => serialize(eventFor(team, session, index), 'posthog-events');

function options(o: Partial<ReplayOptions> & { text?: string }): ReplayOptions {
  return {
    input: '-',
    stdin: Readable.from([Buffer.from(o.text ?? '')]),
    format: 'posthog-events',
    normalize: { tokenTeams: TEST_TOKENS },
    sink: new MemorySink(),
    policy: { intervalMs: 3_600_000, maxSessions: 100_000, maxBytes: 1 << 30 },
    rejectsPath: undefined,
    progress: new Progress(false, () => undefined),
    ...o,
  };
}

describe('replay', () => {
  it('counts lines, blanks, accepted and rejected by reason, writes sessions, and lists rejects', async () => {
    const sink = new MemorySink();
    const rejectsPath = join(dir, 'rejects.ndjson');
    const text = [line(1, 0, 1), '', line(1, 0, 2), '{"broken"', '   ', line(2, 1, 3), `{"x":"${'y'.repeat(2_000)}"}`].join('\n');
    const summary = await replay(
      options({ text, sink, rejectsPath, normalize: { limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1_024 } } }),
    );
    expect(summary).toMatchObject({
      input: '-',
      format: 'posthog-events',
      lines: 7,
      blank: 2,
      accepted: 3,
      flushes: 1,
      sessionsWritten: 2,
      inserts: 1,
      bytesWritten: 20,
    });
    expect(summary.rejected.malformed_json).toBe(1);
    expect(summary.rejected.event_too_large).toBe(1);
    expect(Object.keys(summary.rejected).sort()).toEqual([...REJECT_REASONS].sort());
    expect(sink.writes.flat()).toHaveLength(2);
    const rejects = readFileSync(rejectsPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rejects).toEqual([
      { line: 4, reason: 'malformed_json', message: expect.stringMatching(/not valid JSON/) as unknown, raw: '{"broken"' },
      { line: 7, reason: 'event_too_large', message: 'line of 2008 bytes exceeds 1024', raw: null },
    ]);
  });

  it('flushes whenever the policy says so, and once at the end', async () => {
    const sink = new MemorySink();
    const text = [0, 1, 2, 3, 4].map((s) => line(1, s, s)).join('\n');
    const summary = await replay(options({ text, sink, policy: { intervalMs: 3_600_000, maxSessions: 2, maxBytes: 1 << 30 } }));
    expect(sink.writes.map((w) => w.length)).toEqual([2, 2, 1]);
    expect(summary.flushes).toBe(3);
    expect(summary.sessionsWritten).toBe(5);
  });

  it('reads a file, and refuses what is not a regular file', async () => {
    const path = join(dir, 'events.ndjson');
    writeFileSync(path, `${line(1, 0, 1)}\n`);
    expect((await replay(options({ input: path }))).accepted).toBe(1);
    await expect(replay(options({ input: dir }))).rejects.toThrow(/^cannot read .*: not a regular file$/);
    await expect(replay(options({ input: join(dir, 'missing') }))).rejects.toThrow(/^cannot read /);
  });
});

describe('formatSummary', () => {
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  const base: ReplaySummary = {
    input: 'events.ndjson',
    format: 'posthog-capture',
    lines: 12,
    blank: 2,
    accepted: 7,
    rejected: { ...rejected, malformed_json: 2, no_session_id: 1 },
    warnings: {},
    flushes: 2,
    sessionsWritten: 5,
    inserts: 3,
    bytesWritten: 999,
    seconds: 1.234,
    eventsPerSecond: 8,
  };

  it('prints events, accepted, rejected by reason and what was written', () => {
    expect(formatSummary(base)).toBe(
      [
        'replayed events.ndjson (posthog-capture): 10 events in 1.23 s (8/s)',
        '  accepted: 7',
        '  rejected: 3 (malformed_json: 2, no_session_id: 1)',
        '  written:  5 session partials in 3 inserts over 2 flushes',
        '',
      ].join('\n'),
    );
  });

  it('says stdin for -, omits an empty reason list, and adds warnings when there are some', () => {
    const text = formatSummary({ ...base, input: '-', rejected, warnings: { field_truncated: 4, timestamp_in_future_clamped: 1 } });
    expect(text).toContain('replayed stdin (posthog-capture)');
    expect(text).toContain('  rejected: 0\n');
    expect(text.endsWith('  warnings: field_truncated: 4, timestamp_in_future_clamped: 1\n')).toBe(true);
  });
});
