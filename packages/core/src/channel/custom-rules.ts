/**
 * Per-team custom channel rules, with the semantics of PostHog's "custom channel types"
 * (posthog/hogql/database/schema/channel_type.py, custom_rule_to_expr): a team's rules are tried
 * in order, the first rule whose conditions hold gives the channel type, and a session no rule
 * matches gets the built-in channel type.
 *
 * - A rule's conditions are combined with AND or OR (its `combiner`). A rule without conditions
 *   matches every session, as in PostHog.
 * - A condition reads one string column of the `sessions` view (`entry_utm_source`, …; PostHog's
 *   field names `utm_source`, `url`, `pathname`, `hostname`, `referring_domain` … name the
 *   matching columns) and compares it with a value, or with each of a list of values, any of
 *   which may match (PostHog ORs them, whatever the operator). An empty list drops the condition.
 * - Operators and their NULL semantics are PostHog's (HogQL prints `a = 'x'` over a Nullable
 *   column as `ifNull(equals(a, 'x'), 0)` and `a != 'x'` as `ifNull(notEquals(a, 'x'), 1)`):
 *     exact          equal                       NULL: false
 *     is_not         not equal                   NULL: true
 *     icontains      contains, ignoring case     NULL: false
 *     not_icontains  does not contain            NULL: true
 *     regex          RE2 `match`                 NULL: false
 *     not_regex      no RE2 `match`              NULL: true
 *     is_set         not NULL
 *     is_not_set     NULL
 *
 * Deliberate differences, chosen so that TypeScript and ClickHouse agree exactly (docs/sessions.md):
 * icontains folds ASCII letters only (ClickHouse's `lower`), and its value is a literal (PostHog
 * passes it into ILIKE, where `%` and `_` are wildcards); regexes must compile in RE2 (checked
 * with re2js, the JavaScript port of RE2, which also evaluates them here), `.` matches a newline
 * (ClickHouse's `match`), and a regex may not contain a NUL character.
 *
 * `channelTypeSql` (@sessionizer/clickhouse) turns the same rules into SQL; the integration test
 * test/integration/channel-sql.test.ts holds the two equal on the real engine, hostile values
 * included.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import { asciiLower } from './domain.js';
import { CHANNEL_TYPES } from './types.js';

export const CHANNEL_RULE_OPERATORS = [
  'exact',
  'is_not',
  'icontains',
  'not_icontains',
  'regex',
  'not_regex',
  'is_set',
  'is_not_set',
] as const;
export type ChannelRuleOperator = (typeof CHANNEL_RULE_OPERATORS)[number];

export interface ChannelCondition {
  /** A column of the `sessions` view. */
  readonly column: string;
  readonly op: ChannelRuleOperator;
  /**
   * The values, any of which may match; an empty list drops the condition (as in PostHog).
   * undefined: a single condition without a value (is_set, is_not_set only).
   */
  readonly values: readonly string[] | undefined;
}

export interface ChannelRule {
  readonly channelType: string;
  readonly combiner: 'AND' | 'OR';
  readonly conditions: readonly ChannelCondition[];
}

/** Custom rules per team_id, in the order they are tried. */
export type ChannelRules = ReadonlyMap<number, readonly ChannelRule[]>;

export const NO_CHANNEL_RULES: ChannelRules = new Map();

/** PostHog's custom-channel field names (CustomChannelField) and the `sessions` columns they read. */
export const POSTHOG_CHANNEL_FIELDS: Readonly<Record<string, string>> = {
  utm_source: 'entry_utm_source',
  utm_medium: 'entry_utm_medium',
  utm_campaign: 'entry_utm_campaign',
  referring_domain: 'entry_referring_domain',
  url: 'entry_current_url',
  pathname: 'entry_pathname',
  hostname: 'entry_hostname',
};

/** Bounds that keep the generated view text reasonable; documented in docs/sessions.md. */
export const CHANNEL_RULE_LIMITS = {
  rulesPerTeam: 100,
  conditionsPerRule: 20,
  valuesPerCondition: 100,
  valueLength: 1_000,
  channelTypeLength: 100,
} as const;

const VALUELESS: ReadonlySet<ChannelRuleOperator> = new Set(['is_set', 'is_not_set']);

const conditionSchema = z.strictObject({
  key: z.string(),
  op: z.enum(CHANNEL_RULE_OPERATORS),
  value: z
    .union([z.string(), z.array(z.string()).max(CHANNEL_RULE_LIMITS.valuesPerCondition)])
    .nullable()
    .optional(),
  id: z.string().optional(),
});

const ruleSchema = z.strictObject({
  channel_type: z.string(),
  combiner: z.enum(['AND', 'OR']).optional(),
  items: z.array(conditionSchema).max(CHANNEL_RULE_LIMITS.conditionsPerRule),
  id: z.string().optional(),
});

const fileSchema = z.record(z.string(), z.array(ruleSchema).max(CHANNEL_RULE_LIMITS.rulesPerTeam));

type RawRules = z.output<typeof fileSchema>;

export type ChannelRulesParse =
  { readonly ok: true; readonly rules: ChannelRules } | { readonly ok: false; readonly errors: readonly string[] };

const TEAM_ID = /^(?:0|[1-9]\d{0,15})$/;
/** Control characters (C0, DEL, C1) and unpaired surrogates: never in a label, nor in a value's SQL literal. */
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Where a problem is, for people: `team 7, rule 2 ("Partners"), condition 1`. */
function location(raw: unknown, path: readonly PropertyKey[]): string {
  const [team, rule, items, condition, ...rest] = path;
  const parts: string[] = [];
  if (team !== undefined) parts.push(`team ${String(team)}`);
  if (typeof rule === 'number') {
    const rules = (raw as Record<string, unknown> | null)?.[String(team)];
    const name = Array.isArray(rules) ? (rules[rule] as { channel_type?: unknown } | undefined)?.channel_type : undefined;
    parts.push(`rule ${rule + 1}${typeof name === 'string' ? ` (${JSON.stringify(name.slice(0, 60))})` : ''}`);
  }
  const fields = rest;
  if (items === 'items' && typeof condition === 'number') parts.push(`condition ${condition + 1}`);
  else fields.unshift(...[items, condition].filter((p) => p !== undefined));
  const field = fields.filter((p) => typeof p === 'string').join('.');
  return `${parts.join(', ')}${field === '' ? '' : ` ${field}`}`;
}

function regexError(pattern: string): string | undefined {
  if (pattern.includes('\u0000')) return 'contains a NUL character, which ClickHouse regexes cannot';
  try {
    RE2JS.compile(pattern, RE2JS.DOTALL);
    return undefined;
  } catch (error) {
    return `is not a valid RE2 regex: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function stringProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `is longer than ${max} characters`;
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

function validated(raw: unknown, data: RawRules, columns: readonly string[]): ChannelRulesParse {
  const errors: string[] = [];
  const allowed = new Set(columns);
  const rules = new Map<number, ChannelRule[]>();
  for (const [team, teamRules] of Object.entries(data)) {
    if (!TEAM_ID.test(team) || !Number.isSafeInteger(Number(team))) {
      errors.push(`team ${JSON.stringify(team)}: the key must be a team_id (a non-negative integer)`);
      continue;
    }
    const out: ChannelRule[] = [];
    teamRules.forEach((rule, r) => {
      const at = (...rest: PropertyKey[]): string => location(raw, [team, r, ...rest]);
      const name = rule.channel_type.trim();
      if (name === '') errors.push(`${at('channel_type')}: must not be empty`);
      else if (CONTROL.test(name)) errors.push(`${at('channel_type')}: must not contain control characters`);
      else {
        const problem = stringProblem(name, CHANNEL_RULE_LIMITS.channelTypeLength);
        if (problem !== undefined) errors.push(`${at('channel_type')}: ${problem}`);
      }
      const conditions: ChannelCondition[] = [];
      rule.items.forEach((item, c) => {
        const here = (field: string): string => at('items', c, field);
        let column: string | undefined;
        if (allowed.has(item.key)) column = item.key;
        else if (Object.hasOwn(POSTHOG_CHANNEL_FIELDS, item.key)) {
          const target = POSTHOG_CHANNEL_FIELDS[item.key] ?? '';
          if (allowed.has(target)) column = target;
          else errors.push(`${here('key')}: '${item.key}' means the column ${target}, which the sessions view does not have`);
        } else {
          errors.push(
            `${here('key')}: '${item.key.slice(0, 80)}' is not a string column of the sessions view (one of ${columns.join(', ')})`,
          );
        }
        let values: string[] | undefined;
        if (item.value === undefined || item.value === null) {
          if (!VALUELESS.has(item.op)) errors.push(`${here('value')}: operator ${item.op} needs a value (a string or a list of strings)`);
        } else values = typeof item.value === 'string' ? [item.value] : item.value;
        for (const v of values ?? []) {
          const problem = stringProblem(v, CHANNEL_RULE_LIMITS.valueLength) ?? (item.op.endsWith('regex') ? regexError(v) : undefined);
          if (problem !== undefined) errors.push(`${here('value')}: ${JSON.stringify(v.slice(0, 80))} ${problem}`);
        }
        if (column !== undefined) conditions.push({ column, op: item.op, values });
      });
      out.push({ channelType: name, combiner: rule.combiner ?? 'AND', conditions });
    });
    rules.set(Number(team), out);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/**
 * Validates custom channel rules: `{ "<team_id>": [rule, …], … }`, each rule
 * `{ "channel_type": "…", "combiner": "AND" | "OR", "items": [{ "key": column, "op": operator,
 * "value": "…" | ["…", …] }] }` (PostHog's CustomChannelRule shape; `id` fields are allowed and
 * ignored). `columns` are the string columns of the `sessions` view a condition may read: the
 * view code passes them in. Every problem is reported with where it is.
 */
export function parseChannelRules(json: unknown, columns: readonly string[]): ChannelRulesParse {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const where = location(json, issue.path);
        return `${where === '' ? 'the file' : where}: ${issue.message}`;
      }),
    };
  }
  return validated(json, parsed.data, columns);
}

/** parseChannelRules of a JSON text; a syntax error is reported like any other problem. */
export function parseChannelRulesJson(text: string, columns: readonly string[]): ChannelRulesParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, errors: [`not valid JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  return parseChannelRules(json, columns);
}

const compiled = new Map<string, RE2JS>();

function regex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern, RE2JS.DOTALL);
    compiled.set(pattern, re);
  }
  return re;
}

/** One operator on one column value, exactly as the SQL of channelTypeSql computes it. */
export function conditionHolds(op: ChannelRuleOperator, actual: string | null, value: string): boolean {
  switch (op) {
    case 'exact':
      return actual !== null && actual === value;
    case 'is_not':
      return actual === null || actual !== value;
    case 'icontains':
      return actual !== null && asciiLower(actual).includes(asciiLower(value));
    case 'not_icontains':
      return actual === null || !asciiLower(actual).includes(asciiLower(value));
    case 'regex':
      return actual !== null && regex(value).test(actual);
    case 'not_regex':
      return actual === null || !regex(value).test(actual);
    case 'is_set':
      return actual !== null;
    case 'is_not_set':
      return actual === null;
  }
}

/** The value of a `sessions` column of the session being classified. */
export type ChannelRuleColumns = (column: string) => string | null;

function ruleMatches(rule: ChannelRule, column: ChannelRuleColumns): boolean {
  const results: boolean[] = [];
  for (const c of rule.conditions) {
    if (c.values !== undefined && c.values.length === 0) continue;
    const actual = column(c.column);
    results.push((c.values ?? ['']).some((v) => conditionHolds(c.op, actual, v)));
  }
  if (results.length === 0) return true;
  return rule.combiner === 'AND' ? results.every(Boolean) : results.some(Boolean);
}

/** The channel type of the first rule that matches, or null: the built-in rules decide. */
export function customChannelType(rules: readonly ChannelRule[], column: ChannelRuleColumns): string | null {
  for (const rule of rules) if (ruleMatches(rule, column)) return rule.channelType;
  return null;
}

/**
 * The channel types a team can see, as PostHog lists them (get_lazy_session_table_values_v3):
 * its custom types first, in rule order, then the built-in ones, without duplicates.
 */
export function channelTypeNames(rules: readonly ChannelRule[]): string[] {
  return [...new Set([...rules.map((r) => r.channelType), ...CHANNEL_TYPES])];
}
