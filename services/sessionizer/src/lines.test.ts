/**
 * readLines: NDJSON lines out of arbitrarily chunked bytes, \n and \r\n, a last line without a
 * newline, and the bound: a line over maxBytes is skipped (never held) and reported with its size.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLines, type Line } from './lines.js';

async function* from(chunks: readonly (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

async function collect(chunks: readonly (Uint8Array | string)[], maxBytes = 1_000_000): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(from(chunks), maxBytes)) out.push(line);
  return out;
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

const texts = (lines: readonly Line[]): (string | null)[] => lines.map((l) => l.text);

describe('readLines', () => {
  it('yields numbered lines with their byte length', async () => {
    expect(await collect(['a\nbé\n'])).toEqual([
      { number: 1, text: 'a', bytes: 1, oversized: false },
      { number: 2, text: 'bé', bytes: 3, oversized: false },
    ]);
  });

  it('yields nothing for empty input and for no chunks', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect([''])).toEqual([]);
    expect(await collect([Buffer.alloc(0), Buffer.alloc(0)])).toEqual([]);
  });

  it('keeps blank lines (numbered) and a last line without a newline', async () => {
    const lines = await collect(['a\n\n\r\n', '\nb']);
    expect(texts(lines)).toEqual(['a', '', '', '', 'b']);
    expect(lines.map((l) => l.number)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.map((l) => l.bytes)).toEqual([1, 0, 0, 0, 1]);
  });

  it('a trailing newline does not add an empty line', async () => {
    expect(texts(await collect(['a\nb\n']))).toEqual(['a', 'b']);
    expect(texts(await collect(['a\r\nb\r\n']))).toEqual(['a', 'b']);
  });

  it('strips \\r of \\r\\n, also when the chunk boundary falls between \\r and \\n', async () => {
    expect(texts(await collect(['one\r', '\ntwo\r', '\n']))).toEqual(['one', 'two']);
    expect(texts(await collect(['one\r', '\n', 'two\r']))).toEqual(['one', 'two']);
  });

  it('keeps a \\r that is not at the end of a line', async () => {
    expect(texts(await collect(['a\rb\n\rc\n']))).toEqual(['a\rb', '\rc']);
  });

  it('reassembles lines split at every byte, including inside multi-byte UTF-8 characters', async () => {
    const text = 'héllo 🎉 wörld\r\n日本語の行\n✓ last 𝄞';
    const buf = Buffer.from(text);
    const expected = ['héllo 🎉 wörld', '日本語の行', '✓ last 𝄞'];
    for (let i = 0; i <= buf.length; i += 1) {
      expect(texts(await collect(cut(buf, [i]))), `split at ${i}`).toEqual(expected);
    }
    // and one byte at a time
    expect(texts(await collect([...buf].map((b) => Uint8Array.of(b))))).toEqual(expected);
  });

  it('accepts string chunks', async () => {
    expect(texts(await collect(['{"a":', '1}\n{"b"', ':2}']))).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads a Uint8Array view at its offset, and copies what it holds (the source may reuse its buffer)', async () => {
    const backing = new Uint8Array(64);
    const view = (s: string): Uint8Array => {
      backing.fill(0x21); // '!' everywhere, then the chunk in the middle
      const bytes = Buffer.from(s);
      backing.set(bytes, 10);
      return new Uint8Array(backing.buffer, 10, bytes.length);
    };
    async function* reusing(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield view('abc');
      yield view('def\ngh');
      yield view('i\n');
    }
    const out: (string | null)[] = [];
    for await (const line of readLines(reusing(), 100)) out.push(line.text);
    expect(out).toEqual(['abcdef', 'ghi']);
  });

  describe('oversized lines', () => {
    it('a line of exactly maxBytes is kept, one byte more is oversized (with \\n and \\r\\n)', async () => {
      expect(await collect(['12345\n123456\n'], 5)).toEqual([
        { number: 1, text: '12345', bytes: 5, oversized: false },
        { number: 2, text: null, bytes: 6, oversized: true },
      ]);
      expect(await collect(['12345\r\n123456\r\n'], 5)).toEqual([
        { number: 1, text: '12345', bytes: 5, oversized: false },
        { number: 2, text: null, bytes: 6, oversized: true },
      ]);
    });

    it('counts bytes, not characters', async () => {
      // 'é' is two bytes: four of them are 8 bytes
      expect(await collect(['éééé\néé\n'], 6)).toEqual([
        { number: 1, text: null, bytes: 8, oversized: true },
        { number: 2, text: 'éé', bytes: 4, oversized: false },
      ]);
    });

    it('in the middle: reported with its byte count, the lines around it intact, for any chunking', async () => {
      const big = 'x'.repeat(1_000);
      const buf = Buffer.from(`before\n${big}\nafter\nlast`);
      const expected = [
        { number: 1, text: 'before', bytes: 6, oversized: false },
        { number: 2, text: null, bytes: 1_000, oversized: true },
        { number: 3, text: 'after', bytes: 5, oversized: false },
        { number: 4, text: 'last', bytes: 4, oversized: false },
      ];
      for (const size of [1, 2, 3, 7, 10, 11, 64, 999, 1_000, 1_001, 5_000]) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
        expect(await collect(chunks, 10), `chunks of ${size}`).toEqual(expected);
      }
    });

    it('an oversized last line without a newline is reported', async () => {
      expect(await collect(['ok\n', 'y'.repeat(50), 'y'.repeat(50)], 20)).toEqual([
        { number: 1, text: 'ok', bytes: 2, oversized: false },
        { number: 2, text: null, bytes: 100, oversized: true },
      ]);
    });

    it('several oversized lines in a row are each reported', async () => {
      const lines = await collect(['aaaa', 'aaaa\nbbbbbbbb\ncc', 'cccccc\nd\n'], 3);
      expect(lines.map((l) => [l.text, l.bytes])).toEqual([
        [null, 8],
        [null, 8],
        [null, 8],
        ['d', 1],
      ]);
    });

    // BUG (lines.ts): the byte count of an oversized \r\n line depends on where the chunks
    // break. Read whole, 'abcdefgh\r\n' (maxBytes 4) is reported as 8 bytes (the \r is not
    // counted, as for every other line); when the line is already being skipped at its \r
    // (chunks 'abcdef' + 'gh\r\n'), the skipped branch adds tail.length with the \r: 9 bytes.
    it('the byte count of an oversized \\r\\n line does not depend on the chunking', async () => {
      const whole = await collect(['abcdefgh\r\n'], 4);
      const split = await collect(['abcdef', 'gh\r\n'], 4);
      expect(whole).toEqual([{ number: 1, text: null, bytes: 8, oversized: true }]);
      expect(split).toEqual(whole);
    });

    it('stays bounded: a 50 MiB line in 64 KiB chunks is skipped without being held', async () => {
      const CHUNK = 64 * 1024;
      const TOTAL = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(CHUNK, 0x78); // one buffer, yielded again and again
      let peak = 0;
      const base = process.memoryUsage().arrayBuffers;
      async function* huge(): AsyncGenerator<Uint8Array> {
        await Promise.resolve();
        yield Buffer.from('{"first":1}\n');
        for (let sent = 0; sent < TOTAL; sent += CHUNK) {
          yield chunk;
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        }
        yield Buffer.from('\n{"after":2}\n');
      }
      const out: Line[] = [];
      for await (const line of readLines(huge(), 1_024)) out.push(line);
      expect(out).toEqual([
        { number: 1, text: '{"first":1}', bytes: 11, oversized: false },
        { number: 2, text: null, bytes: TOTAL, oversized: true },
        { number: 3, text: '{"after":2}', bytes: 11, oversized: false },
      ]);
      // Holding the line would add 50 MiB of array buffers; the bound is maxBytes + a chunk.
      expect(peak).toBeLessThan(16 * 1024 * 1024);
    });
  });

  describe('property: any lines, any chunking', () => {
    const lineText = fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\n\r]/g, '_'));

    it('with \\n and \\r\\n line ends and a large bound, yields exactly the lines', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ text: lineText, crlf: fc.boolean() }), { maxLength: 12 }),
          fc.boolean(),
          fc.array(fc.nat(), { maxLength: 10 }),
          async (lines, terminated, cuts) => {
            const text = lines.map((l, i) => (i < lines.length - 1 || terminated ? `${l.text}${l.crlf ? '\r\n' : '\n'}` : l.text)).join('');
            const expected = lines.map((l) => l.text);
            if (!terminated && expected.at(-1) === '') expected.pop();
            const got = await collect(cut(Buffer.from(text), cuts), 10_000);
            expect(texts(got)).toEqual(expected);
            expect(got.map((l) => l.bytes)).toEqual(expected.map((t) => Buffer.byteLength(t)));
            expect(got.map((l) => l.number)).toEqual(expected.map((_, i) => i + 1));
          },
        ),
        { numRuns: 300 },
      );
    });

    it('with \\n line ends and a small bound, yields the short lines and reports the long ones with their size', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(lineText, { maxLength: 12 }),
          fc.integer({ min: 1, max: 40 }),
          fc.array(fc.nat(), { maxLength: 10 }),
          async (lines, maxBytes, cuts) => {
            const text = lines.map((l) => `${l}\n`).join('');
            const got = await collect(cut(Buffer.from(text), cuts), maxBytes);
            expect(got).toEqual(
              lines.map((l, i) => {
                const bytes = Buffer.byteLength(l);
                return bytes > maxBytes
                  ? { number: i + 1, text: null, bytes, oversized: true }
                  : { number: i + 1, text: l, bytes, oversized: false };
              }),
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
