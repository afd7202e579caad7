/**
 * The CLI as users run it (a subprocess): replay a golden file, then query the sessions back;
 * migrations; errors for bad input and bad configuration.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '@sessionizer/core';
import { jsonLines, REPO_ROOT, runCli } from '../support/cli.js';

const FIXTURES = join(REPO_ROOT, 'packages/core/fixtures');
const expectedSessions = async (): Promise<Session[]> =>
  JSON.parse(await readFile(join(FIXTURES, 'expected-sessions.json'), 'utf8')) as Session[];
const expectedRejections = async (): Promise<Record<string, Record<string, number>>> =>
  JSON.parse(await readFile(join(FIXTURES, 'expected-rejections.json'), 'utf8')) as Record<string, Record<string, number>>;

describe('sessionizer CLI', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sessionizer-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['posthog-events', 'posthog-events.ndjson', []],
    [
      'posthog-capture',
      'posthog-capture.ndjson',
      ['--token-teams', 'phc_sessionizerGoldenToken0000000000000000=2,phc_sessionizerGoldenOtherTeam000000000000=3'],
    ],
  ])('replays the %s golden file, then query returns the expected sessions', async (format, file, extra) => {
    const dataDir = join(dir, format);
    const rejects = join(dir, `${format}-rejects.ndjson`);
    const replay = await runCli([
      'replay',
      join(FIXTURES, file),
      '--format',
      format,
      '--data-dir',
      dataDir,
      '--rejects',
      rejects,
      '--json',
      ...extra,
    ]);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    const summary = JSON.parse(replay.stdout) as { accepted: number; rejected: Record<string, number>; sessionsWritten: number };
    const rejections = (await expectedRejections())[file] ?? {};
    expect(summary.rejected).toEqual(rejections);
    const rejectLines = jsonLines<{ reason: string; line: number; raw: string | null }>(await readFile(rejects, 'utf8'));
    expect(rejectLines).toHaveLength(Object.values(rejections).reduce((a, b) => a + b, 0));
    expect(rejectLines.every((r) => typeof r.line === 'number' && typeof r.raw === 'string')).toBe(true);

    const query = await runCli([
      'query',
      'SELECT * EXCEPT (max_inserted_at) FROM sessions ORDER BY team_id, toString(session_id)',
      '--data-dir',
      dataDir,
    ]);
    expect(query.code, query.stderr).toBe(0);
    // GeoIP is added by PostHog's ingestion: raw capture messages have none (fixtures/README.md)
    const geoipFree = (rows: Session[]): Session[] =>
      rows.map((r) => ({
        ...r,
        ...Object.fromEntries(
          Object.keys(r)
            .filter((k) => k.startsWith('geoip_'))
            .map((k) => [k, null]),
        ),
      }));
    const expected = format === 'posthog-capture' ? geoipFree(await expectedSessions()) : await expectedSessions();
    expect(jsonLines(query.stdout)).toEqual(expected);

    // replaying the same file again changes nothing (duplicates never double count)
    expect((await runCli(['replay', join(FIXTURES, file), '--format', format, '--data-dir', dataDir, ...extra])).code).toBe(0);
    const again = await runCli([
      'query',
      'SELECT * EXCEPT (max_inserted_at) FROM sessions ORDER BY team_id, toString(session_id)',
      '--data-dir',
      dataDir,
    ]);
    expect(jsonLines(again.stdout)).toEqual(expected);
  });

  it('replays from stdin and prints a human summary', async () => {
    const dataDir = join(dir, 'stdin');
    const input = await readFile(join(FIXTURES, 'posthog-events.ndjson'), 'utf8');
    const r = await runCli(['replay', '-', '--format', 'posthog-events', '--data-dir', dataDir], {}, input);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replayed stdin \(posthog-events\): \d+ events/);
    expect(r.stdout).toMatch(/rejected: 4 \(/);
    const count = await runCli(['query', 'SELECT count() AS n FROM sessions', '--data-dir', dataDir]);
    expect(jsonLines(count.stdout)).toEqual([{ n: (await expectedSessions()).length }]);
  });

  it('bounds oversized lines instead of holding them', async () => {
    const dataDir = join(dir, 'huge');
    const huge = join(dir, 'huge.ndjson');
    const good = (await readFile(join(FIXTURES, 'posthog-events.ndjson'), 'utf8')).split('\n')[0] ?? '';
    await writeFile(huge, `${good}\n{"pad":"${'x'.repeat(10 * 1024 * 1024)}"}\n${good}\n`);
    const r = await runCli(['replay', huge, '--format', 'posthog-events', '--data-dir', dataDir, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { accepted: number; rejected: Record<string, number> };
    expect(s.rejected['event_too_large']).toBe(1);
    expect(s.accepted).toBe(2);
  });

  it('migrate twice: the second run applies nothing', async () => {
    const dataDir = join(dir, 'migrate');
    const first = await runCli(['migrate', '--data-dir', dataDir, '--database', 'analytics']);
    expect(first.stdout).toBe('migrations on analytics: applied 0002, 0003, 0004, R__sessions_view\n');
    const second = await runCli(['migrate', '--data-dir', dataDir, '--database', 'analytics']);
    expect(second.stdout).toBe('migrations on analytics: nothing to apply; up to date: 0002, 0003, 0004, R__sessions_view\n');
  });

  it('CHANNEL_RULES_FILE: checked at start, baked into the view by migrate', async () => {
    const dataDir = join(dir, 'rules');
    const good = join(dir, 'rules-good.json');
    const bad = join(dir, 'rules-bad.json');
    await writeFile(good, JSON.stringify({ '1': [{ channel_type: 'Mine', items: [{ key: 'utm_source', op: 'exact', value: 'mine' }] }] }));
    await writeFile(bad, JSON.stringify({ '1': [{ channel_type: 'Mine', items: [{ key: 'utm_source', op: 'regex', value: '(?=x)' }] }] }));
    const refused = await runCli(['migrate', '--data-dir', dataDir, '--channel-rules-file', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--channel-rules-file '${bad}': 1 problem:`);
    expect(refused.stderr).toContain('team 1, rule 1 ("Mine"), condition 1 value: "(?=x)" is not a valid RE2 regex');
    expect((await runCli(['migrate', '--data-dir', dataDir])).code).toBe(0);
    const withRules = await runCli(['migrate', '--data-dir', dataDir], { CHANNEL_RULES_FILE: good });
    expect(withRules.stdout).toBe('migrations on sessionizer: applied R__sessions_view; up to date: 0002, 0003, 0004\n');
    const view = await runCli([
      'query',
      "SELECT create_table_query AS q FROM system.tables WHERE database = 'sessionizer' AND name = 'sessions'",
      '--data-dir',
      dataDir,
    ]);
    expect(view.stdout).toContain("'Mine'");
  });

  it('fails clearly on bad input and bad configuration', async () => {
    const missing = await runCli(['replay', join(dir, 'nope.ndjson'), '--data-dir', join(dir, 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const format = await runCli(['replay', '--format', 'csv', '--data-dir', join(dir, 'x')]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("--format 'csv' is not one of posthog-events, posthog-capture");
    const db = await runCli(['migrate', '--database', 'bad-name;', '--data-dir', join(dir, 'x')]);
    expect(db.code).toBe(2);
    expect(db.stderr).toContain("--database='bad-name;': must be an identifier");
    const env = await runCli(['migrate', '--data-dir', join(dir, 'x')], { CLICKHOUSE_DATABASE: '1x' });
    expect(env.stderr).toContain("CLICKHOUSE_DATABASE='1x'");
    const unknownEnv = await runCli(['migrate', '--data-dir', join(dir, 'x')], { SESSIONIZER_DATADIR: '/tmp/typo' });
    expect(unknownEnv.code).toBe(2);
    expect(unknownEnv.stderr).toContain('SESSIONIZER_DATADIR: unknown setting');
    const unknownFlag = await runCli(['query', 'SELECT 1', '--nope']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--nope'");
    const noSql = await runCli(['query', '--data-dir', join(dir, 'x')]);
    expect(noSql.code).toBe(2);
    const unknownCommand = await runCli(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
  });

  it('has --help on every command', async () => {
    for (const command of ['migrate', 'replay', 'query', 'run']) {
      const r = await runCli([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`sessionizer ${command}`);
      expect(r.stdout, command).toContain('CLICKHOUSE_URL');
    }
    expect((await runCli(['--help'])).stdout).toContain('usage: sessionizer <command>');
  });
});
