import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelType, defaultChannelType } from './channel-type.js';
import {
  CHANNEL_RULE_LIMITS,
  conditionHolds,
  customChannelType,
  parseChannelRules,
  parseChannelRulesJson,
  type ChannelRule,
  type ChannelRules,
} from './custom-rules.js';
import { channelInputArbitrary } from '../../../../test/support/arbitraries.js';
import { blankChannelInput } from '../../../../test/support/events.js';

const COLUMNS = ['entry_utm_source', 'entry_utm_medium', 'entry_current_url', 'entry_pathname'];

function parse(json: unknown, columns: readonly string[] = COLUMNS): ChannelRules {
  const parsed = parseChannelRules(json, columns);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.rules;
}

function errors(json: unknown, columns: readonly string[] = COLUMNS): readonly string[] {
  const parsed = parseChannelRules(json, columns);
  return parsed.ok ? [] : parsed.errors;
}

function teamRules(json: unknown): readonly ChannelRule[] {
  return parse({ '1': json }).get(1) ?? [];
}

const row =
  (values: Record<string, string | null>) =>
  (column: string): string | null =>
    values[column] ?? null;

describe('parseChannelRules', () => {
  it("reads PostHog's rule shape, with column names or PostHog's field names", () => {
    const rules = parse({
      '2': [
        {
          id: 'a',
          channel_type: ' Partners ',
          combiner: 'OR',
          items: [
            { id: '1', key: 'utm_source', op: 'exact', value: ['a', 'b'] },
            { key: 'entry_pathname', op: 'is_set' },
            { key: 'url', op: 'regex', value: '^https://' },
          ],
        },
        { channel_type: 'Everything', items: [] },
      ],
    });
    expect([...rules.keys()]).toEqual([2]);
    expect(rules.get(2)).toEqual([
      {
        channelType: 'Partners',
        combiner: 'OR',
        conditions: [
          { column: 'entry_utm_source', op: 'exact', values: ['a', 'b'] },
          { column: 'entry_pathname', op: 'is_set', values: undefined },
          { column: 'entry_current_url', op: 'regex', values: ['^https://'] },
        ],
      },
      { channelType: 'Everything', combiner: 'AND', conditions: [] },
    ]);
  });

  it('names every bad entry: team, rule (with its channel type), condition and field', () => {
    const found = errors({
      '7': [
        {
          channel_type: 'Partners',
          items: [
            { key: 'entry_utm_medum', op: 'exact', value: 'x' },
            { key: 'entry_utm_source', op: 'regex', value: '(' },
            { key: 'entry_utm_source', op: 'exact' },
            { key: 'hostname', op: 'exact', value: 'a.com' },
            { key: 'entry_utm_source', op: 'regex', value: ['ok', 'a(?=b)'] },
          ],
        },
        { channel_type: '  ', items: [] },
        { channel_type: 'tab\there', items: [] },
      ],
      seven: [],
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^team 7, rule 1 \("Partners"\), condition 1 key: 'entry_utm_medum' is not a string column of the sessions view \(one of entry_utm_source, /,
      ),
      expect.stringMatching(/^team 7, rule 1 \("Partners"\), condition 2 value: "\(" is not a valid RE2 regex: /),
      'team 7, rule 1 ("Partners"), condition 3 value: operator exact needs a value (a string or a list of strings)',
      'team 7, rule 1 ("Partners"), condition 4 key: \'hostname\' means the column entry_hostname, which the sessions view does not have',
      expect.stringMatching(/^team 7, rule 1 \("Partners"\), condition 5 value: "a\(\?=b\)" is not a valid RE2 regex: /),
      'team 7, rule 2 ("  ") channel_type: must not be empty',
      'team 7, rule 3 ("tab\\there") channel_type: must not contain control characters',
      'team "seven": the key must be a team_id (a non-negative integer)',
    ]);
  });

  it('reports shape problems with where they are', () => {
    expect(errors([])).toEqual([expect.stringMatching(/^the file: /)]);
    expect(errors({ '1': [{ channel_type: 'X', items: [{ key: 'entry_pathname', op: 'contains', value: 'x' }] }] })).toEqual([
      expect.stringMatching(/^team 1, rule 1 \("X"\), condition 1 op: Invalid option/),
    ]);
    expect(errors({ '1': [{ channel_type: 'X', items: [], combiner: 'XOR' }] })).toEqual([
      expect.stringMatching(/^team 1, rule 1 \("X"\) combiner: /),
    ]);
    expect(errors({ '1': [{ channel_type: 'X', items: [], typo: true }] })).toEqual([
      expect.stringMatching(/^team 1, rule 1 \("X"\): .*typo/),
    ]);
    expect(errors({ '1': [{ channel_type: 'X', items: [{ key: 'entry_pathname', op: 'exact', value: 5 }] }] })).toEqual([
      expect.stringMatching(/^team 1, rule 1 \("X"\), condition 1 value: /),
    ]);
  });

  it('refuses what cannot be the same in TypeScript and ClickHouse, and values past the limits', () => {
    const long = 'x'.repeat(CHANNEL_RULE_LIMITS.valueLength + 1);
    const one = (value: unknown, op = 'exact'): readonly string[] =>
      errors({ '1': [{ channel_type: 'X', items: [{ key: 'entry_pathname', op, value }] }] });
    expect(one('a\u0000b', 'regex')).toEqual([expect.stringContaining('contains a NUL character')]);
    expect(one('a\u0000b')).toEqual([]);
    expect(one('\ud800x')).toEqual([expect.stringContaining('unpaired UTF-16 surrogate')]);
    expect(one(long)).toEqual([expect.stringContaining(`longer than ${CHANNEL_RULE_LIMITS.valueLength}`)]);
    for (const re of ['(a)\\1', '(?<=a)b', 'a++', '(?!x)'])
      expect(one(re, 'regex'), re).toEqual([expect.stringContaining('not a valid RE2')]);
    for (const re of ['^a.b$', '(?i)ABC', '\\pL+', '[[:alpha:]]', '(?P<n>x)', 'a{2,5}', '\\Qa.b\\E', ''])
      expect(one(re, 'regex'), re).toEqual([]);
    const many = Array.from({ length: CHANNEL_RULE_LIMITS.rulesPerTeam + 1 }, () => ({ channel_type: 'X', items: [] }));
    expect(errors({ '1': many })).toEqual([expect.stringMatching(/^team 1: .*100/)]);
  });

  it('reads JSON text, reporting a syntax error', () => {
    expect(parseChannelRulesJson('{"1": []}', COLUMNS)).toEqual({ ok: true, rules: new Map([[1, []]]) });
    expect(parseChannelRulesJson('{"1": [}', COLUMNS)).toEqual({ ok: false, errors: [expect.stringMatching(/^not valid JSON: /)] });
  });
});

describe('conditionHolds: the operators and their NULL semantics (PostHog HogQL)', () => {
  it.each([
    ['exact', 'abc', 'abc', true],
    ['exact', 'abc', 'ABC', false],
    ['exact', null, 'abc', false],
    ['is_not', 'abc', 'abd', true],
    ['is_not', 'abc', 'abc', false],
    ['is_not', null, 'abc', true],
    ['icontains', 'Hello World', 'o w', true],
    ['icontains', 'Hello', 'xyz', false],
    ['icontains', 'a_b', '_', true],
    ['icontains', 'axb', '_', false],
    ['icontains', 'a%b', '%', true],
    ['icontains', 'ÉCOLE', 'école', false],
    ['icontains', 'x', '', true],
    ['icontains', null, '', false],
    ['not_icontains', 'Hello', 'HELL', false],
    ['not_icontains', 'Hello', 'xyz', true],
    ['not_icontains', null, 'x', true],
    ['regex', 'abc', '^a.c$', true],
    ['regex', 'a\nc', '^a.c$', true],
    ['regex', 'abc', 'b', true],
    ['regex', 'ABC', '(?i)abc', true],
    ['regex', null, '.*', false],
    ['not_regex', 'abc', 'z', true],
    ['not_regex', 'abc', 'b', false],
    ['not_regex', null, 'x', true],
    ['is_set', '', '', true],
    ['is_set', null, '', false],
    ['is_not_set', null, '', true],
    ['is_not_set', '', '', false],
  ] as const)('%s(%j, %j) is %s', (op, actual, value, expected) => {
    expect(conditionHolds(op, actual, value)).toBe(expected);
  });
});

describe('customChannelType', () => {
  it('first matching rule wins; no match is null', () => {
    const rules = teamRules([
      { channel_type: 'A', items: [{ key: 'entry_utm_source', op: 'exact', value: 'a' }] },
      { channel_type: 'B', items: [{ key: 'entry_utm_source', op: 'icontains', value: 'A' }] },
    ]);
    expect(customChannelType(rules, row({ entry_utm_source: 'a' }))).toBe('A');
    expect(customChannelType(rules, row({ entry_utm_source: 'xa' }))).toBe('B');
    expect(customChannelType(rules, row({ entry_utm_source: 'x' }))).toBeNull();
  });

  it('combines with AND or OR; a rule without conditions, or whose lists are all empty, matches everything', () => {
    const and = teamRules([
      {
        channel_type: 'T',
        combiner: 'AND',
        items: [
          { key: 'entry_utm_source', op: 'exact', value: 's' },
          { key: 'entry_utm_medium', op: 'exact', value: 'm' },
        ],
      },
    ]);
    expect(customChannelType(and, row({ entry_utm_source: 's', entry_utm_medium: 'm' }))).toBe('T');
    expect(customChannelType(and, row({ entry_utm_source: 's' }))).toBeNull();
    const or = teamRules([
      {
        channel_type: 'T',
        combiner: 'OR',
        items: [
          { key: 'entry_utm_source', op: 'exact', value: 's' },
          { key: 'entry_utm_medium', op: 'exact', value: 'm' },
        ],
      },
    ]);
    expect(customChannelType(or, row({ entry_utm_medium: 'm' }))).toBe('T');
    expect(customChannelType(teamRules([{ channel_type: 'All', items: [] }]), row({}))).toBe('All');
    const skipped = teamRules([{ channel_type: 'All', items: [{ key: 'entry_utm_source', op: 'exact', value: [] }] }]);
    expect(customChannelType(skipped, row({}))).toBe('All');
  });

  it('ORs a list of values whatever the operator, as PostHog does (is_not [a, b] always holds)', () => {
    const rules = teamRules([{ channel_type: 'N', items: [{ key: 'entry_utm_source', op: 'is_not', value: ['a', 'b'] }] }]);
    expect(customChannelType(rules, row({ entry_utm_source: 'a' }))).toBe('N');
    const single = teamRules([{ channel_type: 'N', items: [{ key: 'entry_utm_source', op: 'is_not', value: ['a'] }] }]);
    expect(customChannelType(single, row({ entry_utm_source: 'a' }))).toBeNull();
  });

  it('channelType: custom rules first, then the built-in rules', () => {
    const input = blankChannelInput({ utmSource: 'google' });
    const rules = teamRules([{ channel_type: 'Mine', items: [{ key: 'entry_utm_source', op: 'exact', value: 'mine' }] }]);
    expect(channelType(input, { rules, columns: row({ entry_utm_source: 'google' }) })).toBe('Organic Search');
    expect(channelType(input, { rules, columns: row({ entry_utm_source: 'mine' }) })).toBe('Mine');
  });

  it('with rules that never match, every input keeps its built-in channel type', () => {
    const never = teamRules([{ channel_type: 'Never', items: [{ key: 'entry_utm_source', op: 'regex', value: '^\\x{10FFFF}never$' }] }]);
    const value = fc.option(fc.oneof(fc.string(), fc.constantFrom('google', 'cpc', '$direct', 'video')), { nil: null });
    fc.assert(
      fc.property(channelInputArbitrary(value), (input) => {
        expect(channelType(input, { rules: never, columns: row({ entry_utm_source: input.utmSource }) })).toBe(defaultChannelType(input));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
