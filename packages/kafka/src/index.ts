/**
 * @sessionizer/kafka: the source and dead-letter interfaces and their kafkajs implementations,
 * client options (SASL, TLS), topic helpers, and a local broker for the demo when none is
 * configured. Test helpers (free ports, the broker scripts' directory) are in
 * `@sessionizer/kafka/testing`, which production code does not import.
 */
export { checkBrokerAccess, KafkaAccessError } from './access.js';
export { parseBrokers, probeBrokers } from './brokers.js';
export { createKafkaClient, type KafkaClientOptions } from './client.js';
export { KafkaJsDeadLetters } from './kafkajs-dead-letters.js';
export { KafkaJsSource, type KafkaJsSourceOptions } from './kafkajs-source.js';
export { KafkaUnavailableError, provisionKafka, type ProvisionedKafka, type ProvisionOptions } from './local-broker.js';
export type {
  CommitOffset,
  DeadLetterRecord,
  DeadLetterSink,
  EventSource,
  PartitionBatch,
  RebalanceListener,
  SourceRecord,
  TopicPartition,
} from './source.js';
export { ensureTopic, groupProgress, produceAll } from './topics.js';
