/**
 * The RowBinary encoder against the table's declared columns: it is built from them and refuses
 * any it does not write the way the table reads them (so that a column added to the catalog, or a
 * type changed, cannot drift silently); the writer's encodings. What the engine makes of the bytes
 * is held by test/integration/partial-insert.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { KEYED } from '@sessionizer/core';
import { sqlStringBytes } from './client.js';
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

describe('sqlStringBytes', () => {
  it('escapes the quote and the backslash, and leaves every other byte as it is', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const out = sqlStringBytes(all);
    expect(out.length).toBe(258);
    expect(out.subarray(0x27, 0x29)).toEqual(Buffer.from("\\'"));
    expect(out.subarray(0x5d, 0x5f)).toEqual(Buffer.from('\\\\'));
    const plain = Buffer.from('no quotes\n\n\u0000');
    expect(sqlStringBytes(plain)).toBe(plain);
  });
});
