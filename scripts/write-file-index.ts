/** `npm run docs:files`: rewrite ARCHITECTURE.md's generated file-by-file index. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withFileIndex } from './file-index.js';

const path = new URL('../ARCHITECTURE.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withFileIndex(before);
writeFileSync(path, after);
console.log(before === after ? 'ARCHITECTURE.md: file index up to date' : 'ARCHITECTURE.md: file index rewritten');
