import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileIndex, indexedFiles, MAX_CHARS, purpose, REPO, withFileIndex } from './file-index.js';

describe("ARCHITECTURE.md's file-by-file index", () => {
  it('names every source file with the first sentence of its opening comment', () => {
    const missing = indexedFiles().filter((path) => purpose(readFileSync(join(REPO, path), 'utf8')) === null);
    expect(missing, 'files without an opening comment saying what they do').toEqual([]);
    const index = fileIndex();
    for (const path of indexedFiles()) expect(index).toContain(`\`${path.slice(path.lastIndexOf('/') + 1)}\`: `);
  });

  it('is the one the files generate (run `npm run docs:files` after adding, removing or re-describing a file)', () => {
    const doc = readFileSync(join(REPO, 'ARCHITECTURE.md'), 'utf8');
    expect(withFileIndex(doc)).toBe(doc);
  });
});

describe('purpose', () => {
  it('takes the first sentence of a block comment, on one line', () => {
    expect(purpose('/**\n * The consumer loop: admit batches. Then more.\n */\nexport {};')).toBe('The consumer loop: admit batches.');
    expect(purpose('/** One line, no full stop */\nexport {};')).toBe('One line, no full stop');
  });

  it('keeps a full stop that does not end a sentence (a version, a file name)', () => {
    expect(purpose('/** Kafka 4.4.0 from Maven; see x.ts for more. Next. */')).toBe('Kafka 4.4.0 from Maven; see x.ts for more.');
  });

  it('cuts a long sentence at a clause boundary, marked with an ellipsis', () => {
    const long = `/** The first clause: ${'word '.repeat(30)}then, ${'more '.repeat(20)}end. */`;
    const got = purpose(long) ?? '';
    expect(got.length).toBeLessThanOrEqual(MAX_CHARS + 2);
    expect(got.endsWith(' …')).toBe(true);
    expect(long).toContain(got.slice(0, -2));
  });

  it('reads line comments and skips a shebang', () => {
    expect(purpose('#!/usr/bin/env node\n// The bin.\n// More.\nimport x from "y";')).toBe('The bin.');
  });

  it('is null for a file that opens with code, or with an empty comment', () => {
    expect(purpose("export * from './a.js';\n/** Late. */")).toBeNull();
    expect(purpose('/** */\nexport {};')).toBeNull();
  });
});
