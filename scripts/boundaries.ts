/**
 * Import boundaries, checked in the lint step. One-way dependencies:
 *   services → packages; adapters (kafka, clickhouse) → core; never the reverse;
 *   never service → service; never production code → test helpers, nor a package's
 *   development entry point (`@sessionizer/<package>/testing`, `src/testing.ts`); testcontainers,
 *   a development dependency, is loaded only by packages/kafka/src/local-broker.ts;
 *   the pure core imports nothing from kafkajs, @clickhouse/client, chdb or node:*;
 *   unit tests (`*.test.ts` beside the code) import from test/ only test/support files that start
 *   nothing — no broker, engine or process, directly or through other test files.
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';

export interface SourceFile {
  /** Repo-relative path with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export interface Violation {
  readonly path: string;
  readonly specifier: string;
  readonly rule: string;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]|require\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const CORE_FORBIDDEN = [/^kafkajs$/, /^@clickhouse\//, /^chdb(\/|$)/, /^testcontainers$/, /^node:/];

type Area = { kind: 'package'; name: string } | { kind: 'service'; name: string } | { kind: 'test' } | { kind: 'other' };

function areaOf(path: string): Area {
  const parts = path.split('/');
  if (parts[0] === 'packages' && parts[1] !== undefined) return { kind: 'package', name: parts[1] };
  if (parts[0] === 'services' && parts[1] !== undefined) return { kind: 'service', name: parts[1] };
  if (parts[0] === 'test') return { kind: 'test' };
  return { kind: 'other' };
}

/** The workspace directory a bare specifier names: @sessionizer/core → packages/core, etc. */
export type WorkspaceMap = ReadonlyMap<string, string>;

function targetOf(from: string, spec: string, workspaces: WorkspaceMap): string | undefined {
  if (spec.startsWith('.')) return posix.normalize(posix.join(posix.dirname(from), spec));
  for (const [name, dir] of workspaces) {
    if (spec === name || spec.startsWith(`${name}/`)) return dir;
  }
  return undefined;
}

const isTestFile = (p: string): boolean => /\.test\.ts$/.test(p) || p.startsWith('test/');
const isUnitTest = (p: string): boolean => /\.test\.ts$/.test(p) && (p.startsWith('packages/') || p.startsWith('services/'));

/** What starts a broker, an engine or a process (or talks to one): no unit test may reach these. */
const STARTS_SOMETHING = [
  /^kafkajs$/,
  /^@clickhouse\//,
  /^chdb(\/|$)/,
  /^testcontainers$/,
  /^(node:)?child_process$/,
  /^@sessionizer\/(kafka|clickhouse)(\/|$)/,
];
const withoutExtension = (p: string): string => p.replace(/\.(ts|mts|js|mjs)$/, '');

/** The test file's own imports and those of the test files it imports: does any start something? */
function startsSomething(path: string, texts: ReadonlyMap<string, string>, workspaces: WorkspaceMap, seen = new Set<string>()): boolean {
  const key = withoutExtension(path);
  if (seen.has(key)) return false;
  seen.add(key);
  const text = texts.get(key);
  if (text === undefined) return false;
  return importsOf(text).some((spec) => {
    if (STARTS_SOMETHING.some((re) => re.test(spec))) return true;
    const target = targetOf(path, spec, workspaces);
    if (target === undefined) return false;
    if (areaOf(target).kind === 'service') return true;
    return target.startsWith('test/') && startsSomething(target, texts, workspaces, seen);
  });
}

/** A package's development entry point: the oracles, broker helpers; tests only. */
const isDevEntry = (spec: string, target: string | undefined): boolean =>
  /^@sessionizer\/[^/]+\/testing(\.js)?$/.test(spec) || (target !== undefined && /^packages\/[^/]+\/src\/testing(\.[jt]s)?$/.test(target));

export function checkBoundaries(files: readonly SourceFile[], workspaces: WorkspaceMap): Violation[] {
  const violations: Violation[] = [];
  const testTexts = new Map(files.filter((f) => f.path.startsWith('test/')).map((f) => [withoutExtension(f.path), f.text]));
  for (const file of files) {
    const from = areaOf(file.path);
    for (const spec of importsOf(file.text)) {
      const add = (rule: string): void => {
        violations.push({ path: file.path, specifier: spec, rule });
      };
      const target = targetOf(file.path, spec, workspaces);
      const to = target === undefined ? undefined : areaOf(target);

      if (from.kind === 'package' && from.name === 'core' && !isTestFile(file.path)) {
        if (CORE_FORBIDDEN.some((re) => re.test(spec)) || NODE_BUILTINS.has(spec)) {
          add('the pure core imports no I/O: not kafkajs, @clickhouse/*, chdb, testcontainers or node built-ins');
        }
        if (to?.kind === 'package' && to.name !== 'core') add('the core imports no other package (adapters depend on core)');
      }
      if (from.kind === 'package' && to?.kind === 'service') add('packages never import services');
      if (from.kind === 'package' && from.name !== 'core' && to?.kind === 'package' && to.name !== 'core' && to.name !== from.name) {
        add('adapters depend on the core only, not on each other');
      }
      if (from.kind === 'service' && to?.kind === 'service' && to.name !== from.name) add('services never import other services');
      if (!isTestFile(file.path) && to?.kind === 'test') add('production code never imports test helpers');
      if (!isTestFile(file.path) && spec === 'testcontainers' && file.path !== 'packages/kafka/src/local-broker.ts') {
        add('testcontainers is a development dependency: production code loads it only in local-broker.ts, when installed');
      }
      if (!isTestFile(file.path) && !/^packages\/[^/]+\/src\/testing\.ts$/.test(file.path) && isDevEntry(spec, target)) {
        add('production code never imports a development entry point (@sessionizer/*/testing)');
      }
      if (isUnitTest(file.path) && to?.kind === 'test' && target !== undefined) {
        if (!target.startsWith('test/support/')) add('unit tests import from test/ only test/support');
        else if (startsSomething(target, testTexts, workspaces)) {
          add('unit tests import only test/support files that start no broker, engine or process (test/README.md: the data layer)');
        }
      }
    }
  }
  return violations;
}
