/**
 * `sessionizer replay` of archives, as users run it (a subprocess, the embedded engine): a
 * gzip-compressed export from a file and from a pipe gives exactly the sessions of the plain
 * file; an input compressed another way, or not text at all, fails with a message (exit 1)
 * instead of being rejected line by line as malformed JSON.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '@sessionizer/core';
import { jsonLines, REPO_ROOT, runCli } from '../support/cli.js';

const FIXTURES = join(REPO_ROOT, 'packages/core/fixtures');
const GOLDEN = join(FIXTURES, 'posthog-events.ndjson');
const QUERY = 'SELECT * EXCEPT (max_inserted_at) FROM sessions ORDER BY team_id, toString(session_id)';

interface Summary {
  readonly compression: string | null;
  readonly rejected: Record<string, number>;
}

describe('sessionizer replay of archives', () => {
  let dir = '';
  let expected: Session[] = [];
  let rejections: Record<string, number> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionizer-archives-'));
    expected = JSON.parse(await readFile(join(FIXTURES, 'expected-sessions.json'), 'utf8')) as Session[];
    const all = JSON.parse(await readFile(join(FIXTURES, 'expected-rejections.json'), 'utf8')) as Record<string, Record<string, number>>;
    rejections = all['posthog-events.ndjson'] ?? {};
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a .gz file and a gzip pipe like the plain file', async () => {
    const gz = gzipSync(await readFile(GOLDEN));
    const file = join(dir, 'events.ndjson.gz');
    await writeFile(file, gz);
    for (const [name, args, input] of [
      ['file', [file], undefined],
      ['pipe', ['-'], gz],
    ] as const) {
      const dataDir = join(dir, `gzip-${name}`);
      const r = await runCli(['replay', ...args, '--format', 'posthog-events', '--data-dir', dataDir, '--json'], {}, input);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as Summary;
      expect(summary.compression).toBe('gzip');
      // the same rejections as the plain file (a handful of bad lines), not one per "line" of compressed bytes
      expect(summary.rejected).toEqual(rejections);
      const sessions = await runCli(['query', QUERY, '--data-dir', dataDir]);
      expect(sessions.code, sessions.stderr).toBe(0);
      expect(jsonLines(sessions.stdout)).toEqual(expected);
    }
  });

  it('fails with a message, writing nothing, on zstd, xz, bzip2 or binary input', async () => {
    const zst = join(dir, 'events.ndjson.zst');
    // a zstd frame header followed by what would be its compressed blocks
    await writeFile(zst, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x64, 0x00]), Buffer.alloc(200, 0x41)]));
    const dataDir = join(dir, 'refused');
    const r = await runCli(['replay', zst, '--format', 'posthog-events', '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `sessionizer replay: ${zst} is zstd-compressed: not supported, decompress it first (e.g. \`zstd -dc ${zst} | sessionizer replay - …\`)\n`,
    );
    for (const [what, bytes, message] of [
      ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]), 'stdin is xz-compressed: not supported, decompress it first'],
      ['bzip2', Buffer.from('BZh91AY&SY\x01\x02', 'latin1'), 'stdin is bzip2-compressed: not supported, decompress it first'],
      ['binary', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 97 + 13) % 256)), 'stdin is not text: binary data'],
    ] as const) {
      const piped = await runCli(['replay', '-', '--format', 'posthog-events', '--data-dir', dataDir], {}, bytes);
      expect(piped.code, what).toBe(1);
      expect(piped.stderr, what).toContain(`sessionizer replay: ${message}`);
    }
    const count = await runCli(['query', 'SELECT count() AS n FROM sessions_raw', '--data-dir', dataDir]);
    expect(jsonLines(count.stdout)).toEqual([{ n: 0 }]);
  });
});
