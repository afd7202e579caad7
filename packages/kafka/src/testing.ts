/**
 * @sessionizer/kafka/testing: helpers for tests and benchmarks that run brokers themselves. A
 * development entry point: production code never imports it (scripts/boundaries.ts).
 */
export { DEFAULT_INFRA_DIR, freePort } from './local-broker.js';
