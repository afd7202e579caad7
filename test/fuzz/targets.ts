/**
 * What the fuzzer checks, one target per surface:
 * - normalisation of each topic format: nothing throws; every input ends as an event or as a
 *   rejection with a known reason, the action its reason implies and a short message; an event
 *   also goes through the buffer, the derived session row and the ClickHouse partial row.
 * - the CLI's SQL lexer (`sqlShape`, `cleanSql`, `returnsRows`) and the read-only syntax-tree
 *   reader: nothing throws (but a refusal), the cleaned statement is a slice of the input.
 * - the read-only runner against the real embedded engine: whatever the SQL, the outcome is rows,
 *   a refusal or an engine error; a secret file's content never appears, a canary table never
 *   changes, no file is written, a local HTTP server is never called, the engine keeps answering
 *   and its session never turns read-only.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DEFAULT_LIMITS,
  EXCLUDED_REASONS,
  normalize,
  REJECT_REASONS,
  SessionBuffer,
  stateToSession,
  type InputFormat,
} from '@sessionizer/core';
import { createClickHouse, queryReadOnly, ReadOnlyRefusal, type ClickHouseHandle } from '@sessionizer/clickhouse';
import { parseAstDump, refusalOf, toPartialRow } from '@sessionizer/clickhouse/testing';
import { cleanSql, returnsRows } from '../../services/sessionizer/src/commands/query.js';
import { sqlShape } from '../../services/sessionizer/src/commands/sql.js';
import { messageArb } from './messages.js';

export interface FuzzTarget<T> {
  readonly name: string;
  /** Share of the time budget. */
  readonly weight: number;
  arbitrary(): fc.Arbitrary<T>;
  /** Throws (or rejects) when the input breaks a promise. */
  check(input: T): void | Promise<void>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

class Broken extends Error {
  override readonly name = 'Broken';
}

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Broken(what);
}

const REASONS = new Set<string>(REJECT_REASONS);
const EXCLUDED = new Set<string>(EXCLUDED_REASONS);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_KEPT = Math.max(DEFAULT_LIMITS.maxUrlLength, DEFAULT_LIMITS.maxFieldLength);

function normalizeTarget(format: InputFormat): FuzzTarget<string> {
  return {
    name: `normalize ${format}`,
    weight: 3,
    arbitrary: () => messageArb(format),
    check(text) {
      const result = normalize(format, text, { limits: DEFAULT_LIMITS, sessionIdToleranceMs: 60_000, tokenTeams: new Map([['phc_x', 1]]) });
      if (!result.ok) {
        expect(REASONS.has(result.reason), `unknown reason ${result.reason}`);
        expect(result.action === (EXCLUDED.has(result.reason) ? 'drop' : 'dlq'), `action ${result.action} for ${result.reason}`);
        expect(
          typeof result.message === 'string' && result.message.length > 0 && result.message.length < 1_000,
          `message of ${result.message.length} chars`,
        );
        return;
      }
      const e = result.event;
      expect(UUID.test(e.uuid), `event uuid ${e.uuid}`);
      expect(UUID7.test(e.sessionId), `session id ${e.sessionId}`);
      expect(Number.isSafeInteger(e.teamId) && e.teamId > 0, `team ${e.teamId}`);
      expect(Number.isSafeInteger(e.timestamp) && e.timestamp > 0, `timestamp ${e.timestamp}`);
      expect(typeof e.event === 'string' && e.event.length > 0, `event name ${e.event}`);
      for (const [key, value] of Object.entries(e)) {
        if (typeof value === 'string') expect(value.length <= MAX_KEPT, `${key} kept ${value.length} chars`);
      }
      // and it travels on: buffer, derived row, ClickHouse partial row
      const buffer = new SessionBuffer();
      buffer.add(e);
      buffer.add(e);
      const [state] = buffer.drain();
      expect(state !== undefined, 'no state after add');
      const session = stateToSession(state);
      expect(session.pageview_count <= 1 && session.autocapture_count <= 1, 'a duplicate counted twice');
      JSON.stringify(toPartialRow(state));
    },
  };
}

const SQL_TOKENS = [
  'SELECT',
  ' ',
  '\n',
  '\t',
  '\r\n',
  '\u00a0',
  '\u2028',
  '1',
  '*',
  ',',
  '(',
  ')',
  ';',
  "'",
  '"',
  '`',
  '\\',
  '$$',
  '--',
  '#',
  '/*',
  '*/',
  'FROM',
  'WHERE',
  'IN',
  'WITH x AS',
  'UNION ALL',
  'SETTINGS',
  'readonly = 0',
  'INTO OUTFILE',
  'FORMAT CSV',
  'DROP TABLE t',
  'INSERT INTO t VALUES (9)',
  'file',
  'url',
  'numbers(3)',
  'system.one',
];

/** SQL text made of SQL's own tokens, comments and quotes, in any order. */
const sqlTextArb = fc.oneof(
  fc.array(fc.constantFrom(...SQL_TOKENS), { maxLength: 40 }).map((t) => t.join('')),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.oneof(fc.constantFrom(...SQL_TOKENS), fc.string({ maxLength: 6 })), { maxLength: 30 }).map((t) => t.join(' ')),
);

const sqlLexer: FuzzTarget<string> = {
  name: 'sql lexer (CLI)',
  weight: 1,
  arbitrary: () => sqlTextArb,
  check(sql) {
    const shape = sqlShape(sql);
    expect(shape.start >= 0 && shape.start <= shape.end && shape.end <= sql.length, `shape ${JSON.stringify(shape)}`);
    const cleaned = cleanSql(sql);
    expect(sql.includes(cleaned), 'cleanSql is not a slice of its input');
    // what the CLI runs ends where the first statement ends: no top-level `;` left in it
    expect(sqlShape(cleaned).end === cleaned.length, 'cleanSql kept a statement separator');
    returnsRows(sql);
  },
};

const astReader: FuzzTarget<string[]> = {
  name: 'syntax-tree reader (endpoint)',
  weight: 1,
  arbitrary: () =>
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'SelectWithUnionQuery (children 1)',
          ' ExpressionList (children 1)',
          '  Function file (children 1)',
          '   Literal 1',
          ' Set',
          'Function x',
        ),
        fc.string({ unit: fc.constantFrom(' ', 'F', 'u', 'n', 'c', '(', ')', 'children', '1', '\n', 'Set') }),
      ),
      { maxLength: 12 },
    ),
  check(lines) {
    try {
      refusalOf(parseAstDump(lines), new Set(['file', 'url']));
    } catch (err) {
      expect(err instanceof ReadOnlyRefusal, `threw ${String(err)}`);
    }
  },
};

const SECRET = 'fuzz-secret-c0ffee';

/** Hostile SQL: statements built from dangerous pieces, then spliced with tokens. */
function hostileSqlArb(secretFile: string, url: string, outFile: string): fc.Arbitrary<string> {
  const source = fc.constantFrom(
    't',
    'numbers(3)',
    `file('${secretFile}', 'LineAsString')`,
    `url('${url}', 'LineAsString')`,
    "remote('127.0.0.1', system.one)",
    "executable('cat /etc/passwd', 'LineAsString', 'x String')",
    `(SELECT * FROM file('${secretFile}', 'LineAsString'))`,
    '(SELECT x FROM t SETTINGS readonly = 0)',
    '(VALUES (1))',
  );
  const expr = fc.constantFrom(
    '1',
    'x',
    '*',
    `file('${secretFile}')`,
    `1 IN file('${secretFile}', 'LineAsString')`,
    "getSetting('readonly')",
    'count()',
    'throwIf(1)',
  );
  const tail = fc.constantFrom(
    '',
    ' SETTINGS readonly = 0',
    ` INTO OUTFILE '${outFile}'`,
    ' FORMAT CSV',
    '; DROP TABLE t',
    '; INSERT INTO t VALUES (9)',
    ' -- ;',
    ' /* ; */',
    " $$ ' $$; DROP TABLE t; -- '",
  );
  const statement = fc
    .tuple(
      fc.constantFrom('SELECT', 'WITH y AS (SELECT 1) SELECT', 'INSERT INTO t SELECT', 'DROP TABLE', 'SELECT 1 UNION ALL SELECT'),
      expr,
      source,
      tail,
    )
    .map(([head, e, s, t]) => (head === 'DROP TABLE' ? `DROP TABLE t${t}` : `${head} ${e} FROM ${s}${t}`));
  return fc.oneof(
    { weight: 4, arbitrary: statement },
    {
      weight: 2,
      arbitrary: fc
        .tuple(statement, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SQL_TOKENS)), { maxLength: 4 }))
        .map(([s, edits]) =>
          edits.reduce((acc, [at, token]) => acc.slice(0, at % (acc.length + 1)) + token + acc.slice(at % (acc.length + 1)), s),
        ),
    },
    { weight: 1, arbitrary: sqlTextArb },
  );
}

function readOnlyTarget(): FuzzTarget<string> & { outcomes: Record<string, number> } {
  let dir = '';
  let ch: ClickHouseHandle | undefined;
  let server: Server | undefined;
  let hits = 0;
  let url = '';
  const outcomes: Record<string, number> = { rows: 0, refused: 0, engineError: 0 };
  const count = async (client: ClickHouseHandle['client']): Promise<number> => {
    const rs = await client.query({ query: 'SELECT count() AS n FROM fuzz.t', format: 'JSONEachRow' });
    return (await rs.json<{ n: number }>())[0]?.n ?? -1;
  };
  return {
    name: 'read-only SQL (endpoint, real engine)',
    weight: 2,
    outcomes,
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'sessionizer-fuzz-'));
      writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);
      ch = createClickHouse({ dataDir: join(dir, 'chdb') });
      await ch.client.command({ query: 'CREATE DATABASE fuzz' });
      await ch.client.command({ query: 'CREATE TABLE fuzz.t (x UInt32) ENGINE = MergeTree ORDER BY x' });
      await ch.client.command({ query: 'INSERT INTO fuzz.t VALUES (1), (2), (3)' });
      await ch.client.command({ query: 'USE fuzz' });
      server = createServer((_req, res) => {
        hits += 1;
        res.end(SECRET);
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    },
    async teardown() {
      await new Promise((resolve) => server?.close(resolve));
      await ch?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    arbitrary: () => fc.constant(null).chain(() => hostileSqlArb(join(dir, 'secret.txt'), url, join(dir, 'out', 'x.txt'))),
    async check(sql) {
      const client = ch?.client;
      expect(client !== undefined, 'no engine');
      let text = '';
      try {
        const rs = await queryReadOnly(client, sql, { maxResultBytes: 1_000_000, maxExecutionSeconds: 10 });
        text = await rs.text();
        outcomes['rows'] = (outcomes['rows'] ?? 0) + 1;
      } catch (err) {
        expect(err instanceof Error, `threw a non-error ${String(err)}`);
        text = err.message;
        if (err instanceof ReadOnlyRefusal) outcomes['refused'] = (outcomes['refused'] ?? 0) + 1;
        else outcomes['engineError'] = (outcomes['engineError'] ?? 0) + 1;
      }
      expect(!text.includes(SECRET), `the secret leaked through ${JSON.stringify(sql)}`);
      expect(hits === 0, `the HTTP server was called by ${JSON.stringify(sql)}`);
      expect(
        readdirSync(dir).every((f) => f === 'secret.txt' || f === 'chdb'),
        `a file was written by ${JSON.stringify(sql)}`,
      );
      expect((await count(client)) === 3, `the canary table changed after ${JSON.stringify(sql)}`);
      const rs = await client.query({ query: "SELECT getSetting('readonly') AS r", format: 'JSONEachRow' });
      expect(JSON.stringify(await rs.json()) === '[{"r":0}]', `the session turned read-only after ${JSON.stringify(sql)}`);
    },
  };
}

export function targets(): FuzzTarget<unknown>[] {
  return [
    normalizeTarget('posthog-events'),
    normalizeTarget('posthog-capture'),
    sqlLexer,
    astReader,
    readOnlyTarget(),
  ] as FuzzTarget<unknown>[];
}
