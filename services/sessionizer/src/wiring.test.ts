/** `openClickHouseWaiting` on a fake clock: waits for a held embedded directory, then gives up at its deadline. */
import type { ClickHouseHandle } from '@sessionizer/clickhouse';
import { EmbeddedClickHouseLockedError } from '@sessionizer/clickhouse';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { openClickHouseWaiting } from './wiring.js';

const config = loadConfig({ 'data-dir': '/nonexistent/sessionizer-wiring-test' }, {});
const handle = { close: () => Promise.resolve() } as unknown as ClickHouseHandle;
const held = (): EmbeddedClickHouseLockedError => new EmbeddedClickHouseLockedError('/held', new Error('lock'), 4242);

/** A clock that only moves when the code under test sleeps, and the sleeps it was asked for. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
  };
}

describe('openClickHouseWaiting', () => {
  it('retries a held directory until it is free, warning once', async () => {
    const clock = fakeClock();
    const lines: string[] = [];
    let attempts = 0;
    const open = (): ClickHouseHandle => {
      attempts += 1;
      if (attempts <= 3) throw held();
      return handle;
    };
    const got = await openClickHouseWaiting(
      config,
      createLogger('warn', (l) => lines.push(l)),
      {
        waitMs: 30_000,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 1,
        open,
      },
    );
    expect(got).toBe(handle);
    expect(attempts).toBe(4);
    expect(clock.slept).toEqual([100, 200, 400]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('data directory held by another process');
    expect(lines[0]).toContain('4242');
  });

  it('fails with the held-directory error once the wait is over', async () => {
    const clock = fakeClock();
    let attempts = 0;
    const open = (): ClickHouseHandle => {
      attempts += 1;
      throw held();
    };
    const opening = openClickHouseWaiting(
      config,
      createLogger('error', () => undefined),
      {
        waitMs: 5_000,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 1,
        open,
      },
    );
    await expect(opening).rejects.toBeInstanceOf(EmbeddedClickHouseLockedError);
    // 100 + 200 + 400 + 800 + 1600 = 3100 ≤ 5000, then + 2000 = 5100 > 5000: the seventh attempt fails for good
    expect(clock.slept).toEqual([100, 200, 400, 800, 1_600, 2_000]);
    expect(attempts).toBe(7);
  });

  it('fails at once on any other error', async () => {
    const clock = fakeClock();
    const open = (): ClickHouseHandle => {
      throw new Error('bad url');
    };
    await expect(
      openClickHouseWaiting(
        config,
        createLogger('error', () => undefined),
        { now: clock.now, sleep: clock.sleep, open },
      ),
    ).rejects.toThrow('bad url');
    expect(clock.slept).toEqual([]);
  });
});
