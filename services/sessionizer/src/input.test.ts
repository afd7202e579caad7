/**
 * decodeInput: text passes through unchanged however it is chunked; gzip (one member or several,
 * any chunking) is decompressed; other compressions and binary data are refused by their first
 * bytes with a message naming them; a UTF-8 byte order mark is dropped.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeInput, InputError, notTextReason, SNIFF_BYTES } from './input.js';

async function* from(chunks: readonly (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

async function decoded(
  chunks: readonly (Uint8Array | string)[],
  name = 'stdin',
): Promise<{ text: Buffer; compression: string | undefined }> {
  const input = await decodeInput(from(chunks), name);
  const out: Buffer[] = [];
  for await (const c of input.chunks) out.push(c);
  return { text: Buffer.concat(out), compression: input.compression };
}

/** The buffer cut at the given positions. */
function cut(buf: Buffer, positions: readonly number[]): Buffer[] {
  const points = [...new Set(positions.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(buf.subarray(start, p));
    start = p;
  }
  out.push(buf.subarray(start));
  return out;
}

/** Deterministic bytes that look random (no NUL when `noNul`). */
function noise(n: number, seed: string, noNul = false): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < n; i += 1) out.push(createHash('sha256').update(`${seed}:${i}`).digest());
  const buf = Buffer.concat(out).subarray(0, n);
  if (noNul) for (let i = 0; i < buf.length; i += 1) if (buf[i] === 0) buf[i] = 1;
  return buf;
}

const NDJSON = Array.from({ length: 500 }, (_, i) => JSON.stringify({ uuid: `u${i}`, event: '$pageview', properties: '{"a":"é ✓"}' })).join(
  '\n',
);

describe('decodeInput', () => {
  it('passes text through unchanged, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), async (s, cuts) => {
        const text = `{"x":${JSON.stringify(s)}}\n`;
        const r = await decoded(cut(Buffer.from(text), cuts));
        expect(r.compression).toBeUndefined();
        expect(r.text.toString()).toBe(text);
      }),
      { numRuns: 100 },
    );
    expect((await decoded([])).text.length).toBe(0);
    expect((await decoded(['{}'])).text.toString()).toBe('{}');
  });

  it('decompresses gzip, from any chunking and with several members, and counts the compressed bytes taken', async () => {
    const gz = gzipSync(NDJSON);
    for (const cuts of [[], [1], [1, 2, 3], [10, 500, 501], Array.from({ length: 50 }, (_, i) => i * 17)]) {
      const r = await decoded(cut(gz, cuts));
      expect(r.compression).toBe('gzip');
      expect(r.text.toString()).toBe(NDJSON);
    }
    // `cat a.gz b.gz` is one valid gzip stream of both
    const twice = await decoded([Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"b":2}\n')])]);
    expect(twice.text.toString()).toBe('{"a":1}\n{"b":2}\n');
    const input = await decodeInput(from([gz.subarray(0, 100), gz.subarray(100)]), 'x');
    for await (const _ of input.chunks);
    expect(input.sourceBytes()).toBe(gz.length);
  });

  it('drops a UTF-8 byte order mark', async () => {
    expect((await decoded([Buffer.from([0xef, 0xbb, 0xbf]), '{"a":1}\n'])).text.toString()).toBe('{"a":1}\n');
    expect((await decoded([gzipSync(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]))])).text.toString()).toBe('{}');
  });

  it.each([
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x05], 'zstd -dc events.x'],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00], 'xz -dc events.x'],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59], 'bzip2 -dc events.x'],
    ['lz4', [0x04, 0x22, 0x4d, 0x18, 0x64], 'lz4 -dc events.x'],
    ['zip', [0x50, 0x4b, 0x03, 0x04, 0x14], 'unzip -p events.x'],
    ['7z', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00], '7z x -so events.x'],
    ['Unix compress (.Z)', [0x1f, 0x9d, 0x90], 'uncompress -c events.x'],
  ])('refuses %s by its magic bytes, naming the command that decompresses it', async (name, magic, command) => {
    const bytes = Buffer.concat([Buffer.from(magic), noise(1000, name)]);
    await expect(decoded([bytes], 'events.x')).rejects.toThrow(
      new InputError(`events.x is ${name}-compressed: not supported, decompress it first (e.g. \`${command} | sessionizer replay - …\`)`),
    );
    // from stdin there is no file name to put in the command
    await expect(decoded([bytes])).rejects.toThrow(`stdin is ${name}-compressed: not supported, decompress it first (e.g. \``);
  });

  it('reads text that merely starts like a magic number ("BZh" without a block size)', async () => {
    expect((await decoded(['BZhello\n'])).text.toString()).toBe('BZhello\n');
  });

  it('refuses binary data: NUL bytes, or mostly invalid UTF-8 and control characters', async () => {
    await expect(decoded([noise(4096, 'a')], 'x.bin')).rejects.toThrow(
      /^x\.bin is not text: binary data \(a NUL byte at offset \d+\); replay reads NDJSON, one JSON event per line$/,
    );
    await expect(decoded([noise(4096, 'b', true)])).rejects.toThrow(
      /^stdin is not text: binary data \(\d+ of the first \d+ characters are invalid UTF-8 or control characters\)/,
    );
    // NUL after lots of text, within the inspected beginning
    await expect(decoded([NDJSON, Buffer.from([0]), NDJSON])).rejects.toThrow(`a NUL byte at offset ${Buffer.byteLength(NDJSON)}`);
    await expect(decoded([Buffer.from('\ufeff{"a":1}', 'utf16le')])).rejects.toThrow(/is not text: UTF-16 text .*iconv -f UTF-16 -t UTF-8/);
  });

  it('refuses an archive whose content is not text, or is compressed again', async () => {
    await expect(decoded([gzipSync(noise(2000, 'c'))], 'a.gz')).rejects.toThrow(/^a\.gz \(after gunzip\) is not text: binary data/);
    await expect(decoded([gzipSync(gzipSync(NDJSON))], 'a.gz.gz')).rejects.toThrow(
      'a.gz.gz (after gunzip) is gzip-compressed again: not supported, decompress it first (e.g. `gzip -dc a.gz.gz | gzip -dc | sessionizer replay - …`)',
    );
  });

  it('says when gzip data is corrupt or truncated', async () => {
    const gz = gzipSync(NDJSON.repeat(20));
    const truncated = await decodeInput(from([gz.subarray(0, gz.length - 50)]), 'cut.gz');
    await expect(
      (async () => {
        for await (const _ of truncated.chunks);
      })(),
    ).rejects.toThrow(/^cut\.gz: the gzip data is corrupt or truncated \(unexpected end of file\)$/);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 20, 60);
    await expect(decoded([corrupt], 'bad.gz')).rejects.toThrow(/^bad\.gz: the gzip data is corrupt or truncated/);
  });

  it('inspects only the beginning: binary further in is left to the line parser', async () => {
    const text = '{"a":1}\n'.repeat(SNIFF_BYTES / 8 + 10);
    const r = await decoded([text, noise(1000, 'd')]);
    expect(r.text.length).toBe(Buffer.byteLength(text) + 1000);
  });
});

describe('notTextReason', () => {
  it('accepts UTF-8 text with a stray Latin-1 byte, tabs, and a multi-byte character cut at the end', () => {
    expect(notTextReason(Buffer.from(NDJSON), true)).toBeUndefined();
    expect(
      notTextReason(Buffer.concat([Buffer.from('{"city":"Z'), Buffer.from([0xfc]), Buffer.from('rich"}\t\r\n{"a":1}\n')]), true),
    ).toBeUndefined();
    const cutChar = Buffer.from('{"a":"✓✓'.repeat(3)).subarray(0, -1);
    expect(notTextReason(cutChar, false)).toBeUndefined();
  });
});
