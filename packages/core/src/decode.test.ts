/** decodeRecord: tombstone, byte bound before decoding, then normalize() of the UTF-8 text. */
import { describe, expect, it } from 'vitest';
import { decodeRecord, type MessageBytes } from './decode.js';
import { DEFAULT_LIMITS } from './limits.js';
import { normalize } from './formats/index.js';

const bytes = (text: string, length = text.length): MessageBytes & { decoded: number } => {
  const b = {
    length,
    decoded: 0,
    toString: () => {
      b.decoded += 1;
      return text;
    },
  };
  return b;
};

describe('decodeRecord', () => {
  it('a tombstone is schema_invalid, dead-lettered, and named by its unit', () => {
    expect(decodeRecord('posthog-events', null, {})).toEqual({
      ok: false,
      reason: 'schema_invalid',
      action: 'dlq',
      message: 'message has no value (tombstone)',
    });
    expect(decodeRecord('posthog-events', null, {}, 'line')).toMatchObject({ message: 'line has no value (tombstone)' });
  });

  it('a value over maxMessageBytes is event_too_large and is never decoded', () => {
    const big = bytes('{}', 2049);
    const limits = { ...DEFAULT_LIMITS, maxMessageBytes: 2048 };
    expect(decodeRecord('posthog-events', big, { limits }, 'line')).toEqual({
      ok: false,
      reason: 'event_too_large',
      action: 'dlq',
      message: 'line of 2049 bytes exceeds 2048',
    });
    expect(big.decoded).toBe(0);
    expect(decodeRecord('posthog-events', bytes('{}', 2048), { limits })).toEqual(normalize('posthog-events', '{}', { limits }));
  });

  it('anything else is what normalize() makes of its text, in the given format', () => {
    for (const format of ['posthog-events', 'posthog-capture'] as const) {
      expect(decodeRecord(format, bytes('{"uuid": "broken'), {})).toEqual(normalize(format, '{"uuid": "broken', {}));
    }
  });
});
