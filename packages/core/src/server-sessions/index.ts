/** The server-side session modules, re-exported for the package index: the rule, the streaming assigner, the reference oracle. */
export * from './rule.js';
export * from './assigner.js';
export * from './oracle.js';
export { KeyFilter } from './key-filter.js';
export { deterministicUuidV7 } from './id.js';
