/** `npm run docs:columns`: rewrite the generated column table of docs/sessions.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withColumnsTable } from './docs-columns.js';

const path = new URL('../docs/sessions.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withColumnsTable(before);
writeFileSync(path, after);
console.log(before === after ? 'docs/sessions.md: column table up to date' : 'docs/sessions.md: column table rewritten');
