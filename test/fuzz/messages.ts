/**
 * Fuzz inputs for the two topic formats: real messages (the golden fixtures and generated
 * traffic) mutated structurally (a field replaced by a hostile value, removed, renamed, nested;
 * for posthog-capture also inside the `data` JSON string) and textually (cut, spliced, bytes
 * inserted), plus arbitrary text. Structure-aware mutations of valid messages reach the deep
 * branches (timestamps, ids, properties) that random text never does.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { InputFormat } from '@sessionizer/core';
import { generate } from '@sessionizer/generator';

const FIXTURES = new URL('../../packages/core/fixtures/', import.meta.url);

/** Valid messages of a format: the golden fixtures and a slice of generated traffic. */
export function seedMessages(format: InputFormat): string[] {
  const golden = readFileSync(new URL(`${format}.ndjson`, FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const generated: string[] = [];
  for (const m of generate({
    seed: 7,
    format,
    events: 400,
    startMs: Date.UTC(2026, 10, 20, 10),
    rates: { invalid: 0.05, noSessionId: 0.05 },
  })) {
    generated.push(m.value);
  }
  return [...golden, ...generated];
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  'null',
  'undefined',
  'NaN',
  '-0',
  '0',
  '1e999',
  '\u0000',
  '\u2028\u2029',
  '\uD800',
  '\uDFFF\uD800',
  '\uFEFF',
  '😀'.repeat(3),
  '\u202Eevil',
  'x'.repeat(9_000),
  '%00%ff',
  "'; DROP TABLE sessions; --",
  '__proto__',
  'constructor',
  'http://',
  'https://a.b/' + 'p/'.repeat(3_000),
  'javascript:alert(1)',
  '2026-11-26 10:00:00',
  '2026-11-26T10:00:00.123456789Z',
  '2026-02-30 10:00:00',
  '2026-11-26 24:00:00',
  '2026-11-26T10:00:00+14:00',
  '2026-11-26T10:00:00-12:00',
  '9999-12-31 23:59:59.999999',
  '0000-01-01 00:00:00',
  '1969-12-31T23:59:59.999999Z',
  '-000001-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '2026-11-26',
  '10:00:00',
  '01a1f864-ae01-7d4f-9b21-3e8a6c5f0d17',
  '01A1F864-AE01-7D4F-9B21-3E8A6C5F0D17',
  '{01a1f864-ae01-7d4f-9b21-3e8a6c5f0d17}',
  '01a1f864ae017d4f9b213e8a6c5f0d17',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-7fff-bfff-ffffffffffff',
  '01a1f864-ae01-4d4f-9b21-3e8a6c5f0d17',
  '$pageview',
  '$screen',
  '$autocapture',
  '$feature/flag',
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(...HOSTILE_STRINGS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      2 ** 53,
      -(2 ** 63),
      1e308,
      -1e-308,
      Number.MAX_SAFE_INTEGER + 2,
      [],
      {},
      [null],
      JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The keys along which a mutation may step into a message (top level, properties, data). */
function paths(
  value: unknown,
  prefix: readonly (string | number)[] = [],
  depth = 0,
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (depth > 3 || value === null || typeof value !== 'object') return out;
  for (const key of Array.isArray(value) ? value.keys() : Object.keys(value)) {
    const p = [...prefix, key];
    out.push(p);
    paths((value as Record<string | number, unknown>)[key], p, depth + 1, out);
  }
  return out;
}

type Mutation =
  | { kind: 'set'; pick: number; value: unknown }
  | { kind: 'delete'; pick: number }
  | { kind: 'rename'; pick: number; to: string }
  | { kind: 'wrap'; pick: number }
  | { kind: 'inner'; mutations: Mutation[] };

const mutationArb: fc.Arbitrary<Mutation> = fc.letrec<{ m: Mutation }>((tie) => ({
  m: fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: hostileValue }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('rename' as const),
        pick: fc.nat(),
        to: fc.constantFrom('__proto__', 'constructor', '', 'UUID', 'properties'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('inner' as const), mutations: fc.array(tie('m'), { maxLength: 3 }) }) },
  ),
})).m;

/** A fresh copy: arbitraries share instances, and a shared array wrapped into itself is a cycle. */
function clone(value: unknown): Json {
  const text = JSON.stringify(value) as string | undefined; // undefined for undefined and functions
  return text === undefined ? null : (JSON.parse(text) as Json);
}

function applyMutation(root: Json, m: Mutation): Json {
  if (m.kind === 'inner') {
    // inside JSON carried as a string: posthog-capture's `data`, posthog-events' `properties`
    if (root === null || typeof root !== 'object' || Array.isArray(root)) return root;
    for (const key of ['data', 'properties']) {
      const inner = root[key];
      if (typeof inner !== 'string') continue;
      let parsed: Json;
      try {
        parsed = JSON.parse(inner) as Json;
      } catch {
        continue;
      }
      root[key] = JSON.stringify(m.mutations.reduce(applyMutation, parsed));
      return root;
    }
    return m.mutations.reduce(applyMutation, root);
  }
  const all = paths(root);
  if (all.length === 0) return m.kind === 'set' ? clone(m.value) : root;
  const path = all[m.pick % all.length] ?? [];
  const last = path[path.length - 1];
  let parent: Json = root;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[step] ?? null;
  if (parent === null || typeof parent !== 'object' || last === undefined) return root;
  const container = parent as Record<string | number, Json>;
  switch (m.kind) {
    case 'set':
      container[last] = clone(m.value);
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else Reflect.deleteProperty(container, last);
      break;
    case 'rename':
      if (!Array.isArray(parent)) {
        const v = container[last] ?? null;
        Reflect.deleteProperty(container, last);
        // defineProperty: a plain assignment to __proto__ would set the prototype, not a key
        Object.defineProperty(container, m.to, { value: v, enumerable: true, configurable: true, writable: true });
      }
      break;
    case 'wrap':
      container[last] = [container[last] ?? null];
      break;
  }
  return root;
}

type TextEdit =
  { kind: 'cut'; at: number } | { kind: 'insert'; at: number; text: string } | { kind: 'splice'; from: number; to: number; at: number };

const textEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        '"',
        '\\',
        '{',
        '}',
        '[',
        ']',
        ',',
        ':',
        '\\u0000',
        '\\ud800',
        '\u0000',
        'null',
        '1e400',
        '"__proto__":{}',
        '[[[[[[[[',
      ),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
  }),
  fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), to: fc.nat(), at: fc.nat() }),
);

function applyTextEdit(text: string, e: TextEdit): string {
  const n = text.length + 1;
  switch (e.kind) {
    case 'cut':
      return text.slice(0, e.at % n);
    case 'insert': {
      const at = e.at % n;
      return text.slice(0, at) + e.text + text.slice(at);
    }
    case 'splice': {
      const a = e.from % n;
      const b = e.to % n;
      const at = e.at % n;
      return text.slice(0, at) + text.slice(Math.min(a, b), Math.max(a, b)) + text.slice(at);
    }
  }
}

/** A message of `format`: a mutated real one most of the time, else arbitrary text. */
export function messageArb(format: InputFormat): fc.Arbitrary<string> {
  const seeds = seedMessages(format);
  const seed = fc.constantFrom(...seeds);
  // structural mutations start from the seeds that are JSON (the generated traffic has some that are not)
  const parsed = seeds.flatMap((text) => {
    try {
      return [text.length > 0 ? text : '{}'].filter(() => JSON.parse(text) !== undefined);
    } catch {
      return [];
    }
  });
  const structural = fc
    .tuple(fc.constantFrom(...parsed), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([text, mutations]) => {
      const start: Json = JSON.parse(text) as Json;
      return JSON.stringify(mutations.reduce(applyMutation, start));
    });
  const textual = fc
    .tuple(seed, fc.array(textEditArb, { minLength: 1, maxLength: 3 }))
    .map(([text, edits]) => edits.reduce(applyTextEdit, text));
  const both = fc
    .tuple(structural, fc.array(textEditArb, { minLength: 1, maxLength: 2 }))
    .map(([text, edits]) => edits.reduce(applyTextEdit, text));
  const deep = fc.nat({ max: 200_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
  return fc.oneof(
    { weight: 8, arbitrary: structural },
    { weight: 4, arbitrary: textual },
    { weight: 2, arbitrary: both },
    { weight: 2, arbitrary: seed },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: deep },
  );
}
