/** The TTY progress line: disabled → silent; a bar with a known total; rejected reasons; throttling. Time comes from an injected clock. */
import { describe, expect, it } from 'vitest';
import { Progress, type ProgressSnapshot } from './progress.js';

/** A hand-moved clock in milliseconds. */
const fakeClock = (start = 1_000) => {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

const snap = (o: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  events: 10,
  accepted: 8,
  rejected: {},
  bytesRead: 0,
  totalBytes: undefined,
  sessionsWritten: 3,
  ...o,
});

describe('Progress', () => {
  it('writes nothing when disabled', () => {
    const out: string[] = [];
    const p = new Progress(false, (s) => out.push(s));
    p.update(snap(), true);
    p.done();
    expect(out).toEqual([]);
  });

  it('redraws one line: carriage return, clear, counts, rejected reasons with a count', () => {
    const out: string[] = [];
    const clock = fakeClock();
    const p = new Progress(true, (s) => out.push(s), clock.now);
    clock.advance(2_000);
    p.update(snap({ rejected: { malformed_json: 2, schema_invalid: 0, event_too_large: 1 } }), true);
    expect(out).toHaveLength(1);
    const drawn = out[0] ?? '';
    expect(drawn.startsWith('\r\u001b[2K')).toBe(true);
    expect(drawn.slice(5)).toBe('10 events 5/s, 3 sessions written, rejected: malformed_json=2 event_too_large=1');
  });

  it('shows a bar and a percentage when the total size is known, capped at 100%', () => {
    const out: string[] = [];
    const p = new Progress(true, (s) => out.push(s), fakeClock().now);
    p.update(snap({ bytesRead: 50, totalBytes: 100 }), true);
    p.update(snap({ bytesRead: 150, totalBytes: 100 }), true);
    expect(out[0]).toContain(`[${'#'.repeat(12)}${'.'.repeat(12)}]  50% `);
    expect(out[1]).toContain(`[${'#'.repeat(24)}] 100% `);
  });

  it('redraws at most every 200 ms unless forced, and the first update draws at once', () => {
    const out: string[] = [];
    const clock = fakeClock();
    const p = new Progress(true, (s) => out.push(s), clock.now);
    p.update(snap());
    expect(out).toHaveLength(1);
    clock.advance(199);
    p.update(snap());
    p.update(snap());
    expect(out).toHaveLength(1);
    p.update(snap(), true);
    expect(out).toHaveLength(2);
    clock.advance(199);
    p.update(snap());
    expect(out).toHaveLength(2);
    clock.advance(1);
    p.update(snap());
    expect(out).toHaveLength(3);
  });

  it('the rate is events over the time since it started (never divides by zero)', () => {
    const out: string[] = [];
    const clock = fakeClock();
    const p = new Progress(true, (s) => out.push(s), clock.now);
    p.update(snap({ events: 0 }), true);
    clock.advance(500);
    p.update(snap({ events: 1_000 }), true);
    expect(out[0]).toContain('0 events 0/s');
    expect(out[1]).toContain('1000 events 2000/s');
  });

  it('done() ends the line only if something was drawn', () => {
    const out: string[] = [];
    const p = new Progress(true, (s) => out.push(s), fakeClock().now);
    p.done();
    expect(out).toEqual([]);
    p.update(snap(), true);
    p.done();
    expect(out.at(-1)).toBe('\n');
  });
});
