export * from './brokers.js';
export * from './local-broker.js';
