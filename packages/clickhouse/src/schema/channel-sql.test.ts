import { MEDIUM_TYPE_BY_KEY, SOURCE_CATEGORY_BY_KEY, parseChannelRules, type ChannelRules } from '@sessionizer/core';
import { describe, expect, it } from 'vitest';
import { channelTypeSql, clickHouseStringLiteral, customChannelTypeSql, type ChannelSqlColumns } from './channel-sql.js';

const COLUMNS: ChannelSqlColumns = {
  utmSource: 'utm_source',
  utmMedium: 'utm_medium',
  utmCampaign: 'utm_campaign',
  referringDomain: 'referring_domain',
  hasGclid: 'has_gclid',
  hasFbclid: 'has_fbclid',
  gadSource: 'gad_source',
  sourceSite: 'source_site',
  referringSite: 'referring_site',
};

/** The SQL split into string literals (decoded) and everything else, per ClickHouse's lexer. */
function lex(sql: string): { literals: string[]; code: string } {
  const literals: string[] = [];
  let code = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql.charAt(i);
    if (ch !== "'") {
      code += ch;
      i++;
      continue;
    }
    let value = '';
    i++;
    for (;;) {
      if (i >= sql.length) throw new Error('unterminated string literal');
      const c = sql.charAt(i);
      if (c === "'") break;
      if (c === '\\') {
        const next = sql.charAt(i + 1);
        if (next === 'x') {
          value += String.fromCharCode(parseInt(sql.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          value += next;
          i += 2;
        }
        continue;
      }
      value += c;
      i++;
    }
    i++;
    literals.push(value);
    code += "''";
  }
  return { literals, code };
}

describe('clickHouseStringLiteral', () => {
  it.each([
    ['google.com', "'google.com'"],
    ['', "''"],
    ["it's", "'it\\'s'"],
    ['back\\slash', "'back\\\\slash'"],
    ["\\'", "'\\\\\\''"],
    ['line\nbreak\ttab\u0000nul\u007f', "'line\\x0abreak\\x09tab\\x00nul\\x7f'"],
    ['$direct', "'$direct'"],
    ['яндекс 😀', "'яндекс 😀'"],
  ])('%j → %s', (value, expected) => {
    expect(clickHouseStringLiteral(value)).toBe(expected);
    expect(lex(expected).literals).toEqual([value]);
  });
});

describe('channelTypeSql', () => {
  const sql = channelTypeSql(COLUMNS);
  const { literals, code } = lex(sql);

  it('is one multiIf expression with balanced parentheses and brackets', () => {
    expect(sql.startsWith('multiIf(')).toBe(true);
    let depth = 0;
    for (const ch of code) {
      if (ch === '(' || ch === '[') depth++;
      if (ch === ')' || ch === ']') depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    expect(code.trimEnd().endsWith(')')).toBe(true);
    expect(code).not.toMatch(/;/);
  });

  it('is deterministic and of a sane size', () => {
    expect(channelTypeSql(COLUMNS)).toBe(sql);
    // ClickHouse's default max_query_size is 256 KiB for the whole query.
    expect(sql.length).toBeLessThan(100_000);
  });

  it('reads every column, each wrapped in parentheses', () => {
    for (const column of Object.values(COLUMNS)) expect(code).toContain(`(${column})`);
    const odd = channelTypeSql({ ...COLUMNS, utmSource: "JSONExtractString(props, 'utm_source') OR 1" });
    expect(odd).toContain("(JSONExtractString(props, 'utm_source') OR 1)");
  });

  it('normalises like PostHog: nullIf then lower (ASCII), gad_source not lowered, click ids are booleans', () => {
    expect(code).toContain("lower(nullIf(nullIf((utm_campaign), ''), ''))");
    expect(code).toContain("lower(nullIf(nullIf((utm_medium), ''), ''))");
    expect(code).toContain("lower(nullIf(nullIf((utm_source), ''), ''))");
    expect(code).toContain('ifNull((has_gclid), 0)');
    expect(code).toContain('ifNull((has_fbclid), 0)');
    expect(code).not.toMatch(/lower\(nullIf\(nullIf\(\((gad_source|referring_domain)\)/);
    expect(code).not.toContain('lowerUTF8');
  });

  it('writes the source key list once', () => {
    expect(sql.split("'1688.com'").length).toBe(2);
  });

  it('embeds every source key and medium, and the rule patterns, as literals', () => {
    const set = new Set(literals);
    for (const key of SOURCE_CATEGORY_BY_KEY.keys()) expect(set.has(key), key).toBe(true);
    for (const medium of MEDIUM_TYPE_BY_KEY.keys()) expect(set.has(medium), medium).toBe(true);
    for (const pattern of ['cross-network', '^(.*(([^a-df-z]|^)shop|shopping).*)$', '^(.*video.*)$', 'push$']) {
      expect(set.has(pattern), pattern).toBe(true);
    }
    for (const value of ['(direct)', 'direct', '$direct', 'cpc', 'retargeting', 'Paid Unknown', 'Unknown', 'Referral']) {
      expect(set.has(value), value).toBe(true);
    }
  });

  it('guards every NULL-able condition with ifNull', () => {
    expect(code).not.toMatch(/(?<!ifNull\()match\(/);
    expect(code).not.toMatch(/(?<!ifNull\()startsWith\(/);
    expect(sql).not.toMatch(/(?<!ifNull\()lower\(nullIf\(nullIf\(\(utm_medium\), ''\), 'null'\)\) IN/);
  });
});

describe('channelTypeSql with custom rules', () => {
  const columns = ['entry_utm_source', 'entry_current_url', 'entry_pathname'];
  const rules = (json: unknown): ChannelRules => {
    const parsed = parseChannelRules(json, columns);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    return parsed.rules;
  };
  const hostile = "x' OR 1=1) --\\'\n\u0000😀";
  const label = "It's \\'); DROP TABLE x; -- 😀";

  it('without rules (or with empty rule lists) is the built-in expression', () => {
    const builtIn = channelTypeSql(COLUMNS);
    expect(channelTypeSql(COLUMNS, { rules: new Map(), teamId: 'team_id', columns })).toBe(builtIn);
    expect(channelTypeSql(COLUMNS, { rules: rules({ '1': [] }), teamId: 'team_id', columns })).toBe(builtIn);
  });

  it('puts user values into the SQL only as string literals', () => {
    const custom = rules({
      '7': [
        { channel_type: label, combiner: 'OR', items: [{ key: 'entry_utm_source', op: 'exact', value: [hostile, 'b'] }] },
        { channel_type: 'P', items: [{ key: 'url', op: 'icontains', value: hostile }] },
      ],
    });
    const sql = channelTypeSql(COLUMNS, { rules: custom, teamId: 'team_id', columns });
    const { literals, code } = lex(sql);
    expect(literals).toContain(hostile);
    expect(literals).toContain(label);
    expect(literals).toContain(hostile.toLowerCase());
    expect(code).not.toContain('OR 1=1');
    expect(code).toContain('ifNull((team_id) = 7, 0)');
    expect(code).toContain('(entry_current_url)');
    expect(sql.startsWith('assumeNotNull(coalesce(')).toBe(true);
  });

  it('refuses rules that read a column the view does not pass in', () => {
    const custom = rules({ '1': [{ channel_type: 'X', items: [{ key: 'entry_pathname', op: 'is_set' }] }] });
    expect(() => customChannelTypeSql({ rules: custom, teamId: 'team_id', columns: ['entry_utm_source'] })).toThrow(/entry_pathname/);
  });
});
