/**
 * The embedded ClickHouse engine for integration tests. chDB binds one data directory per
 * process, and vitest runs each integration file in its own fork, so each file gets one
 * directory (created on first use, removed at exit) and each test its own database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse, type ClickHouseHandle } from '@sessionizer/clickhouse';
import { uniqueName } from './names.js';

let shared: { dir: string; handle: ClickHouseHandle } | undefined;

function sharedHandle(): { dir: string; handle: ClickHouseHandle } {
  if (shared === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'sessionizer-chdb-'));
    const handle = createClickHouse({ dataDir: dir });
    shared = { dir, handle };
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return shared;
}

export interface TestDatabase {
  readonly handle: ClickHouseHandle;
  readonly database: string;
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on this process's embedded engine. */
export async function testDatabase(prefix = 'it'): Promise<TestDatabase> {
  const { handle } = sharedHandle();
  const database = uniqueName(prefix);
  await handle.client.command({ query: `CREATE DATABASE ${database}` });
  return {
    handle,
    database,
    drop: async () => {
      await handle.client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` });
    },
  };
}

/** `client`, with every `exec` (how the sink inserts) shown to `seen` before it runs. */
export function recordingExec(client: ClickHouseClient, seen: (params: Parameters<ClickHouseClient['exec']>[0]) => void): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'exec') {
        return (params: Parameters<ClickHouseClient['exec']>[0]) => {
          seen(params);
          return target.exec(params);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}
