import { describe, expect, it } from 'vitest';
import { canonicalUuid, isUuidV7, uuidV7Millis } from './uuid.js';

describe('uuids', () => {
  it('canonicalises case and rejects other shapes', () => {
    expect(canonicalUuid('019B2C3D-1234-7ABC-8DEF-0123456789AB')).toBe('019b2c3d-1234-7abc-8def-0123456789ab');
    for (const bad of [
      '',
      '019b2c3d12347abc8def0123456789ab',
      '{019b2c3d-1234-7abc-8def-0123456789ab}',
      '019b2c3d-1234-7abc-8def-0123456789ag',
      ' 019b2c3d-1234-7abc-8def-0123456789a',
    ]) {
      expect(canonicalUuid(bad)).toBeNull();
    }
  });
  it('recognises version 7 with the RFC variant only', () => {
    expect(isUuidV7('019b2c3d-1234-7abc-8def-0123456789ab')).toBe(true);
    expect(isUuidV7('019b2c3d-1234-7abc-bdef-0123456789ab')).toBe(true);
    expect(isUuidV7('019b2c3d-1234-4abc-8def-0123456789ab')).toBe(false);
    expect(isUuidV7('019b2c3d-1234-7abc-cdef-0123456789ab')).toBe(false);
    expect(isUuidV7('019b2c3d-1234-7abc-7def-0123456789ab')).toBe(false);
  });
  it('reads the 48-bit millisecond prefix', () => {
    expect(uuidV7Millis('019b2c3d-1234-7abc-8def-0123456789ab')).toBe(0x019b2c3d1234);
    expect(uuidV7Millis('ffffffff-ffff-7abc-8def-0123456789ab')).toBe(2 ** 48 - 1);
  });
});
