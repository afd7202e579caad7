/**
 * While `sessionizer run` holds the embedded engine's data directory, it records where its
 * read-only SQL endpoint listens, so that `sessionizer query` can read through it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ENDPOINT_FILE = 'sessionizer-endpoint.json';

export interface EndpointRecord {
  readonly pid: number;
  readonly url: string;
}

export function writeEndpointFile(dataDir: string, record: EndpointRecord): () => void {
  const path = join(resolve(dataDir), ENDPOINT_FILE);
  writeFileSync(path, `${JSON.stringify(record)}\n`);
  return () => {
    rmSync(path, { force: true });
  };
}

export function readEndpointFile(dataDir: string): EndpointRecord | undefined {
  try {
    const value = JSON.parse(readFileSync(join(resolve(dataDir), ENDPOINT_FILE), 'utf8')) as Partial<EndpointRecord>;
    if (typeof value.pid === 'number' && typeof value.url === 'string') return { pid: value.pid, url: value.url };
  } catch {
    // absent or unreadable: no running service recorded
  }
  return undefined;
}
