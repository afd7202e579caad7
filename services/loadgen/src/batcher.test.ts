import { describe, expect, it } from 'vitest';
import { Batcher, InFlight, type Batch } from './batcher.js';

const msg = (i: number): { key: string; value: string } => ({ key: `k${i}`, value: `v${i}` });

describe('Batcher', () => {
  it('cuts batches at maxMessages', () => {
    const b = new Batcher({ maxMessages: 1_000, maxBytes: 1_000_000 });
    const batches: Batch[] = [];
    for (let i = 0; i < 2_500; i++) {
      const out = b.add(msg(i), 10);
      if (out !== undefined) batches.push(out);
    }
    expect(b.pending).toBe(500);
    const rest = b.flush();
    if (rest !== undefined) batches.push(rest);
    expect(batches.map((x) => x.messages.length)).toEqual([1_000, 1_000, 500]);
    expect(batches.flatMap((x) => x.messages.map((m) => m.key))).toEqual(Array.from({ length: 2_500 }, (_, i) => `k${i}`));
    expect(b.flush()).toBeUndefined();
  });

  it('cuts batches at maxBytes, before the message that would overflow', () => {
    const b = new Batcher({ maxMessages: 1_000, maxBytes: 1_000 });
    const sizes: number[][] = [];
    for (let i = 0; i < 10; i++) {
      const out = b.add(msg(i), 300);
      if (out !== undefined) sizes.push(out.messages.map(() => 300));
    }
    expect(sizes).toEqual([
      [300, 300, 300],
      [300, 300, 300],
      [300, 300, 300],
    ]);
    expect(b.flush()?.bytes).toBe(300);
  });

  it('sends a message bigger than maxBytes alone', () => {
    const b = new Batcher({ maxBytes: 100 });
    expect(b.add(msg(1), 10)).toBeUndefined();
    expect(b.add(msg(2), 500)?.messages).toEqual([msg(1)]);
    expect(b.add(msg(3), 10)?.messages).toEqual([msg(2)]);
    expect(b.flush()?.messages).toEqual([msg(3)]);
  });

  it('says when a partial batch has lingered long enough', () => {
    const b = new Batcher({ lingerMs: 50 });
    expect(b.due(1_000)).toBe(false);
    b.add(msg(1), 1, 100);
    b.add(msg(2), 1, 140);
    expect(b.due(149)).toBe(false);
    expect(b.due(150)).toBe(true);
    b.flush();
    expect(b.due(10_000)).toBe(false);
  });
});

describe('InFlight', () => {
  it('runs at most max tasks at once and waits for them all', async () => {
    const f = new InFlight(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 20; i++) {
      await f.submit(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        running--;
        done++;
      });
      expect(f.size).toBeLessThanOrEqual(3);
    }
    await f.drain();
    expect(done).toBe(20);
    expect(peak).toBe(3);
    expect(f.peak).toBe(3);
  });

  it('reports the first failure on the next submit or drain', async () => {
    const f = new InFlight(2);
    await f.submit(() => Promise.reject(new Error('broker said no')));
    await expect(f.drain()).rejects.toThrow('broker said no');
    await expect(f.submit(() => Promise.resolve())).rejects.toThrow('broker said no');
    expect(() => new InFlight(0)).toThrow(RangeError);
  });
});
