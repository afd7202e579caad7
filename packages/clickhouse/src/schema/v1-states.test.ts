import { describe, expect, it } from 'vitest';
import { createPartialStateTablesV1Sql } from './ddl-v1.js';
import { argStateParts, V1_ARG_STATES, V1_COUNT_STATES, V1_TYPES, v1SessionsSql } from './v1-states.js';

describe('schema 0001 state reader', () => {
  const [input, raw] = createPartialStateTablesV1Sql({ database: 'd' });

  it('its frozen types are those of migration 0001', () => {
    for (const [column, c] of Object.entries(V1_ARG_STATES)) {
      expect(raw).toContain(`  ${column} AggregateFunction(${c.fn}, ${c.valueType}, ${c.keyType}),\n`);
    }
    for (const column of V1_COUNT_STATES) expect(raw).toContain(`  ${column} AggregateFunction(uniqExactArray, Array(UUID))`);
    expect(input).toContain(`  entry ${V1_TYPES.entry},\n`);
    expect(input).toContain(`  exit ${V1_TYPES.exit},\n`);
    expect(input).toContain(`  entry_key ${V1_TYPES.rankKey},\n`);
    expect(input).toContain(`  last_key ${V1_TYPES.lastKey},\n`);
  });

  it('reads a state through its bytes and checks the rebuilt state', () => {
    const p = argStateParts('s', V1_ARG_STATES.entry);
    expect(p.value).toBe('finalizeAggregation(s)');
    expect(p.key).toContain(`AggregateFunction(min, ${V1_TYPES.rankKey})`);
    expect(p.key).toContain(
      "substring(CAST(s AS String), length(CAST(initializeAggregation('minState', finalizeAggregation(s)) AS String)) + 1)",
    );
    expect(p.exact).toContain("CAST(initializeAggregation('argMinState', finalizeAggregation(s), ");
    expect(argStateParts('s', V1_ARG_STATES.exit).exact).toContain("initializeAggregation('argMaxState'");
  });

  it("merges a session's partials before reading, optionally one slice of the table", () => {
    const sql = v1SessionsSql({ source: 'd.sessions_raw_local', where: "_partition_id = '202611'" });
    expect(sql).toContain("FROM d.sessions_raw_local\n  WHERE _partition_id = '202611'\n  GROUP BY team_id, session_start, session_id");
    expect(sql).toContain('argMinMergeState(entry) AS entry_state');
    expect(sql).toContain('uniqExactArrayMergeState(pageview_uuids) AS pageview_uuids');
    expect(v1SessionsSql({ source: 'd.sessions_raw' })).not.toContain('WHERE');
  });
});
