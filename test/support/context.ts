/** What the integration global setup provides to every test file. */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    kafkaSource: string;
  }
}

export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers');
}

export function kafkaSource(): string {
  return inject('kafkaSource');
}
