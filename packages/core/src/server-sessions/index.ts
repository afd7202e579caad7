export * from './rule.js';
export * from './assigner.js';
export * from './oracle.js';
export { deterministicUuidV7 } from './id.js';
