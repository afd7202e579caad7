import { describe, expect, it } from 'vitest';
import { parseBrokers } from './brokers.js';

describe('parseBrokers', () => {
  it('splits and trims a comma-separated list', () => {
    expect(parseBrokers(' a:9092, b.example.com:19092 ,[::1]:9092')).toEqual(['a:9092', 'b.example.com:19092', '[::1]:9092']);
  });
  it.each(['', ' , ', 'host', 'host:0', 'host:70000', 'http://host:9092', 'host:port'])('rejects %j naming the key', (v) => {
    expect(() => parseBrokers(v, 'KAFKA_BROKERS')).toThrow(/KAFKA_BROKERS/);
  });
});
