import { describe, expect, it } from 'vitest';
import { generate } from '@sessionizer/generator';
import type { Batch } from './batcher.js';
import type { Clock } from './clock.js';
import { TokenBucket } from './rate-limiter.js';
import { produce, type Sink } from './run.js';

class FakeClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.t += ms;
    return Promise.resolve();
  }
}

class MemorySink implements Sink {
  batches: Batch[] = [];
  closed = false;
  async send(batch: Batch): Promise<void> {
    await Promise.resolve();
    this.batches.push(batch);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('produce', () => {
  it('sends every message once, in order, in batches, and counts them by kind', async () => {
    const options = { seed: 4, format: 'posthog-capture', events: 2_345, rates: { duplicates: 0.05, invalid: 0.05 } } as const;
    const sink = new MemorySink();
    const progress: number[] = [];
    const stats = await produce({
      messages: generate(options),
      sink,
      clock: new FakeClock(),
      batch: { maxMessages: 500 },
      byteLength,
      onProgress: (s) => progress.push(s.acknowledged),
    });
    const expected = [...generate(options)];
    const sent = sink.batches.flatMap((b) => b.messages);
    expect(sent).toEqual(expected.map((m) => ({ key: m.key, value: m.value })));
    expect(sink.batches.map((b) => b.messages.length)).toEqual([500, 500, 500, 500, 345]);
    expect(stats.events).toBe(2_345);
    expect(stats.acknowledged).toBe(2_345);
    expect(stats.bytes).toBe(expected.reduce((n, m) => n + byteLength(m.value), 0));
    expect(stats.byKind.event + stats.byKind.duplicate + stats.byKind.invalid + stats.byKind.no_session_id).toBe(2_345);
    expect(stats.byKind.duplicate).toBeGreaterThan(50);
    expect(progress.at(-1)).toBe(2_345);
  });

  it('keeps to the rate limit, flushing partial batches while it waits', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const stats = await produce({
      messages: generate({ seed: 1, format: 'posthog-events', events: 1_000 }),
      sink,
      clock,
      limiter: new TokenBucket(200, { clock }),
      byteLength,
    });
    expect(stats.events).toBe(1_000);
    // 1000 messages at 200/s: ~5 s of (fake) time
    expect(clock.now()).toBeGreaterThan(4_900);
    expect(clock.now()).toBeLessThan(5_100);
    // linger 50 ms at 200/s: batches of about 10, not one of 1000
    expect(sink.batches.length).toBeGreaterThan(50);
    expect(Math.max(...sink.batches.map((b) => b.messages.length))).toBeLessThanOrEqual(20);
  });

  it('stops early when aborted and still delivers what it generated', async () => {
    const clock = new FakeClock();
    const sink = new MemorySink();
    const controller = new AbortController();
    let seen = 0;
    const messages = (function* () {
      for (const m of generate({ seed: 1, format: 'posthog-events', events: 10_000 })) {
        if (++seen === 1_234) controller.abort();
        yield m;
      }
    })();
    const stats = await produce({ messages, sink, clock, byteLength, signal: controller.signal });
    expect(stats.events).toBe(1_233);
    expect(sink.batches.flatMap((b) => b.messages)).toHaveLength(1_233);
  });

  it('fails when the sink fails', async () => {
    const sink: Sink = { send: () => Promise.reject(new Error('NOT_LEADER_FOR_PARTITION')), close: () => Promise.resolve() };
    await expect(
      produce({ messages: generate({ seed: 1, format: 'posthog-events', events: 5_000 }), sink, clock: new FakeClock(), byteLength }),
    ).rejects.toThrow('NOT_LEADER');
  });
});
