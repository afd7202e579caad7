import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from './source.js';
import { chunkByBytes, cutRecord, DEAD_LETTER_BATCH_BYTES, recordBytes } from './kafkajs-dead-letters.js';

const record = (valueBytes: number, headers: Record<string, string> = { 'sessionizer-reason': 'malformed_json' }): DeadLetterRecord => ({
  key: Buffer.from('k'),
  value: Buffer.alloc(valueBytes, 0x61),
  headers,
});

describe('dead letters fit the broker', () => {
  it('cuts a record that cannot fit alone, keeping the head and saying the original size', () => {
    const r = record(1_048_509);
    const cut = cutRecord(r, DEAD_LETTER_BATCH_BYTES);
    expect(recordBytes(cut)).toBeLessThanOrEqual(DEAD_LETTER_BATCH_BYTES);
    expect(cut.headers['sessionizer-truncated-from']).toBe('1048509');
    expect(cut.value?.equals(r.value?.subarray(0, cut.value.length) ?? Buffer.alloc(0))).toBe(true);
    expect(cut.headers['sessionizer-reason']).toBe('malformed_json');
  });

  it('leaves records that fit untouched', () => {
    const r = record(1_000);
    expect(cutRecord(r, DEAD_LETTER_BATCH_BYTES)).toBe(r);
  });

  it('splits a flush of big dead letters into sends under the limit, in order, losing none', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600_000 }), { maxLength: 12 }), (sizes) => {
        const records = sizes.map((s, i) => record(s, { i: String(i) }));
        const chunks = chunkByBytes(records, DEAD_LETTER_BATCH_BYTES);
        expect(chunks.flat()).toEqual(records);
        for (const c of chunks) {
          const bytes = c.reduce((a, r) => a + recordBytes(r), 0);
          expect(c.length === 1 || bytes <= DEAD_LETTER_BATCH_BYTES).toBe(true);
        }
      }),
      { numRuns: 300, seed: 12 },
    );
  });

  it('the hostile suite’s case: 600 KB + 2 × 300 KB go in two sends', () => {
    const chunks = chunkByBytes([record(600_000), record(300_000), record(300_000)], DEAD_LETTER_BATCH_BYTES);
    expect(chunks.map((c) => c.length)).toEqual([1, 2]);
  });
});
