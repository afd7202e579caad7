import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';

describe('embedded ClickHouse through @clickhouse/client', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase('foundation');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is the real ClickHouse engine', async () => {
    const rs = await db.handle.client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    const [row] = await rs.json<{ v: string }>();
    console.log(`embedded ClickHouse version ${row?.v ?? '?'}`);
    expect(row?.v).toMatch(/^\d+\.\d+/);
  });

  it('creates a table, inserts rows and reads them back', async () => {
    const { client } = db.handle;
    const table = `${db.database}.events`;
    await client.command({
      query: `CREATE TABLE ${table} (team_id Int64, session_id UUID, ts DateTime64(6, 'UTC'), url String)
              ENGINE = MergeTree ORDER BY (team_id, session_id, ts)`,
    });
    const rows = [
      { team_id: 1, session_id: '019b2c3d-0000-7000-8000-000000000001', ts: '2026-11-26 10:00:00.123456', url: "https://x.test/it's" },
      { team_id: 2, session_id: '019b2c3d-0000-7000-8000-000000000002', ts: '2026-11-26 10:00:01.000001', url: 'https://y.test/' },
    ];
    await client.insert({ table, values: rows, format: 'JSONEachRow' });
    const rs = await client.query({
      query: `SELECT team_id, toString(session_id) AS session_id, toString(ts) AS ts, url FROM ${table} WHERE team_id >= {min:Int64} ORDER BY team_id`,
      query_params: { min: 1 },
      format: 'JSONEachRow',
    });
    const back = await rs.json();
    console.log(`read back ${back.length} rows from ${table}`);
    expect(back).toEqual(rows);
  });

  it('surfaces server errors with their ClickHouse code', async () => {
    await expect(
      db.handle.client.query({ query: `SELECT * FROM ${db.database}.does_not_exist`, format: 'JSONEachRow' }),
    ).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });
});
