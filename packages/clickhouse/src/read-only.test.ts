/**
 * The pure half of the read-only check: reading the engine's `EXPLAIN AST` dump and judging it.
 * The dumps below are what ClickHouse 26.7 (chDB 3.4) printed for the statements named; the
 * whole path against the real engine is test/integration/read-only.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAstDump, ReadOnlyRefusal, refusalOf } from './read-only.js';

const TABLE_FUNCTIONS = new Set(['file', 'url', 'numbers', 'format', 'values', 'sqlstandardvalues', 'viewexplain', 'newfangledremote']);

const SELECT_FILE_IN_URL = [
  'SelectWithUnionQuery (children 1)',
  ' ExpressionList (children 1)',
  '  SelectQuery (children 4)',
  '   ExpressionList (children 1)',
  '    Asterisk',
  '   TablesInSelectQuery (children 1)',
  '    TablesInSelectQueryElement (children 1)',
  '     TableExpression (children 1)',
  '      Function numbers (alias t) (children 1)',
  '       ExpressionList (children 1)',
  '        Literal UInt64_3',
  '   Function in (children 1)',
  '    ExpressionList (children 2)',
  '     Identifier x',
  '     Function url (children 1)',
  '      ExpressionList (children 2)',
  "       Literal 'http://a'",
  '       Identifier CSV',
  '   Set',
];

describe('parseAstDump', () => {
  it('reads kind, name, depth and children of every line', () => {
    const nodes = parseAstDump(SELECT_FILE_IN_URL);
    expect(nodes).toHaveLength(SELECT_FILE_IN_URL.length);
    expect(nodes[0]).toEqual({ kind: 'SelectWithUnionQuery', name: '', depth: 0, children: 1 });
    expect(nodes[8]).toEqual({ kind: 'Function', name: 'numbers (alias t)', depth: 6, children: 1 });
    expect(nodes[16]).toEqual({ kind: 'Literal', name: "'http://a'", depth: 7, children: 0 });
    expect(nodes.at(-1)).toEqual({ kind: 'Set', name: '', depth: 3, children: 0 });
  });

  it('refuses a dump that is not one consistent tree (a name with a line break adds lines)', () => {
    // SELECT `fi\nle`(1), as the engine printed it
    const split = [
      'SelectWithUnionQuery (children 1)',
      ' ExpressionList (children 1)',
      '  SelectQuery (children 1)',
      '   ExpressionList (children 1)',
      '    Function fi',
      'le (children 1)',
      '     ExpressionList (children 1)',
      '      Literal UInt64_1',
    ];
    expect(() => parseAstDump(split)).toThrow(ReadOnlyRefusal);
    expect(() => parseAstDump([])).toThrow(/empty syntax tree/);
    expect(() => parseAstDump(['SelectWithUnionQuery (children 2)', ' ExpressionList'])).toThrow(/malformed/);
    expect(() => parseAstDump(['SelectWithUnionQuery', 'SelectWithUnionQuery'])).toThrow(/malformed/);
    expect(() => parseAstDump(['  SelectWithUnionQuery'])).toThrow(/malformed/);
    expect(() => parseAstDump(['"SelectWithUnionQuery"'])).toThrow(/unexpected/);
  });

  it('never throws anything but ReadOnlyRefusal, whatever the lines', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom(' ', 'a', 'S', '(', ')', 'children', '1', '2', '\n', "'") })), (lines) => {
        try {
          parseAstDump(lines);
        } catch (err) {
          expect(err).toBeInstanceOf(ReadOnlyRefusal);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('refusalOf', () => {
  const judge = (lines: readonly string[]): string | undefined => refusalOf(parseAstDump(lines), TABLE_FUNCTIONS);

  it('allows a plain SELECT over allowed table functions', () => {
    expect(judge(SELECT_FILE_IN_URL.slice(0, 11).map((l, i) => (i === 2 ? '  SelectQuery (children 2)' : l)))).toBeUndefined();
  });

  it('refuses SETTINGS anywhere, and names the first offender', () => {
    expect(judge(SELECT_FILE_IN_URL)).toMatch(/^url\(\) is not allowed here/);
    const withoutUrl = [...SELECT_FILE_IN_URL.slice(0, 11), ...SELECT_FILE_IN_URL.slice(-1)].map((l, i) =>
      i === 2 ? '  SelectQuery (children 3)' : l,
    );
    expect(judge(withoutUrl)).toBe('SETTINGS are not allowed here (the query runs with readonly=1)');
  });

  it('refuses statements that are not SELECT', () => {
    expect(judge(['DropQuery  sessions'])).toMatch(
      /^only read-only statements are allowed here: SELECT or WITH … SELECT \(got DropQuery\)$/,
    );
    expect(judge(['Explain (children 1)', ' SelectWithUnionQuery'])).toMatch(/got Explain/);
  });

  it.each([
    ['file', 'always, even when the engine list is empty'],
    ['FILE', 'in any case'],
    ['remoteSecure', 'from the fixed list'],
    ['newfangledRemote', "from the engine's list"],
    ['catboostEvaluate', 'a scalar that loads a file'],
  ])('refuses %s (%s), wherever it stands', (name) => {
    const lines = [
      'SelectWithUnionQuery (children 1)',
      ' ExpressionList (children 1)',
      '  SelectQuery (children 1)',
      '   ExpressionList (children 1)',
      `    Function ${name} (children 1)`,
      '     ExpressionList',
    ];
    expect(judge(lines)).toBe(`${name}() is not allowed here: functions that read files, URLs, other servers or processes are refused`);
  });

  it('allows the scalar format() and VALUES, which share a name with table functions that read only their arguments', () => {
    for (const name of ['format', 'SQLStandardValues', 'values', 'numbers']) {
      const lines = [
        'SelectWithUnionQuery (children 1)',
        ' ExpressionList (children 1)',
        '  SelectQuery (children 1)',
        '   ExpressionList (children 1)',
        `    Function ${name}`,
      ];
      expect(judge(lines), name).toBeUndefined();
    }
  });
});
