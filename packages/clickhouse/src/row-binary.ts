/**
 * Session partials as RowBinary: the sink's format on the embedded engine (rows.ts says which
 * transport uses which format). Each row is encoded straight from the SessionState into one
 * growing, reused Buffer: no intermediate arrays, no JSON text, and nothing for the engine to
 * parse but lengths and fixed-width values (BENCHMARKS.md, *RowBinary partials on the embedded
 * engine*).
 *
 * The encoder is built from the columns and types of `session_partials_in`
 * (schema/ddl.ts PARTIAL_COLUMN_TYPES) zipped with what the catalog says each column holds: a
 * column the encoder does not know, a column it expects and the table lacks, a type whose shape
 * is not the one the encoder writes (a Tuple of other arity, a scalar type with no writer here,
 * a Nullable(T) whose T is not the catalog property's type) throws when the encoder is built, i.e.
 * when the sink is constructed and in rows-binary.test.ts. The integration test builds one from
 * the table's own types read back from the engine.
 *
 * RowBinary, as ClickHouse reads it (https://clickhouse.com/docs/interfaces/formats/RowBinary):
 * values in column order, no separators; (U)IntN little-endian; Bool one byte 0/1; String = LEB128
 * varint byte length + the bytes; Nullable = one byte (1 = NULL, then nothing; 0 = then the value);
 * Tuple = its elements in order; Array = varint count + the elements; UUID = the high then the low
 * UInt64, each little-endian (checked against the engine in test/integration/partial-insert.test.ts);
 * DateTime64(6) = Int64 microseconds, little-endian.
 *
 * Strings go as UTF-8 (`Buffer.write`): a lone UTF-16 surrogate becomes U+FFFD (EF BF BD). The
 * JSON path cannot store one at all: ClickHouse refuses the whole INSERT (code 25,
 * CANNOT_PARSE_ESCAPE_SEQUENCE, for JSON.stringify's `\ud800`). The service never hands the sink one
 * (core limits.ts wellFormed replaces them with U+FFFD when it decodes an event); both are tested.
 */
import { ANY, COUNTS, ENTRY_EVENT, KEYED, SETS, finalSet, type EventKey, type SessionState, type Value } from '@sessionizer/core';
import { SinkError } from './errors.js';
import { PARTIAL_COLUMN_TYPES } from './schema/ddl.js';

// ---------------------------------------------------------------------------------------------
// Types, as ClickHouse spells them in DDL (and in system.columns)

export type ChType =
  | { readonly kind: 'Int64' | 'UInt8' | 'Bool' | 'String' | 'UUID' }
  | { readonly kind: 'DateTime64'; readonly precision: number; readonly timezone: string | undefined }
  | { readonly kind: 'Nullable' | 'Array'; readonly inner: ChType }
  | { readonly kind: 'Tuple'; readonly elements: readonly ChType[]; readonly names: readonly (string | undefined)[] };

/** Parse a ClickHouse type of the kinds the partial rows use; anything else throws. */
export function parseChType(text: string): ChType {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && text[i] === ' ') i += 1;
  };
  const ident = (): string => {
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (m === null) throw new Error(`cannot parse ClickHouse type ${JSON.stringify(text)} at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) throw new Error(`cannot parse ClickHouse type ${JSON.stringify(text)}: expected '${c}' at ${i}`);
    i += 1;
  };
  const peek = (): string | undefined => {
    ws();
    return text[i];
  };
  const type = (): ChType => {
    const name = ident();
    switch (name) {
      case 'Int64':
      case 'UInt8':
      case 'Bool':
      case 'String':
      case 'UUID':
        return { kind: name };
      case 'Nullable':
      case 'Array': {
        expect('(');
        const inner = type();
        expect(')');
        return { kind: name, inner };
      }
      case 'DateTime64': {
        expect('(');
        ws();
        const m = /^\d+/.exec(text.slice(i));
        if (m === null) throw new Error(`cannot parse ClickHouse type ${JSON.stringify(text)}: DateTime64 precision at ${i}`);
        i += m[0].length;
        let timezone: string | undefined;
        if (peek() === ',') {
          i += 1;
          ws();
          const tz = /^'([^']*)'/.exec(text.slice(i));
          if (tz === null) throw new Error(`cannot parse ClickHouse type ${JSON.stringify(text)}: DateTime64 timezone at ${i}`);
          i += tz[0].length;
          timezone = tz[1];
        }
        expect(')');
        return { kind: 'DateTime64', precision: Number(m[0]), timezone };
      }
      case 'Tuple': {
        expect('(');
        const elements: ChType[] = [];
        const names: (string | undefined)[] = [];
        for (;;) {
          // a named element: `name Type` (the name is an identifier followed by a space and a type)
          const save = i;
          ws();
          const m = /^([A-Za-z_][A-Za-z0-9_]*) +(?=[A-Za-z])/.exec(text.slice(i));
          if (m !== null) {
            i += m[0].length;
            names.push(m[1]);
          } else {
            i = save;
            names.push(undefined);
          }
          elements.push(type());
          if (peek() === ',') {
            i += 1;
            continue;
          }
          expect(')');
          return { kind: 'Tuple', elements, names };
        }
      }
      default:
        throw new Error(`no RowBinary writer for ClickHouse type ${name} (in ${JSON.stringify(text)})`);
    }
  };
  const t = type();
  ws();
  if (i !== text.length) throw new Error(`cannot parse ClickHouse type ${JSON.stringify(text)}: trailing text at ${i}`);
  return t;
}

/** The type as text, without tuple element names (what the encoder compares). */
export function showChType(t: ChType): string {
  switch (t.kind) {
    case 'Nullable':
    case 'Array':
      return `${t.kind}(${showChType(t.inner)})`;
    case 'Tuple':
      return `Tuple(${t.elements.map(showChType).join(', ')})`;
    case 'DateTime64':
      return `DateTime64(${t.precision}${t.timezone === undefined ? '' : `, '${t.timezone}'`})`;
    default:
      return t.kind;
  }
}

// ---------------------------------------------------------------------------------------------
// The growing buffer

const HEX: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let c = 0; c < 10; c += 1) t[48 + c] = c;
  for (let c = 0; c < 6; c += 1) {
    t[97 + c] = 10 + c;
    t[65 + c] = 10 + c;
  }
  return t;
})();

const TWO_32 = 4_294_967_296;

/** What a row could not be encoded for: bad data, never retried (like ClickHouse's 117). */
export class RowBinaryValueError extends SinkError {
  constructor(message: string) {
    super(message, { retriable: false });
    this.name = 'RowBinaryValueError';
  }
}

export class RowBinaryWriter {
  buf: Buffer;
  off = 0;
  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.off + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off] = v;
    this.off += 1;
  }

  varint(v: number): void {
    this.ensure(5);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.off] = (x & 0x7f) | 0x80;
      this.off += 1;
      x >>>= 7;
    }
    this.buf[this.off] = x;
    this.off += 1;
  }

  /** A safe integer as Int64 little-endian (two's complement for negatives). */
  int64(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RowBinaryValueError(`${String(v)} is not an integer in Int64's safe range`);
    this.ensure(8);
    const lo = v >>> 0;
    const hi = Math.floor(v / TWO_32);
    this.buf.writeUInt32LE(lo, this.off);
    this.buf.writeInt32LE(hi | 0, this.off + 4);
    this.off += 8;
  }

  string(s: string): void {
    const len = s.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a pair: 4 bytes for 2 units)
    const max = len * 3;
    this.ensure(max + 5);
    const buf = this.buf;
    let off = this.off;
    if (len < 128) {
      // ASCII fast path: one byte per unit, length known up front
      let i = 0;
      const start = off + 1;
      for (; i < len; i += 1) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === len) {
        buf[off] = len;
        this.off = start + len;
        return;
      }
    }
    const head = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : max < 0x10000000 ? 4 : 5;
    const n = buf.write(s, off + head, 'utf8');
    const need = n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
    if (need !== head) buf.copyWithin(off + need, off + head, off + head + n);
    let x = n;
    while (x >= 0x80) {
      buf[off] = (x & 0x7f) | 0x80;
      off += 1;
      x >>>= 7;
    }
    buf[off] = x;
    this.off = off + 1 + n;
  }

  /** A canonical (or any-case) hyphenated UUID: the high then the low UInt64, each little-endian. */
  uuid(s: string): void {
    this.ensure(16);
    const buf = this.buf;
    const off = this.off;
    if (s.length !== 36 || s.charCodeAt(8) !== 45 || s.charCodeAt(13) !== 45 || s.charCodeAt(18) !== 45 || s.charCodeAt(23) !== 45) {
      throw new RowBinaryValueError(`${JSON.stringify(s.slice(0, 80))} is not a UUID`);
    }
    // byte k of the UUID (0..15, big-endian text order) goes to off + (k < 8 ? 7 - k : 23 - k)
    let k = 0;
    for (let i = 0; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) i += 1;
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const hi = a < 128 ? (HEX[a] as number) : -1;
      const lo = b < 128 ? (HEX[b] as number) : -1;
      if (hi < 0 || lo < 0) throw new RowBinaryValueError(`${JSON.stringify(s)} is not a UUID`);
      buf[off + (k < 8 ? 7 - k : 23 - k)] = (hi << 4) | lo;
      k += 1;
    }
    this.off = off + 16;
  }

  /** The bytes written so far, copied out (the writer's buffer is reused). */
  copy(from: number, to: number): Buffer {
    const out = Buffer.allocUnsafe(to - from);
    this.buf.copy(out, 0, from, to);
    return out;
  }

  /** Drop the bytes before `from`: what follows moves to the start. */
  shift(from: number): void {
    if (from === 0) return;
    this.buf.copyWithin(0, from, this.off);
    this.off -= from;
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar writers, chosen by the column's type

type ScalarWriter = (w: RowBinaryWriter, v: Value) => void;

function scalarWriter(t: ChType, valueType: 'String' | 'Int64' | 'Bool', where: string): ScalarWriter {
  if (t.kind !== 'Nullable' || t.inner.kind !== valueType) {
    throw new Error(`session_partials_in ${where}: the table says ${showChType(t)}, the catalog's value is Nullable(${valueType})`);
  }
  const bad = (v: Value): never => {
    throw new RowBinaryValueError(`${JSON.stringify(v)} is not a ${valueType}`);
  };
  switch (valueType) {
    case 'String':
      return (w, v) => {
        if (v === null) {
          w.u8(1);
          return;
        }
        if (typeof v !== 'string') return bad(v);
        w.u8(0);
        w.string(v);
      };
    case 'Int64':
      return (w, v) => {
        if (v === null) {
          w.u8(1);
          return;
        }
        if (typeof v !== 'number') return bad(v);
        w.u8(0);
        w.int64(v);
      };
    case 'Bool':
      return (w, v) => {
        if (v === null) {
          w.u8(1);
          return;
        }
        if (typeof v !== 'boolean') return bad(v);
        w.u8(0);
        w.u8(v ? 1 : 0);
      };
  }
}

const same = (t: ChType, expected: string): boolean => showChType(t) === expected;

function assertType(column: string, t: ChType, expected: string): void {
  if (!same(t, expected))
    throw new Error(`session_partials_in.${column}: the table says ${showChType(t)}, the RowBinary encoder writes ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// The encoder

/** Per row: what the columns write, in order. */
type ColumnWriter = (w: RowBinaryWriter, s: SessionState, row: RowScratch) => void;

/** Per-row scratch, reused: the row's events (keys) and each keyed candidate's index into them. */
interface RowScratch {
  readonly keys: EventKey[];
  readonly index: Map<string, number>;
  readonly keyedRef: Int32Array;
  entryRef: number;
}

const TS_TYPE = "DateTime64(6, 'UTC')";
const EVENTS_TYPE = `Array(Tuple(UInt8, ${TS_TYPE}, String))`;

/** The column list the encoder writes: what the catalog says each column of session_partials_in holds. */
function plan(types: ReadonlyMap<string, ChType>): { names: string[]; writers: ColumnWriter[] } {
  const names: string[] = [];
  const writers: ColumnWriter[] = [];
  const typeOf = (column: string): ChType => {
    const t = types.get(column);
    if (t === undefined) throw new Error(`session_partials_in has no column ${column}, which the RowBinary encoder writes`);
    return t;
  };
  const add = (column: string, make: (t: ChType) => ColumnWriter): void => {
    names.push(column);
    writers.push(make(typeOf(column)));
  };

  add('team_id', (t) => {
    assertType('team_id', t, 'Int64');
    return (w, s) => {
      w.int64(s.teamId);
    };
  });
  add('session_id', (t) => {
    assertType('session_id', t, 'UUID');
    return (w, s) => {
      w.uuid(s.sessionId);
    };
  });
  add('min_ts', (t) => {
    assertType('min_ts', t, TS_TYPE);
    return (w, s) => {
      w.int64(s.startTs);
    };
  });
  add('max_ts', (t) => {
    assertType('max_ts', t, TS_TYPE);
    return (w, s) => {
      w.int64(s.endTs);
    };
  });
  add('events', (t) => {
    assertType('events', t, EVENTS_TYPE);
    return (w, s, row) => {
      const keys = row.keys;
      w.varint(keys.length);
      for (let i = 0; i < keys.length; i += 1) {
        const k = keys[i] as EventKey;
        w.u8(k.page ? 1 : 0);
        w.int64(k.ts);
        w.string(k.uuid);
      }
    };
  });
  KEYED.forEach((p, i) => {
    add(p.column, (t) => {
      if (t.kind !== 'Tuple' || t.elements.length !== 2 || t.elements[0]?.kind !== 'UInt8') {
        throw new Error(
          `session_partials_in.${p.column}: the table says ${showChType(t)}, the RowBinary encoder writes Tuple(UInt8, Nullable(${p.type}))`,
        );
      }
      const value = scalarWriter(t.elements[1] as ChType, p.type, `${p.column}.2`);
      return (w, s, row) => {
        const c = s.keyed[i] ?? null;
        // an absent candidate: any event with a NULL value, which every state's min/max skips
        if (c === null) {
          w.u8(0);
          w.u8(1);
        } else {
          w.u8(row.keyedRef[i] as number);
          value(w, c.value);
        }
      };
    });
  });
  add('entry_event', (t) => {
    const values = t.kind === 'Tuple' && t.elements.length === 2 ? t.elements[1] : undefined;
    if (
      t.kind !== 'Tuple' ||
      t.elements[0]?.kind !== 'UInt8' ||
      values?.kind !== 'Tuple' ||
      values.elements.length !== ENTRY_EVENT.length
    ) {
      throw new Error(
        `session_partials_in.entry_event: the table says ${showChType(t)}, the RowBinary encoder writes Tuple(UInt8, Tuple(${ENTRY_EVENT.length} Nullable values))`,
      );
    }
    const each = ENTRY_EVENT.map((p, j) => scalarWriter(values.elements[j] as ChType, p.type, `entry_event.2.${p.column}`));
    return (w, s, row) => {
      w.u8(row.entryRef);
      const v = s.entryEvent.value;
      for (let j = 0; j < each.length; j += 1) (each[j] as ScalarWriter)(w, v[j] ?? null);
    };
  });
  ANY.forEach((p, i) => {
    add(p.column, (t) => {
      const value = scalarWriter(t, p.type, p.column);
      return (w, s) => {
        value(w, s.any[i] ?? null);
      };
    });
  });
  COUNTS.forEach((p, i) => {
    add(p.column, (t) => {
      assertType(p.column, t, 'Array(UUID)');
      return (w, s) => {
        const v: readonly string[] | ReadonlySet<string> = s.counts[i] ?? [];
        if (Array.isArray(v)) {
          const a = v as readonly string[];
          w.varint(a.length);
          for (let j = 0; j < a.length; j += 1) w.uuid(a[j] as string);
        } else {
          const set = v as ReadonlySet<string>;
          w.varint(set.size);
          for (const u of set) w.uuid(u);
        }
      };
    });
  });
  SETS.forEach((p, i) => {
    add(p.column, (t) => {
      assertType(p.column, t, 'Array(String)');
      return (w, s) => {
        const a = finalSet(s.sets[i] ?? [], p.cap);
        w.varint(a.length);
        for (let j = 0; j < a.length; j += 1) w.string(a[j] as string);
      };
    });
  });
  const extra = [...types.keys()].filter((c) => !names.includes(c));
  if (extra.length > 0) throw new Error(`session_partials_in has columns the RowBinary encoder does not write: ${extra.join(', ')}`);
  return { names, writers };
}

/**
 * Encodes session partials as RowBinary rows of `session_partials_in`, one after another into its
 * writer. Built from the table's columns and types (default: schema/ddl.ts PARTIAL_COLUMN_TYPES);
 * throws when they are not what the encoder writes.
 */
export class PartialRowBinaryEncoder {
  readonly columns: readonly string[];
  readonly writer: RowBinaryWriter;
  readonly #writers: readonly ColumnWriter[];
  readonly #row: RowScratch;

  readonly #columnTypes: readonly (readonly [string, string])[];

  constructor(columnTypes: readonly (readonly [string, string])[] = PARTIAL_COLUMN_TYPES, writer = new RowBinaryWriter()) {
    this.#columnTypes = columnTypes;
    const order = columnTypes.map(([c]) => c);
    const types = new Map(
      columnTypes.map(([c, t]) => {
        try {
          return [c, parseChType(t)] as const;
        } catch (err) {
          throw new Error(`session_partials_in.${c}: ${(err as Error).message}`, { cause: err });
        }
      }),
    );
    const { names, writers } = plan(types);
    if (names.join(',') !== order.join(',')) {
      throw new Error(
        `session_partials_in's columns are in another order than the RowBinary encoder writes them: ${order.join(', ')} vs ${names.join(', ')}`,
      );
    }
    // the candidates' event indexes are UInt8
    if (KEYED.length + 1 > 255) throw new Error(`${KEYED.length} keyed properties: a row's event indexes no longer fit in UInt8`);
    this.columns = names;
    this.#writers = writers;
    this.writer = writer;
    this.#row = { keys: [], index: new Map(), keyedRef: new Int32Array(KEYED.length), entryRef: 0 };
  }

  /**
   * Append RowBinaryWithNamesAndTypes's header: the column count, the names, the types (as the
   * table declares them). The embedded transport needs it (client.ts: the data goes through the
   * `format` table function, which reads the structure from it); ClickHouse checks it against the
   * table as well.
   */
  header(): number {
    const w = this.writer;
    const start = w.off;
    w.varint(this.#columnTypes.length);
    for (const [c] of this.#columnTypes) w.string(c);
    for (const [, t] of this.#columnTypes) w.string(t);
    return w.off - start;
  }

  /** Append one row; returns its bytes. A value that cannot be encoded throws RowBinaryValueError and leaves the writer as it was. */
  encode(s: SessionState): number {
    const row = this.#row;
    row.keys.length = 0;
    row.index.clear();
    const ref = (key: EventKey): number => {
      let i = row.index.get(key.uuid);
      if (i === undefined) {
        i = row.keys.length;
        row.index.set(key.uuid, i);
        row.keys.push(key);
      }
      return i;
    };
    // the events in the order the JSON row (rows.ts toPartialRow) lists them: keyed candidates, then the entry event
    for (let i = 0; i < KEYED.length; i += 1) {
      const c = s.keyed[i] ?? null;
      row.keyedRef[i] = c === null ? 0 : ref(c.key);
    }
    row.entryRef = ref(s.entryEvent.key);
    const w = this.writer;
    const start = w.off;
    let i = 0;
    try {
      for (; i < this.#writers.length; i += 1) (this.#writers[i] as ColumnWriter)(w, s, row);
    } catch (err) {
      w.off = start;
      if (!(err instanceof RowBinaryValueError)) throw err;
      throw new RowBinaryValueError(
        `session partial of team ${s.teamId} session ${s.sessionId}, column ${this.columns[i]}: ${err.message}`,
      );
    }
    return w.off - start;
  }
}
