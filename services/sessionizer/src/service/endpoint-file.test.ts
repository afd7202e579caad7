/** The endpoint record `sessionizer run` leaves in the data directory for `sessionizer query`. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENDPOINT_FILE, readEndpointFile, writeEndpointFile } from './endpoint-file.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sessionizer-endpoint-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('endpoint file', () => {
  it('round-trips pid and url, and the returned function removes it', () => {
    const remove = writeEndpointFile(dir, { pid: 4242, url: 'http://127.0.0.1:9464' });
    const path = join(dir, ENDPOINT_FILE);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ pid: 4242, url: 'http://127.0.0.1:9464' });
    expect(readEndpointFile(dir)).toEqual({ pid: 4242, url: 'http://127.0.0.1:9464' });
    remove();
    expect(existsSync(path)).toBe(false);
    expect(readEndpointFile(dir)).toBeUndefined();
    expect(() => {
      remove();
    }).not.toThrow();
  });

  it('absent, unreadable or malformed records read as undefined', () => {
    expect(readEndpointFile(join(dir, 'missing'))).toBeUndefined();
    const path = join(dir, ENDPOINT_FILE);
    for (const text of ['not json', '{"pid":"1","url":"http://x"}', '{"pid":1}', 'null', '[]']) {
      writeFileSync(path, text);
      expect(readEndpointFile(dir), text).toBeUndefined();
    }
  });

  it('keeps only pid and url', () => {
    writeFileSync(join(dir, ENDPOINT_FILE), JSON.stringify({ pid: 1, url: 'http://127.0.0.1:1', extra: true }));
    expect(readEndpointFile(dir)).toEqual({ pid: 1, url: 'http://127.0.0.1:1' });
  });
});
