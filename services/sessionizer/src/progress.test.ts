/** The TTY progress line: disabled → silent; a bar with a known total; rejected reasons; throttling. */
import { describe, expect, it } from 'vitest';
import { Progress, type ProgressSnapshot } from './progress.js';

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
    const p = new Progress(true, (s) => out.push(s));
    p.update(snap({ rejected: { malformed_json: 2, schema_invalid: 0, event_too_large: 1 } }), true);
    expect(out).toHaveLength(1);
    const drawn = out[0] ?? '';
    expect(drawn.startsWith('\r\u001b[2K')).toBe(true);
    expect(drawn.slice(5)).toMatch(/^10 events \d+\/s, 3 sessions written, rejected: malformed_json=2 event_too_large=1$/);
  });

  it('shows a bar and a percentage when the total size is known, capped at 100%', () => {
    const out: string[] = [];
    const p = new Progress(true, (s) => out.push(s));
    p.update(snap({ bytesRead: 50, totalBytes: 100 }), true);
    p.update(snap({ bytesRead: 150, totalBytes: 100 }), true);
    expect(out[0]).toContain(`[${'#'.repeat(12)}${'.'.repeat(12)}]  50% `);
    expect(out[1]).toContain(`[${'#'.repeat(24)}] 100% `);
  });

  it('redraws at most every 200 ms unless forced', () => {
    const out: string[] = [];
    const p = new Progress(true, (s) => out.push(s));
    p.update(snap());
    p.update(snap());
    p.update(snap());
    expect(out).toHaveLength(1);
    p.update(snap(), true);
    expect(out).toHaveLength(2);
  });

  it('done() ends the line only if something was drawn', () => {
    const out: string[] = [];
    const p = new Progress(true, (s) => out.push(s));
    p.done();
    expect(out).toEqual([]);
    p.update(snap(), true);
    p.done();
    expect(out.at(-1)).toBe('\n');
  });
});
