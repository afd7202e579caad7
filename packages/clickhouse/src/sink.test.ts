/**
 * ClickHouseSessionSink's chunking against a stub client (its one call, `exec`, recorded and
 * resolved by the test): chunks go in order with one INSERT in flight, the next chunk is built
 * while the previous INSERT runs, and a failed INSERT is the write's error with nothing sent
 * after it; the statement it sends per transport. What the rows say is held by the integration
 * tests (storage.test.ts, partial-insert.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { SessionBuffer, type SessionState } from '@sessionizer/core';
import { eventFor } from '../../../test/support/arbitraries.js';
import { PartialRowBinaryEncoder } from './row-binary.js';
import { ClickHouseSessionSink, DEFAULT_INSERT_SPLIT, rowsPerInsert } from './sink.js';

/** `n` states of distinct sessions. */
function states(n: number): SessionState[] {
  const b = new SessionBuffer();
  for (let i = 0; i < n; i += 1) b.add(eventFor(1, i, 0));
  return b.drain();
}

interface Call {
  /** The INSERT's data: JSON text, or RowBinary bytes. */
  readonly body: Promise<string | Buffer>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** A client whose every exec waits until the test settles it; `log` records the order of things. */
function stubClient(log: string[]): { client: ClickHouseClient; calls: Call[] } {
  const calls: Call[] = [];
  const exec = (params: { values: AsyncIterable<string | Buffer> }): Promise<{ stream: { destroy: () => void } }> => {
    const n = calls.length + 1;
    log.push(`insert ${n} started`);
    const body = (async () => {
      const chunks: (string | Buffer)[] = [];
      for await (const chunk of params.values) chunks.push(chunk);
      return chunks.every((c) => typeof c === 'string') ? chunks.join('') : Buffer.concat(chunks as Buffer[]);
    })();
    return new Promise((resolve, reject) => {
      calls.push({
        body,
        resolve: () => {
          log.push(`insert ${n} done`);
          resolve({ stream: { destroy: () => undefined } });
        },
        reject,
      });
    });
  };
  return { client: { exec } as unknown as ClickHouseClient, calls };
}

/** Lets every pending callback run (the sink's awaits, the stub's body reads). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((r) => setImmediate(r));
};

const sessionIdsOfJson = (body: string): string[] =>
  body
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as unknown[])[1] as string);

/**
 * The session ids of the rows in RowBinaryWithNamesAndTypes INSERT bodies, in order: each body must be the header and whole rows,
 * each row exactly the encoder's bytes for the next of `input` (the rows themselves are checked
 * against the engine in test/integration/partial-insert.test.ts).
 */
function sessionIdsOfRowBinary(bodies: readonly Buffer[], input: readonly SessionState[]): string[][] {
  const rows = input.map((s) => {
    const e = new PartialRowBinaryEncoder();
    e.encode(s);
    return { id: s.sessionId, bytes: e.writer.copy(0, e.writer.off) };
  });
  const h = new PartialRowBinaryEncoder();
  const header = h.writer.copy(0, h.header());
  let next = 0;
  return bodies.map((body) => {
    const ids: string[] = [];
    // every body starts with the header (column names and types)
    if (!body.subarray(0, header.length).equals(header)) throw new Error('body does not start with the header');
    let off = header.length;
    while (off < body.length) {
      const row = rows[next];
      if (row === undefined || !body.subarray(off, off + row.bytes.length).equals(row.bytes))
        throw new Error(`body does not hold row ${next} at ${off}`);
      ids.push(row.id);
      off += row.bytes.length;
      next += 1;
    }
    return ids;
  });
}

/** The session ids in each INSERT body, in order. */
const idsPerBody = (bodies: readonly (string | Buffer)[], input: readonly SessionState[]): string[][] =>
  bodies.every((b) => typeof b === 'string') ? bodies.map(sessionIdsOfJson) : sessionIdsOfRowBinary(bodies as Buffer[], input);
const FORMATS = [{ format: 'JSONCompactEachRow' }, { format: 'RowBinaryWithNamesAndTypes' }] as const;

describe('rowsPerInsert', () => {
  it('splits a write into up to 4 INSERTs of 5 000 to 50 000 rows by default', () => {
    const r = (rows: number): number => rowsPerInsert(rows, DEFAULT_INSERT_SPLIT);
    expect(r(3_000)).toBe(5_000); // one INSERT
    expect(r(18_000)).toBe(5_000); // 4: the freshness bench's flushes
    expect(r(46_000)).toBe(11_500); // 4: a flush at 200 000 active sessions
    expect(r(100_000)).toBe(25_000); // 4: FLUSH_MAX_SESSIONS
    expect(r(1_000_000)).toBe(50_000); // 20: the cap
  });

  it('keeps to a small maximum (tests set one)', () => {
    expect(rowsPerInsert(7, { insertsPerWrite: 4, minRowsPerInsert: 3, maxRowsPerInsert: 3 })).toBe(3);
    expect(rowsPerInsert(0, DEFAULT_INSERT_SPLIT)).toBe(5_000);
  });
});

describe.each(FORMATS)('ClickHouseSessionSink (%o)', ({ format }) => {
  it('builds the next chunk while the previous INSERT runs, and sends chunks in order with one in flight', async () => {
    const log: string[] = [];
    const { client, calls } = stubClient(log);
    let built = 0;
    const sink = new ClickHouseSessionSink(client, {
      schema: { database: 'db' },
      format,
      maxRowsPerInsert: 3,
      yieldEveryRows: 1,
      idleYieldEveryRows: 1,
      // one yield per row built: counts the rows built so far
      yieldToEventLoop: () => {
        built += 1;
        log.push(`built ${built}`);
        return new Promise((r) => setImmediate(r));
      },
    });
    const input = states(7);
    const write = sink.write(input);
    await settle();
    // chunk 1 (rows 1–3) is being inserted; chunk 2 (rows 4–6) was built meanwhile and waits
    expect(calls).toHaveLength(1);
    expect(log).toEqual(['built 1', 'built 2', 'built 3', 'insert 1 started', 'built 4', 'built 5', 'built 6']);
    calls[0]?.resolve();
    await settle();
    expect(calls).toHaveLength(2);
    expect(log.slice(7)).toEqual(['insert 1 done', 'insert 2 started']);
    calls[1]?.resolve();
    await settle();
    expect(calls).toHaveLength(3);
    calls[2]?.resolve();
    const stats = await write;
    expect(stats).toMatchObject({ rows: 7, inserts: 3, attempts: 3 });
    const bodies = await Promise.all(calls.map((c) => c.body));
    expect(idsPerBody(bodies, input).map((ids) => ids.length)).toEqual([3, 3, 1]);
    expect(idsPerBody(bodies, input).flat()).toEqual(input.map((s) => s.sessionId));
    expect(stats.bytes).toBe(bodies.reduce((n, b) => n + b.length, 0));
  });

  it('keeps each INSERT within maxBytesPerInsert (a row larger than it goes alone)', async () => {
    const { client, calls } = stubClient([]);
    const input = states(9);
    const maxBytes = format === 'RowBinaryWithNamesAndTypes' ? 4_000 : 1_500;
    const sink = new ClickHouseSessionSink(client, { schema: { database: 'db' }, format, maxBytesPerInsert: maxBytes });
    const write = sink.write(input);
    for (let i = 0; i < 20 && !(await Promise.race([write.then(() => true), settle().then(() => false)])); i += 1) {
      for (const c of calls) c.resolve();
    }
    const stats = await write;
    const bodies = await Promise.all(calls.map((c) => c.body));
    const ids = idsPerBody(bodies, input);
    expect(ids.flat()).toEqual(input.map((s) => s.sessionId));
    expect(bodies.length).toBeGreaterThan(1);
    for (const [i, b] of bodies.entries()) if ((ids[i]?.length ?? 0) > 1) expect(b.length).toBeLessThanOrEqual(maxBytes);
    expect(stats).toMatchObject({ rows: 9, inserts: bodies.length, bytes: bodies.reduce((n, b) => n + b.length, 0) });
  });

  it('a failed INSERT fails the write, and no later chunk is sent', async () => {
    const log: string[] = [];
    const { client, calls } = stubClient(log);
    const sink = new ClickHouseSessionSink(client, {
      schema: { database: 'db' },
      format,
      maxRowsPerInsert: 2,
      yieldEveryRows: 1,
      yieldToEventLoop: () => new Promise((r) => setImmediate(r)),
    });
    const write = sink.write(states(6));
    const outcome = write.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await settle();
    expect(calls).toHaveLength(1);
    // not retriable: a ClickHouse error code the sink does not retry (bad data)
    calls[0]?.reject(Object.assign(new Error('Cannot parse input'), { code: '117', type: 'INCORRECT_DATA' }));
    await settle();
    const e = await outcome;
    expect(e).toBeInstanceOf(Error);
    expect((e as { retriable?: boolean }).retriable).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('yields every yieldEveryRows while an INSERT runs, and only every idleYieldEveryRows while none does', async () => {
    const log: string[] = [];
    const { client, calls } = stubClient(log);
    let yields = 0;
    const sink = new ClickHouseSessionSink(client, {
      schema: { database: 'db' },
      format,
      maxRowsPerInsert: 4,
      yieldEveryRows: 1,
      idleYieldEveryRows: 3,
      yieldToEventLoop: () => {
        yields += 1;
        log.push(`yield ${yields}`);
        // INSERT 1 ends while chunk 2 (rows 5–8) is being built: its last rows wait for no batch
        if (yields === 3) calls[0]?.resolve();
        return new Promise((r) => setImmediate(r));
      },
    });
    const input = states(12);
    const write = sink.write(input);
    await settle();
    expect(log).toEqual([
      'yield 1', // row 3: chunk 1 is built for an idle engine
      'insert 1 started', // at row 5
      'yield 2', // row 5
      'yield 3', // row 6
      'insert 1 done', // rows 7 and 8: no yield, the engine waits for them
      'insert 2 started', // at row 9
      'yield 4', // rows 9–11
      'yield 5',
      'yield 6',
    ]);
    calls[1]?.resolve();
    await settle();
    calls[2]?.resolve();
    expect(await write).toMatchObject({ rows: 12, inserts: 3 });
    const bodies = await Promise.all(calls.map((c) => c.body));
    expect(idsPerBody(bodies, input).flat()).toEqual(input.map((s) => s.sessionId));
  });

  it('a write that fits one INSERT sends it once every row is built', async () => {
    const log: string[] = [];
    const { client, calls } = stubClient(log);
    const sink = new ClickHouseSessionSink(client, {
      schema: { database: 'db' },
      format,
      // no INSERT is in flight while its one chunk is built
      idleYieldEveryRows: 2,
      yieldToEventLoop: () => {
        log.push('yield');
        return Promise.resolve();
      },
    });
    const write = sink.write(states(5));
    await settle();
    expect(log).toEqual(['yield', 'yield', 'insert 1 started']);
    calls[0]?.resolve();
    expect(await write).toMatchObject({ rows: 5, inserts: 1 });
  });
});

describe('the INSERT statement', () => {
  /** The statements a sink sends for one small write. */
  async function statements(
    schema: { database: string; embedded?: boolean; cluster?: string },
    format?: 'JSONCompactEachRow' | 'RowBinaryWithNamesAndTypes',
  ): Promise<string[]> {
    const sent: string[] = [];
    const input = states(3);
    const exec = async (params: {
      query: string;
      values: AsyncIterable<string | Buffer>;
    }): Promise<{ stream: { destroy: () => void } }> => {
      const chunks: (string | Buffer)[] = [];
      for await (const chunk of params.values) chunks.push(chunk);
      const rows = chunks.every((c) => typeof c === 'string')
        ? chunks.join('').split('\n').length - 1
        : (sessionIdsOfRowBinary([Buffer.concat(chunks as Buffer[])], input)[0]?.length ?? 0);
      sent.push(`${params.query} (${rows} rows)`);
      return { stream: { destroy: () => undefined } };
    };
    await new ClickHouseSessionSink({ exec } as unknown as ClickHouseClient, { schema, ...(format === undefined ? {} : { format }) }).write(
      input,
    );
    return sent;
  }

  it('on the embedded engine writes RowBinaryWithNamesAndTypes and turns the analyzer off for the view’s SELECT; to a server JSONCompactEachRow, analyzer on', async () => {
    const embedded = await statements({ database: 'db', embedded: true });
    expect(embedded).toHaveLength(1);
    expect(embedded[0]).toMatch(
      /^INSERT INTO db\.session_partials_in SETTINGS .*\benable_analyzer = 0\b.* FORMAT RowBinaryWithNamesAndTypes \(3 rows\)$/,
    );
    expect(embedded[0]).toMatch(/\basync_insert = 0\b/);
    expect(embedded[0]).toMatch(/\boptimize_on_insert = 0\b/);
    // a JSON setting has no business with RowBinary
    expect(embedded[0]).not.toMatch(/input_format_json/);
    // the format can be chosen (tests, benchmarks)
    expect(await statements({ database: 'db', embedded: true }, 'JSONCompactEachRow')).toEqual([
      expect.stringMatching(/\benable_analyzer = 0\b.* FORMAT JSONCompactEachRow \(3 rows\)$/),
    ]);
    for (const schema of [{ database: 'db' }, { database: 'db', cluster: 'analytics' }]) {
      const server = await statements(schema);
      expect(server).toHaveLength(1);
      expect(server[0]).toMatch(/\boptimize_on_insert = 0\b/);
      expect(server[0]).toMatch(/\binput_format_json_named_tuples_as_objects = 0\b.* FORMAT JSONCompactEachRow \(3 rows\)$/);
      expect(server[0]).not.toMatch(/enable_analyzer/);
    }
  });
});
