/**
 * Which kafkajs errors are access problems. The shapes are the ones kafkajs 2.2.4 threw against
 * a real SASL_SSL broker (test/integration/kafka-tls.test.ts runs them for real).
 */
import { describe, expect, it } from 'vitest';
import { accessError, isAccessError, KafkaAccessError } from './access.js';

function kafkaError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...extra });
}

const ctx = { brokers: '127.0.0.1:9093', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'svc' } };

describe('accessError', () => {
  it('a SASL authentication failure names the user and mechanism, never a password', () => {
    const err = kafkaError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: invalid credentials', {
      retriable: false,
    });
    const access = accessError(err, ctx);
    expect(access).toBeInstanceOf(KafkaAccessError);
    expect(access?.message).toBe(
      "Kafka SASL authentication failed as 'svc' (scram-sha-512) at 127.0.0.1:9093: SASL SCRAM SHA512 authentication failed: invalid credentials. Check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM",
    );
    expect(access?.retriable).toBe(false);
  });

  it('an untrusted certificate, found in the cause of the retries-exceeded error, by its code', () => {
    const cause = kafkaError('KafkaJSConnectionError', 'Connection error: self-signed certificate in certificate chain', {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      retriable: true,
    });
    const err = kafkaError('KafkaJSNumberOfRetriesExceeded', cause.message, { cause, retriable: false });
    expect(accessError(err, ctx)?.message).toBe(
      'the TLS certificate of the Kafka broker at 127.0.0.1:9093 is not trusted (SELF_SIGNED_CERT_IN_CHAIN). Set KAFKA_SSL_CA_FILE to the PEM of the CA that signed it',
    );
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ]) {
      expect(isAccessError(kafkaError('KafkaJSConnectionError', 'Connection error: x', { code })), code).toBe(true);
    }
  });

  it('TLS against something that does not speak it', () => {
    const err = kafkaError('KafkaJSConnectionError', 'Connection error: ssl3_get_record:wrong version number', {
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
    });
    expect(accessError(err, ctx)?.message).toMatch(/does not answer TLS \(ERR_SSL_WRONG_VERSION_NUMBER\): is this a plaintext port\?/);
    expect(accessError(err, { ...ctx, ssl: false })).toBeUndefined();
  });

  it('what retrying can fix is not an access error', () => {
    for (const err of [
      kafkaError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9093', { code: 'ECONNREFUSED' }),
      kafkaError('KafkaJSConnectionError', 'Connection timeout'),
      kafkaError('KafkaJSConnectionClosedError', 'Closed connection'),
      kafkaError('KafkaJSProtocolError', 'The group is rebalancing, so a rejoin is needed', { type: 'REBALANCE_IN_PROGRESS' }),
      new Error('boom'),
      'a string',
      undefined,
    ]) {
      expect(isAccessError(err)).toBe(false);
    }
  });

  it('a cycle of causes does not loop', () => {
    const a = kafkaError('KafkaJSError', 'a');
    const b = kafkaError('KafkaJSError', 'b', { cause: a });
    Object.assign(a, { cause: b });
    expect(isAccessError(a)).toBe(false);
  });
});
