export * from './types.js';
export * from './domains.js';
export * from './domain.js';
export * from './channel-type.js';
