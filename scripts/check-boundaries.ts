/** `npm run lint` step: fail when an import crosses a boundary (see scripts/boundaries.ts). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkBoundaries, type SourceFile } from './boundaries.js';

const root = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git', 'coverage']);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
}

const paths: string[] = [];
for (const top of ['packages', 'services', 'test']) walk(join(root, top), paths);
const files: SourceFile[] = paths.map((p) => ({ path: relative(root, p).split('\\').join('/'), text: readFileSync(p, 'utf8') }));

const workspaces = new Map<string, string>();
for (const top of ['packages', 'services']) {
  for (const name of readdirSync(join(root, top))) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, top, name, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name !== undefined) workspaces.set(pkg.name, `${top}/${name}`);
    } catch {
      // not a workspace
    }
  }
}

const violations = checkBoundaries(files, workspaces);
for (const v of violations) console.error(`${v.path}: import '${v.specifier}': ${v.rule}`);
if (violations.length > 0) {
  console.error(`import boundaries: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log(`import boundaries: ${files.length} files checked, no violations`);
