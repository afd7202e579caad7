/**
 * One message as it arrives (bytes, or nothing) → an event or a rejection, the same way for
 * every reader: the Kafka consumer, `sessionizer replay` and the fault tests' oracle.
 * A tombstone is `schema_invalid`; a message over `maxMessageBytes` is `event_too_large`
 * before it is decoded (so its size costs nothing); anything else is UTF-8 text for normalize().
 */
import { reject, type InputFormat, type Normalized } from './event.js';
import { normalize, type NormalizeOptions } from './formats/index.js';
import { DEFAULT_LIMITS } from './limits.js';

/** The bytes of a message as the core needs them (Node's Buffer is one): its size, and its UTF-8 text. */
export interface MessageBytes {
  readonly length: number;
  toString(encoding: 'utf8'): string;
}

/** `unit` names the message in the rejection's text: a Kafka `message`, a file's `line`. */
export function decodeRecord(format: InputFormat, value: MessageBytes | null, options: NormalizeOptions, unit = 'message'): Normalized {
  if (value === null) return reject('schema_invalid', `${unit} has no value (tombstone)`);
  const maxBytes = options.limits?.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes;
  if (value.length > maxBytes) return reject('event_too_large', `${unit} of ${value.length} bytes exceeds ${maxBytes}`);
  return normalize(format, value.toString('utf8'), options);
}
