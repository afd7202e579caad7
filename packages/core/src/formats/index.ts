/** Normalisation by input format: one message of the given format → one event, or a rejection with a reason. */
import type { InputFormat, Normalized } from '../event.js';
import type { NormalizeOptions } from './common.js';
import { normalizeCaptureMessage } from './posthog-capture.js';
import { normalizePostHogEvent } from './posthog-events.js';

export type { NormalizeOptions } from './common.js';
export { SESSION_MAX_AGE_MICROS, UNASSIGNED_SESSION_ID } from './common.js';
export { DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS, DEFAULT_SESSION_ID_TOLERANCE_MS, type SessionWindowOptions } from './session-window.js';
export { captureEventTime, FUTURE_CUTOFF_MICROS, normalizeCaptureMessage } from './posthog-capture.js';
export { normalizePostHogEvent } from './posthog-events.js';

/** One message of the given format → one event, or a rejection with a reason. Never throws. */
export function normalize(format: InputFormat, text: string, options: NormalizeOptions = {}): Normalized {
  return format === 'posthog-capture' ? normalizeCaptureMessage(text, options) : normalizePostHogEvent(text, options);
}
