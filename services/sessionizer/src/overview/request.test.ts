import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_FILTER_CHARS, OverviewInputError, parseParams, resolvePeriod } from './request.js';
import { availableDimensions, DIMENSIONS } from './dimensions.js';

const parse = (qs: string, extra: readonly string[] = []) => parseParams(new URLSearchParams(qs), extra);
const refused = (qs: string): string => {
  try {
    parse(qs);
  } catch (err) {
    expect(err).toBeInstanceOf(OverviewInputError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${qs}`);
};

describe('parseParams', () => {
  it('reads team, range and filters; null=<column> is an IS NULL filter', () => {
    const p = parse('team=007&from=2026-11-14&to=2026-11-20&channel_type=Paid%20Search&null=entry_utm_source');
    expect(p).toMatchObject({ team: '7', from: '2026-11-14', to: '2026-11-20' });
    expect(p.filters).toEqual([
      { column: 'channel_type', value: 'Paid Search' },
      { column: 'entry_utm_source', value: null },
    ]);
    expect(parse('')).toMatchObject({ team: undefined, from: undefined, to: undefined, filters: [] });
  });

  it('keeps hostile filter values as data, byte for byte', () => {
    for (const v of ["x' OR 1=1 --", 'a\\', "\\'; DROP TABLE sessions; --", '日本語 🎉 \u202e', 'nul\u0000byte', '{team:Int64}', '']) {
      const p = parse(new URLSearchParams({ entry_pathname: v }).toString());
      expect(p.filters).toEqual([{ column: 'entry_pathname', value: v }]);
    }
    expect(parse(`exit_pathname=${'x'.repeat(MAX_FILTER_CHARS)}`).filters[0]?.value).toHaveLength(MAX_FILTER_CHARS);
  });

  it('refuses what is not an allowed parameter, with a message naming it', () => {
    expect(refused('team_id=1')).toMatch(/unknown parameter "team_id"/);
    expect(refused('session_id=1')).toMatch(/unknown parameter/);
    expect(refused('channel_type%3D1%20OR%201=1')).toMatch(/unknown parameter/);
    expect(refused('null=team_id')).toMatch(/not a filterable column/);
    expect(refused('null=channel_type;DROP')).toMatch(/not a filterable column/);
    expect(refused('dimension=channel_type')).toMatch(/unknown parameter "dimension"/);
    expect(parse('dimension=channel_type', ['dimension']).extra.get('dimension')).toBe('channel_type');
  });

  it('refuses bad teams, dates and ranges', () => {
    expect(refused('team=abc')).toMatch(/team must be a team id/);
    expect(refused('team=-1')).toMatch(/team must be a team id/);
    expect(refused('team=1%20OR%201=1')).toMatch(/team must be a team id/);
    expect(refused('team=9223372036854775808')).toMatch(/team must be a team id/);
    expect(parse('team=9223372036854775807').team).toBe('9223372036854775807');
    expect(refused('from=2026-02-30&to=2026-03-01')).toMatch(/not a calendar date/);
    expect(refused('from=2026-13-01')).toMatch(/not a calendar date/);
    expect(refused('from=2026-1-1')).toMatch(/must be a date YYYY-MM-DD/);
    expect(refused("from=2026-01-01'%20OR%20'1")).toMatch(/must be a date/);
    expect(refused('to=1969-12-31')).toMatch(/between/);
    expect(refused('to=9999-01-01')).toMatch(/between/);
    expect(refused('from=2026-11-20&to=2026-11-14')).toMatch(/after/);
    expect(refused('from=2000-01-01&to=2026-01-01')).toMatch(/longer than/);
  });

  it('refuses repeated and oversized parameters', () => {
    expect(refused('team=1&team=2')).toMatch(/more than once/);
    expect(refused('channel_type=a&channel_type=b')).toMatch(/more than once/);
    expect(refused('channel_type=a&null=channel_type')).toMatch(/more than once/);
    expect(refused(`entry_pathname=${'x'.repeat(MAX_FILTER_CHARS + 1)}`)).toMatch(/longer than/);
  });

  it('never throws anything but an OverviewInputError, whatever the query string', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('team', 'from', 'to', 'null', 'channel_type', 'x'), fc.string())), (pairs) => {
        try {
          parseParams(new URLSearchParams(pairs));
        } catch (err) {
          if (!(err instanceof OverviewInputError)) throw err;
        }
      }),
    );
  });
});

describe('resolvePeriod', () => {
  it('defaults to the 7 days ending on the last day with data, with the 7 days before as the previous period', () => {
    expect(resolvePeriod({ from: undefined, to: undefined }, '2026-11-20')).toEqual({
      from: '2026-11-14',
      to: '2026-11-20',
      days: 7,
      start: '2026-11-14 00:00:00',
      end: '2026-11-21 00:00:00',
      previousStart: '2026-11-07 00:00:00',
      previousFrom: '2026-11-07',
      previousTo: '2026-11-13',
      bucket: 'day',
    });
  });

  it('takes the given range (hours for up to two days) and completes a single end', () => {
    expect(resolvePeriod({ from: '2026-11-20', to: '2026-11-21' }, 'unused')).toMatchObject({
      days: 2,
      end: '2026-11-22 00:00:00',
      previousStart: '2026-11-18 00:00:00',
      bucket: 'hour',
    });
    expect(resolvePeriod({ from: '2026-11-01', to: undefined }, '2026-12-31')).toMatchObject({ from: '2026-11-01', to: '2026-11-07' });
    expect(resolvePeriod({ from: undefined, to: '2026-03-01' }, '2026-12-31')).toMatchObject({ from: '2026-02-23', to: '2026-03-01' });
  });
});

describe('availableDimensions', () => {
  it('keeps the catalog columns the view has with a string type, in catalog order', () => {
    const columns = new Map([
      ['browser', 'LowCardinality(Nullable(String))'],
      ['channel_type', 'String'],
      ['entry_pathname', 'Nullable(String)'],
      ['os', 'UInt8'],
      ['session_id', 'UUID'],
    ]);
    expect(availableDimensions(columns).map((d) => d.column)).toEqual(['channel_type', 'entry_pathname', 'browser']);
    expect(new Set(DIMENSIONS.map((d) => d.column)).size).toBe(DIMENSIONS.length);
  });
});
