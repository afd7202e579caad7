/**
 * A `posthog-events` message without its `$session_id`: what a backend SDK, a CDP or an import
 * sends. The server-side session benchmarks (bench:server-sessions, and `npm run bench`'s
 * server-sessions phase) strip the same generated events, so that the two compare the same traffic.
 */
export function withoutSessionId(text: string): string {
  const msg = JSON.parse(text) as { properties: string };
  const props = JSON.parse(msg.properties) as Record<string, unknown>;
  delete props['$session_id'];
  return JSON.stringify({ ...msg, properties: JSON.stringify(props) });
}
