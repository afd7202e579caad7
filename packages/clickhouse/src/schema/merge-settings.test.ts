import { describe, expect, it } from 'vitest';
import { embeddedMergeSettingsSql, EMBEDDED_RAW_TABLE_SETTINGS } from './merge-settings.js';

describe('migration 0004: merge memory of sessions_raw', () => {
  it('is one ALTER … MODIFY SETTING of the raw table on the embedded engine', () => {
    const [sql, ...rest] = embeddedMergeSettingsSql({ database: 'db', embedded: true });
    expect(rest).toEqual([]);
    expect(sql).toMatch(/^ALTER TABLE db\.sessions_raw MODIFY SETTING /);
    for (const [k, v] of EMBEDDED_RAW_TABLE_SETTINGS) expect(sql).toContain(`${k} = ${v}`);
  });

  it('changes nothing on a ClickHouse server, single node or cluster', () => {
    expect(embeddedMergeSettingsSql({ database: 'db' })).toEqual([]);
    expect(embeddedMergeSettingsSql({ database: 'db', embedded: false })).toEqual([]);
    expect(embeddedMergeSettingsSql({ database: 'db', embedded: true, cluster: 'c' })).toEqual([]);
  });
});
