/** The channel type's modules, re-exported for the package index: attribution types, source data, public suffixes. */
export * from './types.js';
export * from './definitions.js';
export * from './suffixes.js';
export * from './domain.js';
export * from './channel-type.js';
export * from './custom-rules.js';
