/** The JSON logger: one object per line, level filter, error serialisation, child fields. */
import { describe, expect, it } from 'vitest';
import { COMPONENTS, componentLog, createLogger, silentLogger } from './log.js';

function capture(level: Parameters<typeof createLogger>[0]) {
  const lines: string[] = [];
  const log = createLogger(level, (l) => lines.push(l));
  const records = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records };
}

describe('createLogger', () => {
  it('writes one JSON object per line with ts, level, msg and the fields', () => {
    const c = capture('debug');
    c.log.info('hello', { n: 1, s: 'x' });
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]?.endsWith('\n')).toBe(true);
    expect(c.lines[0]?.indexOf('\n')).toBe((c.lines[0]?.length ?? 0) - 1);
    const [r] = c.records();
    expect(r).toMatchObject({ level: 'info', msg: 'hello', n: 1, s: 'x' });
    expect(new Date(String(r?.['ts'])).toISOString()).toBe(r?.['ts']);
  });

  it('drops records below its level', () => {
    const c = capture('warn');
    c.log.debug('d');
    c.log.info('i');
    c.log.warn('w');
    c.log.error('e');
    expect(c.records().map((r) => r['level'])).toEqual(['warn', 'error']);
  });

  it('serialises errors with code, retriable and the cause chain', () => {
    const c = capture('info');
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const err = Object.assign(new Error('insert failed', { cause }), { retriable: true, code: '241' });
    c.log.error('failed', { error: err, plain: 'kept' });
    expect(c.records()[0]).toMatchObject({
      error: {
        name: 'Error',
        message: 'insert failed',
        code: '241',
        retriable: true,
        cause: { name: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
      },
      plain: 'kept',
    });
  });

  it('a newline in a message stays inside its JSON line', () => {
    const c = capture('info');
    c.log.info('two\nlines', { v: 'a\nb' });
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]?.split('\n')).toHaveLength(2); // the text and the empty rest after the final newline
  });

  it('child loggers add their fields to every record, and keep the level', () => {
    const c = capture('info');
    const child = c.log.child({ component: 'consumer' }).child({ partition: 3 });
    child.debug('hidden');
    child.info('shown', { extra: true });
    expect(c.records()).toEqual([expect.objectContaining({ msg: 'shown', component: 'consumer', partition: 3, extra: true })]);
  });

  it('each component logs under its own name, the same for its children', () => {
    const c = capture('info');
    for (const component of COMPONENTS) componentLog(c.log, component).info('hello');
    expect(c.records().map((r) => r['component'])).toEqual([...COMPONENTS]);
    componentLog(c.log, 'sink').child({ attempt: 2 }).warn('retrying');
    expect(c.records().at(-1)).toEqual(expect.objectContaining({ msg: 'retrying', component: 'sink', attempt: 2 }));
  });

  it('the silent logger writes nothing and its children are silent', () => {
    expect(() => {
      silentLogger.error('x', { error: new Error('y') });
      silentLogger.child({ a: 1 }).info('z');
    }).not.toThrow();
    expect(silentLogger.child({})).toBe(silentLogger);
  });
});
