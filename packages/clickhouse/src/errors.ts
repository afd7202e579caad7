/**
 * Errors carry retriability (the kafkajs convention: one root error with `retriable` and
 * `cause`). ClickHouse failures are classified by server code: bad data and schema errors are
 * not retried; network and overload errors are, with backoff. The ClickHouse client does not
 * retry on its own: the sink owns that.
 */
import { ClickHouseError } from '@clickhouse/client';

export class SinkError extends Error {
  readonly retriable: boolean;
  /** ClickHouse error code (as a string, like the client reports it), when there is one. */
  readonly code: string | undefined;
  constructor(message: string, options: { retriable: boolean; code?: string | undefined; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'SinkError';
    this.retriable = options.retriable;
    this.code = options.code;
  }
}

/**
 * Codes that are worth retrying even though ClickHouse answered: overload and cluster trouble.
 * Any other server code is not retried: bad data (117 INCORRECT_DATA, 53 TYPE_MISMATCH, parse
 * errors), a wrong statement or schema, wrong credentials — retrying cannot help.
 */
export const RETRIABLE_CODES: ReadonlySet<string> = new Set([
  '3', // UNEXPECTED_END_OF_FILE
  '75', // CANNOT_WRITE_TO_FILE_DESCRIPTOR (a disk that filled up while writing a part)
  '76', // CANNOT_OPEN_FILE (no space or inodes for a new part's files)
  '159', // TIMEOUT_EXCEEDED
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '236', // ABORTED
  '241', // MEMORY_LIMIT_EXCEEDED (overload)
  '243', // NOT_ENOUGH_SPACE (the data disk is full: seen on the embedded engine; wait for space)
  '242', // TABLE_IS_READ_ONLY (replica lost its Keeper session)
  '252', // TOO_MANY_PARTS
  '285', // TOO_FEW_LIVE_REPLICAS
  '319', // UNKNOWN_STATUS_OF_INSERT
  '394', // QUERY_WAS_CANCELLED
  '425', // SYSTEM_ERROR
  '999', // KEEPER_EXCEPTION
]);

/**
 * A server-side ClickHouse error. Not only `instanceof`: chdb/connection throws the
 * ClickHouseError class of @clickhouse/client-common, a different copy from the one
 * @clickhouse/client bundles, with the same shape.
 */
export function isClickHouseError(err: unknown): err is ClickHouseError {
  if (err instanceof ClickHouseError) return true;
  if (!(err instanceof Error)) return false;
  const { code, type } = err as { code?: unknown; type?: unknown };
  return typeof code === 'string' && /^\d+$/.test(code) && typeof type === 'string' && /^[A-Z0-9_]+$/.test(type);
}

/** Classify anything thrown by the client. Unknown non-ClickHouse errors (sockets, timeouts) retry. */
export function classify(err: unknown, what: string): SinkError {
  if (err instanceof SinkError) return err;
  if (isClickHouseError(err)) {
    // An unknown server code is not retried: the server understood us and said no.
    return new SinkError(`${what}: ClickHouse error ${err.code} ${err.type ?? ''}: ${err.message.slice(0, 500)}`, {
      retriable: RETRIABLE_CODES.has(err.code),
      code: err.code,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return new SinkError(`${what}: ${message.slice(0, 500)}`, {
    retriable: true,
    code: typeof code === 'string' ? code : undefined,
    cause: err,
  });
}
