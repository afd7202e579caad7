/**
 * Errors that retrying cannot fix — wrong credentials, an untrusted certificate, a client that
 * speaks the wrong protocol for the port — told apart from the ones it can (a broker restarting).
 *
 * Seen against a real SASL_SSL broker (kafkajs 2.2.4): a wrong password fails at once
 * (KafkaJSSASLAuthenticationError, not retriable); an untrusted CA and a plaintext client on the
 * TLS port are retried as connection errors, 8 times over ~60 s, and then, inside a running
 * consumer, restarted forever (a crash with KafkaJSNumberOfRetriesExceeded always restarts).
 * `checkBrokerAccess` finds the first kind before the service starts; `isAccessError` keeps the
 * consumer from restarting on them later.
 */
import type { Kafka } from 'kafkajs';

/** Node's TLS verification failures: the broker's certificate is not one we trust. */
const CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** A TLS client that reached something that does not speak TLS (a plaintext port). */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|ERR_SSL_/i;

export class KafkaAccessError extends Error {
  override readonly name = 'KafkaAccessError';
  /** Never: retrying does not change credentials, certificates or protocols. */
  readonly retriable = false;
}

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/** The error and the ones it wraps (kafkajs nests them in `cause` and `originalError`). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth += 1) {
    const el = e as ErrorLike;
    out.push(el);
    e = el.cause ?? el.originalError;
  }
  return out;
}

export interface AccessContext {
  readonly brokers: string;
  readonly ssl: boolean;
  readonly sasl?: { readonly mechanism: string; readonly username: string } | undefined;
}

/**
 * The access problem behind `err`, as a KafkaAccessError whose message says what to check, or
 * undefined when retrying may help. Never includes a password (none is passed in).
 */
export function accessError(err: unknown, ctx: AccessContext): KafkaAccessError | undefined {
  const certCode = chain(err)
    .map((e) => (typeof e.code === 'string' ? e.code : ''))
    .find((c) => CERT_CODES.has(c));
  for (const e of chain(err)) {
    const name = typeof e.name === 'string' ? e.name : '';
    const message = typeof e.message === 'string' ? e.message : '';
    const code = typeof e.code === 'string' ? e.code : '';
    if (name === 'KafkaJSSASLAuthenticationError') {
      const who = ctx.sasl === undefined ? '' : ` as '${ctx.sasl.username}' (${ctx.sasl.mechanism})`;
      return new KafkaAccessError(
        `Kafka SASL authentication failed${who} at ${ctx.brokers}: ${message}. Check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
        { cause: err },
      );
    }
    if (CERT_CODES.has(code) || /certificate|self.signed/i.test(message)) {
      return new KafkaAccessError(
        `the TLS certificate of the Kafka broker at ${ctx.brokers} is not trusted (${certCode ?? message}). ` +
          'Set KAFKA_SSL_CA_FILE to the PEM of the CA that signed it',
        { cause: err },
      );
    }
    if (ctx.ssl && (NOT_TLS.test(code) || NOT_TLS.test(message) || code === 'EPROTO')) {
      return new KafkaAccessError(
        `the Kafka broker at ${ctx.brokers} does not answer TLS (${code === '' ? message : code}): is this a plaintext port? Use its TLS port, or KAFKA_SSL=false`,
        { cause: err },
      );
    }
  }
  return undefined;
}

/** Whether a kafkajs error is an access problem (a consumer must not restart on it). */
export function isAccessError(err: unknown): boolean {
  return accessError(err, { brokers: '', ssl: true }) !== undefined;
}

/** The broker hung up before answering: on the TLS handshake, or on the first request. */
function hangUp(err: unknown): 'handshake' | 'request' | undefined {
  for (const e of chain(err)) {
    const message = typeof e.message === 'string' ? e.message : '';
    if (/before secure TLS connection was established/i.test(message)) return 'handshake';
    if (e.name === 'KafkaJSConnectionClosedError' || /Closed connection|closed by the server/i.test(message)) return 'request';
  }
  return undefined;
}

export interface CheckOptions extends AccessContext {
  /** Attempts when the broker hangs up before answering (default 3). */
  readonly attempts?: number;
  readonly pauseMs?: number;
}

/**
 * Connect with a client that does not retry (`kafka` made with `retries: 0`) and turn what
 * cannot heal into a KafkaAccessError: wrong credentials, an untrusted certificate, or a broker
 * that hangs up on every attempt before it answers — what a plaintext port does to a TLS
 * handshake, and a TLS or SASL listener to a client without them. Anything else (refused, timed
 * out: a broker that is down or starting) is left to the service's own retries.
 */
export async function checkBrokerAccess(kafka: Kafka, options: CheckOptions): Promise<void> {
  const attempts = options.attempts ?? 3;
  const hangUps: ('handshake' | 'request')[] = [];
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (err) {
      const access = accessError(err, options);
      if (access !== undefined) throw access;
      const how = hangUp(err);
      if (how === undefined) return;
      hangUps.push(how);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, options.pauseMs ?? 500));
  }
  if (hangUps.every((h) => h === 'handshake')) {
    throw new KafkaAccessError(
      `the Kafka broker at ${options.brokers} hung up on the TLS handshake, ${attempts} times: is this a plaintext port? Use its TLS port, or KAFKA_SSL=false`,
    );
  }
  const expects = options.ssl
    ? options.sasl === undefined
      ? 'SASL (KAFKA_SASL_MECHANISM)'
      : 'another SASL mechanism or a client certificate'
    : options.sasl === undefined
      ? 'TLS (KAFKA_SSL=true) or SASL (KAFKA_SASL_MECHANISM)'
      : 'TLS (KAFKA_SSL=true)';
  throw new KafkaAccessError(
    `the Kafka broker at ${options.brokers} closed the connection before answering, ${attempts} times: this port probably expects ${expects}`,
  );
}
