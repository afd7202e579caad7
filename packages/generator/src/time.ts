/** Time formats of the two input formats, from integer microseconds or milliseconds (UTC). */
import { formatTimestamp } from '@sessionizer/core';

/** `2026-11-20T10:00:00.123Z`: what SDKs send as `timestamp` and `sent_at`. */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2026-11-20T10:00:00.123456+00:00`: capture's `now`. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1_000);
  const sub = us - ms * 1_000;
  return `${new Date(ms).toISOString().slice(0, 23)}${String(sub).padStart(3, '0')}+00:00`;
}

/** `2026-11-20 10:00:00.123456`: ClickHouse DateTime64(6) as PostHog writes `timestamp`. */
export function chMicros(us: number): string {
  return formatTimestamp(us);
}

/** `2026-11-20 10:00:00.123`: `created_at` in posthog-events. */
export function chMillis(ms: number): string {
  return formatTimestamp(ms * 1_000).slice(0, 23);
}

/** `2026-11-20 10:00:00`: `person_created_at`. */
export function chSeconds(ms: number): string {
  return formatTimestamp(ms * 1_000).slice(0, 19);
}
