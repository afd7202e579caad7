import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DIMENSIONS, type Dimension } from './dimensions.js';
import {
  breakdownsStatement,
  seriesStatement,
  tableStatement,
  tilesStatement,
  type CandidateTable,
  type Scope,
  type Statement,
} from './queries.js';
import { resolvePeriod, type Filter } from './request.js';

const period = resolvePeriod({ from: '2026-11-14', to: '2026-11-20' }, 'unused');
const scope = (filters: Filter[], candidates: CandidateTable | undefined = 'sessions_raw'): Scope => ({
  database: 'analytics',
  team: '1',
  period,
  filters,
  candidates,
});
const dimension = DIMENSIONS[0] as Dimension;
const statements = (s: Scope): Statement[] => [
  tilesStatement(s),
  seriesStatement(s),
  tableStatement(s, dimension),
  breakdownsStatement(s, DIMENSIONS),
];

describe('overview statements', () => {
  it('bind every caller value as a parameter: the SQL text depends only on which columns are filtered', () => {
    const columns = DIMENSIONS.map((d) => d.column);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...columns), { maxLength: 4 }),
        fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.option(fc.string(), { nil: null }), { minLength: 4, maxLength: 4 }),
        (cols, a, b) => {
          // the same columns, each null in both or a value in both, but different values
          const one = cols.map((column, i) => ({ column, value: a[i] ?? null }));
          const two = cols.map((column, i) => ({ column, value: one[i]?.value === null ? null : (b[i] ?? 'other') }));
          const s1 = statements(scope(one));
          const s2 = statements(scope(two));
          expect(s1.map((s) => s.sql)).toEqual(s2.map((s) => s.sql));
          for (const s of s1) {
            for (const f of one) if (f.value !== null) expect(Object.values(s.params)).toContain(f.value);
          }
        },
      ),
    );
  });

  it('filter by team, range and each filter; NULL filters as isNull', () => {
    const { sql, params } = tableStatement(
      scope([
        { column: 'channel_type', value: "x' OR 1=1" },
        { column: 'entry_utm_source', value: null },
      ]),
      dimension,
    );
    expect(sql).toContain('team_id = {team:Int64}');
    expect(sql).toContain("start_timestamp >= {start:DateTime64(6, 'UTC')}");
    expect(sql).toContain("start_timestamp < {end:DateTime64(6, 'UTC')}");
    expect(sql).toContain('channel_type = {f0:String}');
    expect(sql).toContain('isNull(entry_utm_source)');
    expect(sql).not.toContain("x' OR 1=1");
    expect(params).toMatchObject({ team: '1', start: '2026-11-14 00:00:00', end: '2026-11-21 00:00:00', f0: "x' OR 1=1", rows: 10 });
  });

  it('tiles read the range and the previous period in one pass', () => {
    const { sql, params } = tilesStatement(scope([]));
    expect(sql).toContain("start_timestamp >= {previous_start:DateTime64(6, 'UTC')}");
    expect(sql).toContain("start_timestamp >= {start:DateTime64(6, 'UTC')} AS current");
    expect(params).toMatchObject({ previous_start: '2026-11-07 00:00:00' });
  });

  it('read only candidate sessions: those with a partial row whose min_ts is in the range, when the raw table has the columns', () => {
    expect(tilesStatement({ ...scope([]), candidates: undefined }).sql).not.toContain('sessions_raw');
    expect(tilesStatement(scope([])).sql).toContain(
      "session_id IN (SELECT session_id FROM analytics.sessions_raw WHERE team_id = {team:Int64} AND min_ts >= {previous_start:DateTime64(6, 'UTC')} AND min_ts < {end:DateTime64(6, 'UTC')})",
    );
    // cluster mode: each shard's own partials (all of a session's partials are on one shard)
    expect(tilesStatement(scope([], 'sessions_raw_local')).sql).toContain(
      'session_id IN (SELECT session_id FROM analytics.sessions_raw_local WHERE',
    );
    for (const s of [tableStatement(scope([]), dimension), seriesStatement(scope([])), breakdownsStatement(scope([]), DIMENSIONS)]) {
      expect(s.sql).toContain("min_ts >= {start:DateTime64(6, 'UTC')} AND min_ts < {end:DateTime64(6, 'UTC')}");
    }
  });

  it('breakdowns: the series and every dimension as grouping sets, each set ranked as its own table', () => {
    const { sql, params } = breakdownsStatement(scope([]), DIMENSIONS.slice(0, 2));
    expect(sql).toContain('GROUP BY GROUPING SETS ((bucket), (channel_type), (entry_referring_domain))');
    expect(sql).toContain(
      "multiIf(grouping(bucket) = 0, '.series', grouping(channel_type) = 0, 'channel_type', grouping(entry_referring_domain) = 0, 'entry_referring_domain', '') AS panel",
    );
    expect(sql).toContain('row_number() OVER (PARTITION BY panel ORDER BY count() DESC, value ASC NULLS LAST) AS rank');
    expect(sql).toContain('toStartOfDay(');
    expect(params).toMatchObject({ rows: 10 });
    const hours = breakdownsStatement({ ...scope([]), period: resolvePeriod({ from: '2026-11-14', to: '2026-11-14' }, 'unused') }, []);
    expect(hours.sql).toContain('toStartOfHour(');
    expect(hours.sql).toContain('GROUP BY GROUPING SETS ((bucket))');
    expect(() => breakdownsStatement(scope([]), [{ column: 'x) OR (1', title: '', label: '' }])).toThrow(/not an identifier/);
  });

  it('refuse a database name that is not an identifier', () => {
    expect(() => tilesStatement({ ...scope([]), database: 'x; DROP TABLE y' })).toThrow(/not an identifier/);
  });
});
