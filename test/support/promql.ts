/**
 * Enough of PromQL to say which metrics an expression reads and with which labels: the vector
 * selectors (`name{label op "value", …}`) and the labels named by by / without / on / ignoring /
 * group_left / group_right. Grafana's template variables ($var, ${var}, [[var]],
 * $__rate_interval) may appear in strings and range brackets. Not a validator: it tokenises,
 * skips functions, numbers, durations and operators, and throws on what it cannot tokenise.
 */
export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

export interface PromqlUse {
  readonly selectors: readonly Selector[];
  /** Labels named in by (…), without (…), on (…), ignoring (…), group_left (…), group_right (…). */
  readonly groupingLabels: readonly string[];
}

type Token =
  | { readonly t: 'ident'; readonly v: string }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'punct'; readonly v: string }
  | { readonly t: 'number' }
  | { readonly t: 'range' };

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
/** Aggregation operators: followed by `(` or by a by/without clause. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

export class PromqlError extends Error {
  override readonly name = 'PromqlError';
}

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new PromqlError(`${why} at ${i} in: ${expr}`);
  };
  while (i < expr.length) {
    const c = expr[i] ?? '';
    const rest = expr.slice(i);
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '#') {
      const nl = expr.indexOf('\n', i);
      i = nl === -1 ? expr.length : nl + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let v = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') {
          v += expr[j + 1] ?? '';
          j += 2;
        } else {
          v += expr[j] ?? '';
          j += 1;
        }
      }
      if (j >= expr.length) fail('unterminated string');
      out.push({ t: 'string', v });
      i = j + 1;
    } else if (c === '[') {
      // a range or subquery: [5m], [$__rate_interval], [1h:30s]; Grafana's [[var]] is a variable
      if (rest.startsWith('[[')) {
        const end = expr.indexOf(']]', i);
        if (end === -1) fail('unterminated [[variable]]');
        out.push({ t: 'ident', v: '$var' });
        i = end + 2;
        continue;
      }
      const end = expr.indexOf(']', i);
      if (end === -1) fail('unterminated range');
      out.push({ t: 'range' });
      i = end + 1;
    } else if (/^\$\{[^}]*\}/.test(rest) || /^\$[A-Za-z_]\w*/.test(rest)) {
      // a Grafana variable standing for a value (a duration, a number, a whole matcher list is not supported)
      const m = /^\$\{[^}]*\}|^\$[A-Za-z_]\w*/.exec(rest)?.[0] ?? '';
      out.push({ t: 'number' });
      i += m.length;
    } else if (/^(0x[0-9a-f]+|\d*\.?\d+(e[+-]?\d+)?)([smhdwy]|ms)?/i.test(rest)) {
      const m = /^(0x[0-9a-f]+|\d*\.?\d+(e[+-]?\d+)?)(([smhdwy]|ms)\d*)*/i.exec(rest)?.[0] ?? '';
      out.push({ t: 'number' });
      i += m.length;
    } else if (/^[A-Za-z_:][\w:]*/.test(rest)) {
      const m = /^[A-Za-z_:][\w:]*/.exec(rest)?.[0] ?? '';
      out.push({ t: 'ident', v: m });
      i += m.length;
    } else {
      const op = /^(==|!=|=~|!~|>=|<=|[-+*/%^(){},=<>@])/.exec(rest)?.[0];
      if (op === undefined) fail(`unexpected '${c}'`);
      out.push({ t: 'punct', v: op ?? '' });
      i += (op ?? '').length;
    }
  }
  return out;
}

/** The metrics and labels an expression reads. */
export function analyze(expr: string): PromqlUse {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const grouping = new Set<string>();
  const at = (k: number): Token | undefined => tokens[k];
  const isPunct = (k: number, v: string): boolean => {
    const t = at(k);
    return t?.t === 'punct' && t.v === v;
  };

  /** Parse `{…}` starting at k (the `{`); returns the matchers and the index after `}`. */
  const matchers = (k: number): [Matcher[], number] => {
    const out: Matcher[] = [];
    let j = k + 1;
    while (!isPunct(j, '}')) {
      const label = at(j);
      const op = at(j + 1);
      const value = at(j + 2);
      if (label?.t !== 'ident' || op?.t !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.v) || value?.t !== 'string') {
        throw new PromqlError(`bad label matcher in: ${expr}`);
      }
      out.push({ label: label.v, op: op.v as Matcher['op'], value: value.v });
      j += 3;
      if (isPunct(j, ',')) j += 1;
    }
    return [out, j + 1];
  };

  for (let k = 0; k < tokens.length; k += 1) {
    const tok = at(k);
    if (tok?.t === 'ident') {
      const lower = tok.v.toLowerCase();
      if (GROUPING.has(lower)) {
        if (isPunct(k + 1, '(')) {
          let j = k + 2;
          while (!isPunct(j, ')')) {
            const l = at(j);
            if (l?.t === 'ident') grouping.add(l.v);
            else if (!(l?.t === 'punct' && l.v === ',')) throw new PromqlError(`bad label list after ${tok.v} in: ${expr}`);
            j += 1;
          }
          k = j;
        }
        continue;
      }
      if (KEYWORDS.has(lower) || AGGREGATIONS.has(lower) || tok.v === '$var') continue;
      if (isPunct(k + 1, '(')) continue; // a function or an aggregation
      if (isPunct(k + 1, '{')) {
        const [m, next] = matchers(k + 1);
        selectors.push({ metric: tok.v, matchers: m });
        k = next - 1;
      } else {
        selectors.push({ metric: tok.v, matchers: [] });
      }
    } else if (tok?.t === 'punct' && tok.v === '{') {
      const [m, next] = matchers(k);
      const name = m.find((x) => x.label === '__name__' && x.op === '=');
      if (name === undefined) throw new PromqlError(`a selector without a metric name in: ${expr}`);
      selectors.push({ metric: name.value, matchers: m.filter((x) => x !== name) });
      k = next - 1;
    }
  }
  return { selectors, groupingLabels: [...grouping] };
}

/** Grafana's `label_values(metric{…}, label)` / `label_values(label)` variable queries. */
export function analyzeLabelValues(query: string): PromqlUse {
  const m = /^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_]\w*)\s*\)\s*$/s.exec(query);
  if (m?.[1] === undefined || m[2] === undefined) throw new PromqlError(`not label_values(selector, label): ${query}`);
  return { selectors: analyze(m[1]).selectors, groupingLabels: [m[2]] };
}
