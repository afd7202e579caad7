/**
 * `queryReadOnly` against the real embedded engine, as a hostile local user would try it: every
 * escape the issue lists (table functions that reach files, URLs, other servers and processes;
 * `SETTINGS readonly=0` at any depth; INTO OUTFILE; several statements; comments and odd
 * whitespace; WITH / subqueries / IN around file(); very long and deeply nested SQL) is refused,
 * reads nothing (a secret file's content never shows up, a local HTTP server is never called),
 * writes nothing, and leaves the session writable for the service. Legitimate SELECTs work.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryReadOnly, ReadOnlyRefusal } from '@sessionizer/clickhouse';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';

let db: TestDatabase;
let dir: string;
let secretFile: string;
const SECRET = 'sessionizer-secret-7f3a9c';
let server: Server;
let hits = 0;
let url: string;

beforeAll(async () => {
  db = await testDatabase('ro');
  dir = mkdtempSync(join(tmpdir(), 'sessionizer-ro-'));
  secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, `${SECRET}\n`);
  await db.handle.client.command({ query: `CREATE TABLE ${db.database}.t (x UInt32, s String) ENGINE = MergeTree ORDER BY x` });
  await db.handle.client.command({ query: `INSERT INTO ${db.database}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')` });
  server = createServer((_req, res) => {
    hits += 1;
    res.end(`${SECRET}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(sql: string, params?: Record<string, unknown>): Promise<unknown[]> {
  const rs = await queryReadOnly(db.handle.client, sql, params === undefined ? {} : { params });
  return rs.json();
}

/** The refusal's message; fails the test if the statement ran or failed otherwise. */
async function refusal(sql: string): Promise<string> {
  try {
    const rows = await run(sql);
    throw new Error(`ran, returned ${JSON.stringify(rows).slice(0, 200)}`);
  } catch (err) {
    if (!(err instanceof ReadOnlyRefusal)) throw err;
    expect(err.message).not.toContain(SECRET);
    return err.message;
  }
}

async function rowCount(): Promise<number> {
  const rs = await db.handle.client.query({ query: `SELECT count() AS n FROM ${db.database}.t`, format: 'JSONEachRow' });
  return ((await rs.json<{ n: number }>())[0] ?? { n: -1 }).n;
}

describe('legitimate SELECTs', () => {
  it('run with readonly=1, comments, odd whitespace, a trailing semicolon and parameters', async () => {
    const t = `${db.database}.t`;
    expect(await run(`SELECT x, s FROM ${t} ORDER BY x`)).toEqual([
      { x: 1, s: 'a' },
      { x: 2, s: 'b' },
      { x: 3, s: 'c' },
    ]);
    expect(await run(`-- leading comment\n/* block */\tSELECT\r\n  count() AS n\u00a0FROM ${t} # hash comment\n;  -- trailing`)).toEqual([
      { n: 3 },
    ]);
    expect(await run(`WITH m AS (SELECT max(x) AS m FROM ${t}) SELECT s FROM ${t} WHERE x = (SELECT m FROM m)`)).toEqual([{ s: 'c' }]);
    expect(
      await run(`SELECT s FROM (SELECT s FROM ${t} WHERE x IN (SELECT number FROM numbers(2)) UNION ALL SELECT 'z') ORDER BY s`),
    ).toEqual([{ s: 'a' }, { s: 'z' }]);
    expect(await run(`SELECT s FROM ${t} WHERE s = {v:String}`, { v: "b'; DROP TABLE t; --" })).toEqual([]);
    expect(await run(`SELECT s FROM ${t} WHERE s = {v:String}`, { v: 'b' })).toEqual([{ s: 'b' }]);
    expect(await run("SELECT getSetting('readonly') AS r")).toEqual([{ r: 1 }]);
    expect(await run("SELECT format('{}-{}', 1, 2) AS f, c1 FROM (VALUES (7))")).toEqual([{ f: '1-2', c1: 7 }]);
    expect(await run("SELECT $$it's$$ AS h")).toEqual([{ h: "it's" }]);
  });
});

describe('refused, and nothing read or written', () => {
  it.each([
    ['file()', () => `SELECT * FROM file('${secretFile}', 'LineAsString')`],
    ['url()', () => `SELECT * FROM url('${url}', 'LineAsString')`],
    ['s3()', () => `SELECT * FROM s3('${url.replace('/x', '/bucket/x')}', 'LineAsString')`],
    ['remote()', () => "SELECT * FROM remote('127.0.0.1:9000', system.one)"],
    ['remoteSecure()', () => "SELECT * FROM remoteSecure('127.0.0.1:9440', system.one)"],
    ['cluster()', () => "SELECT * FROM cluster('default', system.one)"],
    ['executable()', () => "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'x String')"],
    ['mysql()', () => "SELECT * FROM mysql('127.0.0.1:3306', 'd', 't', 'u', 'p')"],
    ['postgresql()', () => "SELECT * FROM postgresql('127.0.0.1:5432', 'd', 't', 'u', 'p')"],
    ['hdfs()', () => "SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'CSV')"],
    ['jdbc()', () => "SELECT * FROM jdbc('x', 'y', 'z')"],
    ['odbc()', () => "SELECT * FROM odbc('DSN=x', 'd', 't')"],
    ['filesystem()', () => `SELECT * FROM filesystem('${dir}')`],
    ['input()', () => "SELECT * FROM input('x String')"],
    ['the scalar file()', () => `SELECT file('${secretFile}') AS f`],
    ['file() on the right of IN', () => `SELECT 1 WHERE 1 IN file('${secretFile}', 'LineAsString')`],
    ['file() in a WITH', () => `WITH f AS (SELECT * FROM file('${secretFile}', 'LineAsString')) SELECT * FROM f`],
    ['file() in a subquery', () => `SELECT * FROM (SELECT * FROM (SELECT line FROM file('${secretFile}', 'LineAsString')))`],
    ['file() in a JOIN', () => `SELECT * FROM numbers(1) AS n JOIN file('${secretFile}', 'LineAsString') AS f ON 1 = 1`],
    ['url() in a UNION', () => `SELECT 'a' AS l UNION ALL SELECT * FROM url('${url}', 'LineAsString')`],
    ['url() in a lambda', () => `SELECT arrayMap(u -> (SELECT count() FROM url(u, 'LineAsString')), ['${url}'])`],
    ['file() behind a comment', () => `SELECT * FROM /* numbers */ file('${secretFile}', /* x */ 'LineAsString') -- numbers(1)`],
  ])('%s', async (_name, sql) => {
    const message = await refusal(sql());
    expect(message).toMatch(/\(\) is not allowed here: functions that read files, URLs, other servers or processes are refused$/);
    expect(hits).toBe(0);
  });

  it.each([
    'SELECT 1 SETTINGS readonly = 0',
    'SELECT * FROM (SELECT * FROM db.t SETTINGS readonly = 0)',
    'WITH x AS (SELECT 1 SETTINGS readonly = 0) SELECT * FROM x',
    '(SELECT 1) UNION ALL (SELECT 2 SETTINGS readonly = 0)',
    'SELECT 1 SETTINGS max_result_bytes = 0',
    'SELECT 1 SETTINGS/* */readonly=0',
  ])('SETTINGS in the query: %s', async (sql) => {
    expect(await refusal(sql)).toBe('SETTINGS are not allowed here (the query runs with readonly=1)');
  });

  it('INTO OUTFILE and FORMAT, however written; no file appears', async () => {
    const out = join(dir, 'out.txt');
    for (const sql of [
      `SELECT 1 INTO OUTFILE '${out}'`,
      `SELECT 1 INTO/**/OUTFILE '${out}'`,
      `SELECT 1\nINTO\n\tOUTFILE '${out}' TRUNCATE FORMAT CSV`,
      `SELECT * FROM (SELECT 1) INTO OUTFILE '${out}' APPEND`,
      'SELECT 1 FORMAT CSV',
    ]) {
      expect(await refusal(sql), sql).toBe('INTO OUTFILE and FORMAT are not allowed here (the output is JSONEachRow)');
    }
    expect(existsSync(out)).toBe(false);
  });

  it('several statements, however hidden; nothing of them runs', async () => {
    const t = `${db.database}.t`;
    for (const sql of [
      `SELECT 1; DROP TABLE ${t}`,
      `SELECT 1;DROP TABLE ${t};`,
      `SELECT $$ ' $$; DROP TABLE ${t}; -- '`, // a heredoc our old lexer did not know
      `SELECT 1 /* /* nested */ ; */ ; DROP TABLE ${t}`,
      `SELECT '\\''; DROP TABLE ${t}; SELECT '`,
      `SELECT 1 # comment\n; TRUNCATE TABLE ${t}`,
    ]) {
      expect(await refusal(sql), sql).toBe('one statement at a time');
    }
    expect(await rowCount()).toBe(3);
  });

  it.each([
    ['DROP TABLE', (t: string) => `DROP TABLE ${t}`, 'DROP'],
    ['TRUNCATE', (t: string) => `TRUNCATE TABLE ${t}`, 'TRUNCATE'],
    ['INSERT', (t: string) => `INSERT INTO ${t} VALUES (9, 'z')`, 'INSERT'],
    ['INSERT … SELECT', (t: string) => `INSERT INTO ${t} SELECT 9, 'z'`, 'INSERT'],
    ['ALTER … DELETE', (t: string) => `ALTER TABLE ${t} DELETE WHERE 1`, 'ALTER'],
    ['CREATE', (t: string) => `CREATE TABLE ${t}_2 (x UInt8) ENGINE = Memory`, 'CREATE'],
    ['SET', () => 'SET readonly = 0', 'SET'],
    ['SYSTEM', () => 'SYSTEM DROP DNS CACHE', 'SYSTEM'],
    ['OPTIMIZE', (t: string) => `OPTIMIZE TABLE ${t} FINAL`, 'OPTIMIZE'],
    ['KILL', () => 'KILL QUERY WHERE 1', 'KILL'],
    ['SHOW (use SELECT … FROM system.tables)', () => 'SHOW TABLES', 'SHOW'],
    ['EXPLAIN', () => 'EXPLAIN SELECT 1', 'EXPLAIN'],
  ])('%s', async (_name, sql, kind) => {
    expect(await refusal(sql(`${db.database}.t`))).toBe(
      `only read-only statements are allowed here: SELECT or WITH … SELECT (got ${kind})`,
    );
    expect(await rowCount()).toBe(3);
  });

  it('a function name with a line break (it would split the syntax tree dump) is refused', async () => {
    expect(await refusal('SELECT `fi\nle`(1)')).toMatch(/could not be inspected/);
  });

  it('no SQL, a syntax error, an unterminated comment: refusals with the parser message', async () => {
    expect(await refusal('')).toBe('no SQL');
    expect(await refusal(' \n\t-- just a comment\n')).toBe('no SQL');
    expect(await refusal('SELEC 1')).toMatch(/Syntax error/);
    expect(await refusal('SELECT 1 /* never closed')).toMatch(/comment is not closed/);
  });
});

describe('size, depth and what a failure leaves behind', () => {
  it('very long SQL (250 KB) runs or is refused cleanly, and so does deep nesting; the engine keeps answering', async () => {
    const long = `SELECT ${Array.from({ length: 40_000 }, (_, i) => String(i % 10)).join('+')} AS n`;
    expect(long.length).toBeGreaterThan(75_000);
    const padded = `${long} -- ${'x'.repeat(250_000 - long.length)}`;
    const result = await run(padded).catch((err: unknown) => err);
    if (result instanceof Error) expect(result.message).toMatch(/too (big|deep|large)|max_|limit/i);
    else expect(result).toEqual([{ n: Array.from({ length: 40_000 }, (_, i) => i % 10).reduce((a, b) => a + b, 0) }]);

    const deep = `SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`;
    const refused = await refusal(deep);
    expect(refused).toMatch(/too deep|depth|recursion|backtracks/i);
    expect(await run('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('a result over the bound fails, and its rows never reach the next query', async () => {
    const rs = queryReadOnly(db.handle.client, 'SELECT number FROM numbers(1000000)', { maxResultBytes: 100_000 });
    await expect(rs).rejects.toThrow(/Limit for result exceeded/);
    expect(await run('SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
    const timed = queryReadOnly(db.handle.client, 'SELECT throwIf(number = 300000) FROM numbers(1000000)');
    await expect(timed).rejects.toThrow(/throwIf/);
    expect(await run('SELECT 43 AS answer')).toEqual([{ answer: 43 }]);
  });

  it('concurrent readers each get their own rows', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? run(`SELECT ${i} AS i, number FROM numbers(3)`)
          : queryReadOnly(db.handle.client, 'SELECT number FROM numbers(100000)', { maxResultBytes: 10_000 }).then(
              () => 'ran',
              (err: unknown) => (err instanceof Error ? 'failed' : 'odd'),
            ),
      ),
    );
    results.forEach((r, i) => {
      if (i % 2 === 0) expect(r).toEqual([0, 1, 2].map((number) => ({ i, number })));
      else expect(r).toBe('failed');
    });
  });

  it('after all of the above the session still writes (readonly never stuck to it)', async () => {
    await db.handle.client.command({ query: `INSERT INTO ${db.database}.t VALUES (4, 'd')` });
    expect(await rowCount()).toBe(4);
    const rs = await db.handle.client.query({ query: "SELECT getSetting('readonly') AS r", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ r: 0 }]);
  });
});
