import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { floorSeconds, formatTimestamp, parseTimestamp } from './time.js';

const us = (iso: string, micros = 0): number => Date.parse(iso) * 1000 + micros;

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-26 10:00:00', us('2026-11-26T10:00:00Z')],
    ['2026-11-26 10:00:00.123456', us('2026-11-26T10:00:00Z', 123_456)],
    ['2026-11-26 10:00:00.1', us('2026-11-26T10:00:00Z', 100_000)],
    ['2026-11-26T10:00:00.123Z', us('2026-11-26T10:00:00Z', 123_000)],
    ['2026-11-26T10:00:00.123456789Z', us('2026-11-26T10:00:00Z', 123_456)],
    ['2026-11-26T12:00:00+02:00', us('2026-11-26T10:00:00Z')],
    ['2026-11-26T05:30:00-0430', us('2026-11-26T10:00:00Z')],
    ['2026-11-26T10:00:00.5+00:00', us('2026-11-26T10:00:00Z', 500_000)],
    ['2024-02-29 23:59:59.999999', us('2024-02-29T23:59:59Z', 999_999)],
    ['1969-12-31 23:59:59', us('1969-12-31T23:59:59Z')],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '2026-13-01 00:00:00',
    '2026-02-30 00:00:00',
    '2025-02-29 00:00:00',
    '2026-11-26 24:00:00',
    '2026-11-26 10:60:00',
    '2026-11-26',
    '1899-12-31 23:59:59',
    '2201-01-01 00:00:00',
    '2026-11-26T10:00:00+25:00',
    `2026-11-26 10:00:00.${'1'.repeat(100)}`,
    '1795731062061',
  ])('rejects %j', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });

  it('round-trips through formatTimestamp for every microsecond in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: us('1900-01-01T00:00:00Z'), max: us('2200-12-31T23:59:59Z', 999_999) }), (t) => {
        expect(parseTimestamp(formatTimestamp(t))).toBe(t);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('agrees with Date on millisecond ISO strings', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }), (d) => {
        expect(parseTimestamp(d.toISOString())).toBe(d.getTime() * 1000);
      }),
      { numRuns: 2000, seed: 8 },
    );
  });
});

describe('formatTimestamp', () => {
  it('prints ClickHouse DateTime64(6) text', () => {
    expect(formatTimestamp(us('2026-11-26T10:00:00Z', 42))).toBe('2026-11-26 10:00:00.000042');
    expect(formatTimestamp(us('1969-12-31T23:59:59Z', 500_000))).toBe('1969-12-31 23:59:59.500000');
  });
  it('floors seconds like dateDiff counts boundaries', () => {
    expect(floorSeconds(us('2026-01-01T00:00:00Z', 999_999)) - floorSeconds(us('2026-01-01T00:00:00Z'))).toBe(0);
    expect(floorSeconds(us('2026-01-01T00:00:01Z', 100_000)) - floorSeconds(us('2026-01-01T00:00:00Z', 900_000))).toBe(1);
  });
});
