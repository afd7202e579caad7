export * from './types.js';
export * from './definitions.js';
export * from './suffixes.js';
export * from './domain.js';
export * from './channel-type.js';
export * from './custom-rules.js';
