/**
 * The generator is pure (the demo and benchmarks run it anywhere, and a seed must give the
 * same bytes): its sources import only each other and @sessionizer/core, and use no clock,
 * no Math.random and no process state. (scripts/check-boundaries.ts checks only the core.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('./', import.meta.url);
const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('@sessionizer/generator sources', () => {
  it.each(sources)('%s imports nothing but itself and @sessionizer/core, and reads no clock', (file) => {
    // comments may name what the code must not do
    const text = readFileSync(new URL(file, dir), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
    for (const s of specifiers)
      expect(s === '@sessionizer/core' || /^\.\/[\w-]+\.js$/.test(s ?? ''), `${file} imports ${s ?? ''}`).toBe(true);
    for (const banned of ['Math.random', 'Date.now', 'performance.now', 'process.', 'setTimeout', 'crypto.']) {
      expect(text.includes(banned), `${file} uses ${banned}`).toBe(false);
    }
  });
});
