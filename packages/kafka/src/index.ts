export * from './access.js';
export * from './brokers.js';
export * from './client.js';
export * from './kafkajs-dead-letters.js';
export * from './kafkajs-source.js';
export * from './local-broker.js';
export * from './source.js';
export * from './topics.js';
