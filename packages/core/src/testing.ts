/**
 * @sessionizer/core/testing: the reference oracles the tests, fuzzers and benchmarks compare the
 * pipeline with: sessions from a complete event list, and server-side session ids from the
 * arrivals in order. A development entry point: production code never imports it
 * (scripts/boundaries.ts).
 */
export { sessionize } from './oracle.js';
export { assignServerSessionsOracle } from './server-sessions/oracle.js';
export type { ServerSessionOptions } from './server-sessions/rule.js';
