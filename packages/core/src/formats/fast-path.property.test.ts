/**
 * The hand-written hot-path checks must accept only what the zod schemas accept, with the same
 * values: the schemas are the specification. Checked on near-valid and arbitrary inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureDataSchema, CaptureMessageSchema, fastCaptureData, fastCaptureMessage } from './posthog-capture.js';
import { fastPostHogEvent, PostHogEventSchema } from './posthog-events.js';

const RUNS = { numRuns: 3000, seed: 424242 };
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, '', '7', null, undefined, true),
  fc.object(),
  fc.array(fc.integer(), { maxLength: 2 }),
);
/** An object with the given keys, each either a plausible value or anything at all. */
const nearly = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(
    Object.fromEntries(
      Object.entries(fields).map(([k, arb]) => [k, fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue })]),
    ),
    { requiredKeys: [] },
  );

function agrees(
  fast: (v: unknown) => unknown,
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  value: unknown,
): void {
  const f = fast(value);
  if (f === undefined) return; // falls back to the schema: nothing to compare
  const z = schema.safeParse(value);
  expect(z.success).toBe(true);
  expect(f).toEqual(z.data);
}

describe('fast paths agree with the schemas', () => {
  it('posthog-events envelope', () => {
    const arb = nearly({
      uuid: fc.uuid(),
      event: fc.constantFrom('$pageview', '', 'x'),
      team_id: fc.integer({ min: -2, max: 100 }),
      distinct_id: fc.oneof(fc.string(), fc.integer()),
      timestamp: fc.constant('2026-11-26 10:00:00'),
      properties: fc.oneof(fc.constant('{}'), fc.object(), fc.constant(null)),
      extra: fc.anything(),
    });
    fc.assert(
      fc.property(fc.oneof(arb, anyValue), (v) => {
        agrees(fastPostHogEvent, PostHogEventSchema, v);
      }),
      RUNS,
    );
  });

  it('posthog-capture envelope and data', () => {
    const envelope = nearly({
      uuid: fc.uuid(),
      distinct_id: fc.oneof(fc.string(), fc.integer()),
      now: fc.constant('2026-11-26T10:00:00Z'),
      sent_at: fc.oneof(fc.constant('2026-11-26T10:00:00Z'), fc.constant(null)),
      token: fc.oneof(fc.constant('phc_x'), fc.constant(null)),
      team_id: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constant(null)),
      data: fc.oneof(fc.constant('{}'), fc.object()),
    });
    const data = nearly({
      event: fc.constantFrom('$pageview', ''),
      properties: fc.oneof(fc.object(), fc.constant(null)),
      timestamp: fc.oneof(fc.constant('2026-11-26T10:00:00Z'), fc.constant(null)),
      offset: fc.oneof(fc.integer(), fc.double(), fc.constant(null)),
    });
    fc.assert(
      fc.property(fc.oneof(envelope, anyValue), (v) => {
        agrees(fastCaptureMessage, CaptureMessageSchema, v);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.oneof(data, anyValue), (v) => {
        agrees(fastCaptureData, CaptureDataSchema, v);
      }),
      RUNS,
    );
  });

  it('the fast paths do accept well-formed messages (they are not dead code)', () => {
    expect(fastPostHogEvent({ uuid: 'u', event: 'e', team_id: 2, distinct_id: 'd', timestamp: 't', properties: '{}' })).toBeDefined();
    expect(fastCaptureMessage({ uuid: 'u', distinct_id: 1, now: 'n', data: '{}' })).toBeDefined();
    expect(fastCaptureData({ event: 'e', properties: {}, offset: 3 })).toBeDefined();
  });
});
