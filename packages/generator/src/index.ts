/**
 * @sessionizer/generator: deterministic, realistic PostHog traffic from a seed, in either input
 * format, with injected faults (duplicates, out-of-order, invalid, no $session_id). Pure: no
 * I/O, no clock, no Math.random. Used by the loadgen service, the demo and the benchmarks.
 */
export {
  DEFAULT_ACTIVE_SESSIONS,
  DEFAULT_START_MS,
  DEFAULT_TEAMS,
  MESSAGE_KINDS,
  OUT_OF_ORDER_WINDOW,
  generate,
  type GeneratedMessage,
  type GeneratorOptions,
  type MessageKind,
} from './generator.js';
export { FAULT_REASONS, INVALID_FAULTS, type Format, type InvalidFault } from './formats.js';
export { teamToken, tokenTeams } from './model.js';
export { Rng } from './random.js';
export { messageSizeStats, utf8Length, type SizeStats } from './stats.js';
