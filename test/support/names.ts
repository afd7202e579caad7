/** Unique names per test so files and tests run in parallel and never collide. */
import { randomBytes } from 'node:crypto';

function uniqueSuffix(): string {
  return `${Date.now().toString(36)}_${process.pid.toString(36)}_${randomBytes(4).toString('hex')}`;
}

export function uniqueName(prefix: string): string {
  // Valid as a Kafka topic, a group id and a ClickHouse database name.
  return `${prefix}_${uniqueSuffix()}`.replace(/[^A-Za-z0-9_]/g, '_');
}
