import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wellFormed } from './limits.js';

// The definition wellFormed() had before it used the engine's check: every lone surrogate → U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const byRegex = (v: string): string => v.replace(LONE_SURROGATE, '\uFFFD');

// Strings of ASCII, BMP characters, surrogate pairs and lone high/low surrogates, in any order.
const unit = fc.oneof(
  fc.constantFrom('a', 'é', '\u4e2d', '\uFFFD', '\uD83D\uDE00', '\uD800', '\uDBFF', '\uDC00', '\uDFFF'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);

describe('wellFormed', () => {
  it('replaces exactly the lone surrogates with U+FFFD', () => {
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), (units) => {
        const v = units.join('');
        expect(wellFormed(v)).toBe(byRegex(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it('returns a well-formed string itself', () => {
    const v = 'https://example.com/\u4e2d\uD83D\uDE00';
    expect(wellFormed(v)).toBe(v);
    expect(wellFormed('\uDE00\uD83D')).toBe('\uFFFD\uFFFD');
  });
});
