import { describe, expect, it } from 'vitest';
import { checkBoundaries, importsOf } from './boundaries.js';

const ws = new Map([
  ['@sessionizer/core', 'packages/core'],
  ['@sessionizer/kafka', 'packages/kafka'],
  ['@sessionizer/clickhouse', 'packages/clickhouse'],
  ['@sessionizer/service', 'services/sessionizer'],
  ['@sessionizer/loadgen', 'services/loadgen'],
]);
const check = (path: string, text: string) => checkBoundaries([{ path, text }], ws).map((v) => v.rule);

describe('importsOf', () => {
  it('finds static, side-effect, dynamic and type imports and re-exports', () => {
    const text = `import a from 'a';\nimport type { B } from "b";\nimport 'c';\nexport * from './d.js';\nconst e = await import('e');\nimport {\n  f,\n} from 'f';`;
    expect([...importsOf(text)].sort()).toEqual(['./d.js', 'a', 'b', 'c', 'e', 'f']);
  });
});

describe('checkBoundaries', () => {
  it('keeps the core pure', () => {
    expect(check('packages/core/src/x.ts', "import { readFile } from 'node:fs';")).toHaveLength(1);
    expect(check('packages/core/src/x.ts', "import fs from 'fs';")).toHaveLength(1);
    expect(check('packages/core/src/x.ts', "import kafkajs from 'kafkajs';")).toHaveLength(1);
    expect(check('packages/core/src/x.ts', "import { createClient } from '@clickhouse/client';")).toHaveLength(1);
    expect(check('packages/core/src/x.ts', "import { k } from '@sessionizer/kafka';")).toHaveLength(1);
    expect(check('packages/core/src/x.ts', "import { z } from 'zod';\nimport { y } from './y.js';")).toEqual([]);
  });
  it('lets core tests use node built-ins', () => {
    expect(check('packages/core/src/x.test.ts', "import { readFileSync } from 'node:fs';")).toEqual([]);
  });
  it('forbids packages → services, by name and by path', () => {
    expect(check('packages/kafka/src/a.ts', "import { x } from '@sessionizer/service';")).toHaveLength(1);
    expect(check('packages/kafka/src/a.ts', "import { x } from '../../../services/sessionizer/src/main.js';")).toHaveLength(1);
  });
  it('forbids adapter → adapter', () => {
    expect(check('packages/kafka/src/a.ts', "import { x } from '@sessionizer/clickhouse';")).toHaveLength(1);
    expect(check('packages/kafka/src/a.ts', "import { x } from '@sessionizer/core';")).toEqual([]);
  });
  it('forbids service → service', () => {
    expect(check('services/loadgen/src/a.ts', "import { x } from '@sessionizer/service';")).toHaveLength(1);
    expect(check('services/loadgen/src/a.ts', "import { x } from '@sessionizer/core';")).toEqual([]);
  });
  it('forbids production code → test helpers, allows tests', () => {
    expect(check('services/sessionizer/src/a.ts', "import { x } from '../../../test/support/names.js';")).toHaveLength(1);
    expect(check('services/sessionizer/src/a.test.ts', "import { x } from '../../../test/support/names.js';")).toEqual([]);
  });

  it('forbids production code → a development entry point, allows tests', () => {
    expect(check('services/sessionizer/src/a.ts', "import { sessionize } from '@sessionizer/core/testing';")).toHaveLength(1);
    expect(check('packages/kafka/src/a.ts', "import { freePort } from './testing.js';")).toHaveLength(1);
    expect(check('services/sessionizer/src/a.test.ts', "import { sessionize } from '@sessionizer/core/testing';")).toEqual([]);
    expect(check('test/bench/a.ts', "import { freePort } from '@sessionizer/kafka/testing';")).toEqual([]);
    expect(check('packages/core/src/testing.ts', "export { sessionize } from './oracle.js';")).toEqual([]);
  });

  it('keeps testcontainers, a development dependency, to local-broker.ts and tests', () => {
    expect(check('packages/kafka/src/source.ts', "const tc = await import('testcontainers');")).toHaveLength(1);
    expect(check('services/sessionizer/src/a.ts', "import { GenericContainer } from 'testcontainers';")).toHaveLength(1);
    expect(check('packages/kafka/src/local-broker.ts', "const tc = await import('testcontainers');")).toEqual([]);
    expect(check('test/support/a.ts', "import { GenericContainer } from 'testcontainers';")).toEqual([]);
  });
  it('lets unit tests import only test/support files that start nothing, directly or through other test files', () => {
    const files = [
      { path: 'packages/core/src/a.test.ts', text: "import { blankEvent } from '../../../test/support/events.js';" },
      { path: 'packages/core/src/b.test.ts', text: "import { serverEvent } from '../../../test/support/server.js';" },
      { path: 'packages/core/src/c.test.ts', text: "import { x } from '../../../test/integration/service.test.js';" },
      { path: 'services/sessionizer/src/d.test.ts', text: "import { runCli } from '../../../test/support/cli.js';" },
      { path: 'test/support/events.ts', text: "import type { SessionEvent } from '@sessionizer/core';" },
      { path: 'test/support/server.ts', text: "import { readTopic } from './kafka.js';" },
      { path: 'test/support/kafka.ts', text: "import kafkajs from 'kafkajs';" },
      { path: 'test/support/cli.ts', text: "import { spawn } from 'node:child_process';" },
      { path: 'test/integration/service.test.ts', text: '' },
    ];
    const violations = checkBoundaries(files, ws).map((v) => v.path);
    expect(violations.sort()).toEqual(['packages/core/src/b.test.ts', 'packages/core/src/c.test.ts', 'services/sessionizer/src/d.test.ts']);
    // an integration test may import anything of test/support
    expect(check('test/integration/x.test.ts', "import { runCli } from '../support/cli.js';")).toEqual([]);
  });
});
