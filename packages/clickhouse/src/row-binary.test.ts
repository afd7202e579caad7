/**
 * The RowBinary encoder against the table's declared columns: it is built from them and refuses
 * any it does not write the way the table reads them (so that a column added to the catalog, or a
 * type changed, cannot drift silently); the writer's encodings. What the engine makes of the bytes
 * is held by test/integration/partial-insert.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEYED } from '@sessionizer/core';
import { binaryInsertLiteral } from './client.js';
import { PartialRowBinaryEncoder, parseChType, RowBinaryValueError, RowBinaryWriter, showChType } from './row-binary.js';
import { PARTIAL_COLUMNS } from './rows.js';
import { PARTIAL_COLUMN_TYPES } from './schema/ddl.js';

const hex = (f: (w: RowBinaryWriter) => void): string => {
  const w = new RowBinaryWriter(1);
  f(w);
  return w.copy(0, w.off).toString('hex');
};

describe('PartialRowBinaryEncoder', () => {
  it('writes every column of session_partials_in, in its order', () => {
    expect(new PartialRowBinaryEncoder().columns).toEqual(PARTIAL_COLUMNS);
  });

  it('refuses a table whose columns or types it does not write', () => {
    const types = [...PARTIAL_COLUMN_TYPES];
    // a column it does not know
    expect(() => new PartialRowBinaryEncoder([...types, ['new_column', 'Nullable(String)']])).toThrow(/does not write: new_column/);
    // a column it writes is missing
    expect(() => new PartialRowBinaryEncoder(types.filter(([c]) => c !== 'events'))).toThrow(/no column events/);
    // another order
    expect(() => new PartialRowBinaryEncoder([types[1] as [string, string], types[0] as [string, string], ...types.slice(2)])).toThrow(
      /another order/,
    );
    // a type changed: a scalar, a keyed tuple's value, an array's element, a timestamp's precision
    const retype = (column: string, type: string): (readonly [string, string])[] =>
      types.map(([c, t]) => [c, c === column ? type : t] as const);
    expect(() => new PartialRowBinaryEncoder(retype('team_id', 'UInt64'))).toThrow(/team_id/);
    const keyed = KEYED.find((p) => p.type === 'String');
    if (keyed === undefined) throw new Error('no String keyed property');
    expect(() => new PartialRowBinaryEncoder(retype(keyed.column, 'Tuple(UInt8, Nullable(Int64))'))).toThrow(new RegExp(keyed.column));
    expect(() => new PartialRowBinaryEncoder(retype(keyed.column, 'Tuple(UInt8, Nullable(String), UInt8)'))).toThrow(
      new RegExp(keyed.column),
    );
    expect(() => new PartialRowBinaryEncoder(retype('min_ts', "DateTime64(3, 'UTC')"))).toThrow(/min_ts/);
    expect(() => new PartialRowBinaryEncoder(retype('events', "Array(Tuple(page UInt8, ts DateTime64(6, 'UTC'), uuid UUID))"))).toThrow(
      /events/,
    );
    // a type it has no writer for
    expect(() => new PartialRowBinaryEncoder(retype('team_id', 'Int32'))).toThrow(/no RowBinary writer for ClickHouse type Int32/);
  });

  it('parses the table’s types (tuple element names dropped when compared)', () => {
    for (const [, t] of PARTIAL_COLUMN_TYPES)
      expect(showChType(parseChType(t)).replace(/ /g, '')).toBe(t.replace(/\b[a-z_]+ (?=[A-Z])/g, '').replace(/ /g, ''));
    expect(() => parseChType('Array(String')).toThrow(/expected '\)'/);
    expect(() => parseChType('String x')).toThrow(/trailing text/);
  });
});

describe('RowBinaryWriter', () => {
  it('varints (LEB128)', () => {
    expect(
      hex((w) => {
        w.varint(0);
      }),
    ).toBe('00');
    expect(
      hex((w) => {
        w.varint(127);
      }),
    ).toBe('7f');
    expect(
      hex((w) => {
        w.varint(128);
      }),
    ).toBe('8001');
    expect(
      hex((w) => {
        w.varint(300);
      }),
    ).toBe('ac02');
    expect(
      hex((w) => {
        w.varint(2 ** 21);
      }),
    ).toBe('80808001');
  });

  it('Int64 little-endian, two’s complement; only safe integers', () => {
    expect(
      hex((w) => {
        w.int64(1);
      }),
    ).toBe('0100000000000000');
    expect(
      hex((w) => {
        w.int64(-1);
      }),
    ).toBe('ffffffffffffffff');
    expect(
      hex((w) => {
        w.int64(2 ** 32 + 2);
      }),
    ).toBe('0200000001000000');
    expect(
      hex((w) => {
        w.int64(-(2 ** 32));
      }),
    ).toBe('00000000ffffffff');
    expect(
      hex((w) => {
        w.int64(Number.MAX_SAFE_INTEGER);
      }),
    ).toBe('ffffffffffff1f00');
    expect(() =>
      hex((w) => {
        w.int64(1.5);
      }),
    ).toThrow(RowBinaryValueError);
    expect(() =>
      hex((w) => {
        w.int64(2 ** 53);
      }),
    ).toThrow(RowBinaryValueError);
  });

  it('strings as their UTF-8 bytes after a varint length, at any length and content', () => {
    for (const s of [
      '',
      'a',
      'é',
      '😀',
      'x'.repeat(127),
      'x'.repeat(128),
      'é'.repeat(50),
      'é'.repeat(64),
      '😀'.repeat(40),
      'a\u0000b',
      '\ud800',
    ]) {
      const bytes = Buffer.from(s, 'utf8');
      const w = new RowBinaryWriter(1);
      w.string(s);
      const len = new RowBinaryWriter(1);
      len.varint(bytes.length);
      expect(w.copy(0, w.off)).toEqual(Buffer.concat([len.copy(0, len.off), bytes]));
    }
    // a lone surrogate becomes U+FFFD
    expect(
      hex((w) => {
        w.string('\ud800');
      }),
    ).toBe('03efbfbd');
  });

  it('UUIDs as the high then the low UInt64, little-endian; anything else is bad data', () => {
    expect(
      hex((w) => {
        w.uuid('00112233-4455-6677-8899-aabbccddeeff');
      }),
    ).toBe('7766554433221100ffeeddccbbaa9988');
    expect(
      hex((w) => {
        w.uuid('00112233-4455-6677-8899-AABBCCDDEEFF');
      }),
    ).toBe('7766554433221100ffeeddccbbaa9988');
    for (const bad of [
      'not-a-uuid',
      '00112233-4455-6677-8899-aabbccddeefg',
      '001122334455-6677-8899-aabbccddeeff0',
      '00112233-4455-6677-8899-aabbccddeeé',
    ]) {
      expect(() =>
        hex((w) => {
          w.uuid(bad);
        }),
      ).toThrow(RowBinaryValueError);
    }
  });
});

/**
 * The reference decoder: the bytes a ClickHouse string literal `'…'` (as binaryInsertLiteral
 * frames it: ` '…')`) stands for, when the only escapes are `\'` and `\\`; throws on anything else
 * (an unescaped quote inside, a lone backslash, a wrong frame).
 */
function unescapeLiteral(literal: Buffer): Buffer {
  if (literal.length < 4 || literal[0] !== 0x20 || literal[1] !== 0x27 || literal.at(-2) !== 0x27 || literal.at(-1) !== 0x29) {
    throw new Error(`not framed as " '…')": ${literal.toString('hex')}`);
  }
  const out: number[] = [];
  for (let i = 2; i < literal.length - 2; i += 1) {
    const b = literal[i] as number;
    if (b === 0x27) throw new Error(`unescaped quote at ${i}`);
    if (b === 0x5c) {
      const next = literal[i + 1];
      if (i + 1 >= literal.length - 2 || (next !== 0x27 && next !== 0x5c)) throw new Error(`lone backslash at ${i}`);
      out.push(next);
      i += 1;
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

describe('binaryInsertLiteral', () => {
  it('escapes the quote and the backslash, and leaves every other byte as it is', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const out = binaryInsertLiteral(all);
    expect(out.length).toBe(258 + 4);
    expect(out.subarray(0, 2)).toEqual(Buffer.from(" '"));
    expect(out.subarray(-2)).toEqual(Buffer.from("')"));
    const body = out.subarray(2, -2);
    expect(body.subarray(0x27, 0x29)).toEqual(Buffer.from("\\'"));
    expect(body.subarray(0x5d, 0x5f)).toEqual(Buffer.from('\\\\'));
    expect(unescapeLiteral(out)).toEqual(all);
    const plain = Buffer.from('no quotes\n\n\u0000');
    expect(binaryInsertLiteral(plain)).toEqual(Buffer.concat([Buffer.from(" '"), plain, Buffer.from("')")]));
  });

  it('frames empty input and input that is, starts or ends with the escaped bytes', () => {
    const cases: [string, string][] = [
      ['', " '')"],
      ["'", " '\\'')"],
      ['\\', " '\\\\')"],
      ["''", " '\\'\\'')"],
      ["\\'\\", " '\\\\\\'\\\\')"],
      ["'a\\", " '\\'a\\\\')"],
      ["a\\'b", " 'a\\\\\\'b')"],
    ];
    for (const [input, literal] of cases) expect(binaryInsertLiteral(Buffer.from(input, 'latin1')).toString('latin1')).toBe(literal);
  });

  it('unescapes to its input, for any bytes (runs of quotes and backslashes included)', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2_000 }),
      // mostly the two escaped bytes, in runs, at either end, and a few neighbours
      fc.uint8Array({ maxLength: 300 }).map((a) => a.map((x) => [0x27, 0x5c, 0x27, 0x5c, 0x00, 0x0a, 0x28, 0x5b][x % 8] as number)),
    );
    fc.assert(
      fc.property(bytes, (a) => {
        const input = Buffer.from(a);
        const literal = binaryInsertLiteral(input);
        const escaped = input.filter((x) => x === 0x27 || x === 0x5c).length;
        expect(literal.length).toBe(input.length + escaped + 4);
        expect(unescapeLiteral(literal)).toEqual(input);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads a subarray of a larger buffer from its own start and end', () => {
    const big = Buffer.from("''ab'c\\d''", 'latin1');
    const part = big.subarray(2, 8);
    expect(unescapeLiteral(binaryInsertLiteral(part))).toEqual(Buffer.from("ab'c\\d", 'latin1'));
  });
});
