import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VIEW_COLUMNS } from '@sessionizer/core';
import { columnsTable, withColumnsTable } from './docs-columns.js';

describe('docs/sessions.md column table', () => {
  it('is the one the catalog generates (run `npm run docs:columns` after changing the catalog)', () => {
    const doc = readFileSync(new URL('../docs/sessions.md', import.meta.url), 'utf8');
    expect(withColumnsTable(doc)).toBe(doc);
  });

  it('has one row per column of the view, in order', () => {
    const rows = columnsTable().split('\n').slice(2);
    expect(rows.map((r) => /^\| `([^`]+)`/.exec(r)?.[1])).toEqual([...VIEW_COLUMNS]);
  });
});
