/**
 * `sessionizer replay`: NDJSON through normalise → aggregate → sink from stdin or a file, with
 * a fake sink; the rejects file; the summary and its text.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, REJECT_REASONS, type RejectReason, type SessionState } from '@sessionizer/core';
import type { SessionSink, WriteStats } from '@sessionizer/clickhouse';
import { eventFor } from '../../../../test/support/arbitraries.js';
import { serialize, TEST_TOKENS } from '../../../../test/support/stream.js';
import { InputError } from '../input.js';
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

  it('reads a gzip archive from a file and from stdin like the plain text', async () => {
    const text = [line(1, 0, 1), line(1, 0, 2), '{"broken"', line(2, 1, 3)].join('\n');
    const plain = await replay(options({ text }));
    const path = join(dir, 'events.ndjson.gz');
    writeFileSync(path, gzipSync(text));
    const sink = new MemorySink();
    const fromFile = await replay(options({ input: path, sink }));
    const fromStdin = await replay(options({ stdin: Readable.from([gzipSync(text)]) }));
    for (const s of [fromFile, fromStdin]) {
      expect(s.compression).toBe('gzip');
      expect({ ...s, input: '-', compression: null, seconds: 0, eventsPerSecond: 0 }).toEqual({ ...plain, seconds: 0, eventsPerSecond: 0 });
    }
    expect(plain.compression).toBeNull();
    expect(fromFile.accepted).toBe(3);
    expect(sink.writes.flat()).toHaveLength(2);
  });

  it('fails, writing nothing, on input that is not text or is compressed another way', async () => {
    const zstd = join(dir, 'events.ndjson.zst');
    writeFileSync(zstd, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01, 0x02]));
    const sink = new MemorySink();
    const rejectsPath = join(dir, 'rejects.ndjson');
    await expect(replay(options({ input: zstd, sink, rejectsPath }))).rejects.toThrow(
      `${zstd} is zstd-compressed: not supported, decompress it first (e.g. \`zstd -dc ${zstd} | sessionizer replay - …\`)`,
    );
    await expect(
      replay(options({ stdin: Readable.from([Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256))]), sink })),
    ).rejects.toThrow(/^stdin is not text: binary data/);
    expect(sink.writes).toEqual([]);
    expect(existsSync(rejectsPath)).toBe(false);
  });

  it('fails with the line it reached when a gzip archive breaks off, having written what came before', async () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => line(1, i, i));
    const gz = gzipSync(lines.join('\n'));
    const sink = new MemorySink();
    const error = await replay(
      options({
        stdin: Readable.from([gz.subarray(0, gz.length - 200)]),
        sink,
        policy: { intervalMs: 3_600_000, maxSessions: 100, maxBytes: 1 << 30 },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /^stdin: the gzip data is corrupt or truncated \(unexpected end of file\); after line \d+: the sessions flushed before it are written, and replaying the whole input again is safe/,
    );
    expect(sink.writes.flat().length).toBeGreaterThan(0);
  });
});

describe('formatSummary', () => {
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  const base: ReplaySummary = {
    input: 'events.ndjson',
    format: 'posthog-capture',
    compression: null,
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

  it('names the compression of an archive', () => {
    expect(formatSummary({ ...base, input: 'events.ndjson.gz', compression: 'gzip' })).toMatch(
      /^replayed events\.ndjson\.gz \(gzip, posthog-capture\): 10 events/,
    );
  });

  it('says stdin for -, omits an empty reason list, and adds warnings when there are some', () => {
    const text = formatSummary({ ...base, input: '-', rejected, warnings: { field_truncated: 4, timestamp_in_future_clamped: 1 } });
    expect(text).toContain('replayed stdin (posthog-capture)');
    expect(text).toContain('  rejected: 0\n');
    expect(text.endsWith('  warnings: field_truncated: 4, timestamp_in_future_clamped: 1\n')).toBe(true);
  });
});
