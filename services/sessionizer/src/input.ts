/**
 * What `replay` reads: NDJSON as UTF-8 text, plain or gzip-compressed. Event exports are archived
 * gzip-compressed, so gzip is recognised by its magic bytes (from a file or from stdin: no file
 * name to go by) and decompressed on the fly. Anything that is not text is refused before the
 * first line, with a message that says what it looks like: read as text, an archive would
 * become thousands of `malformed_json` rejections and a replay that "succeeds" having written
 * nothing. Other compressions are recognised by their magic bytes and refused with the command
 * that decompresses them (Node 20's zlib has no zstd, and none has bzip2, xz or lz4).
 *
 * Only the beginning (SNIFF_BYTES of decoded data) is inspected: binary data further into a file
 * that starts as text is rejected line by line, like any other bad line.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** The input cannot be read as NDJSON at all (the message says why and what to do). */
export class InputError extends Error {
  override readonly name = 'InputError';
}

export type Compression = 'gzip';

export interface DecodedInput {
  /** How the source was compressed (undefined: plain text). */
  readonly compression: Compression | undefined;
  /** The text's bytes, decompressed, without a UTF-8 byte order mark. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Bytes taken from the source so far (compressed bytes for an archive): progress against a file's size. */
  sourceBytes(): number;
}

/** How much decoded data is inspected before the first line is handed out. */
export const SNIFF_BYTES = 64 * 1024;

interface Signature {
  readonly name: string;
  readonly magic: readonly number[];
  /** The command that writes the decompressed data to stdout (FILE is the input). */
  readonly decompress: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Formats we recognise and refuse (file(1)'s magic numbers). */
const UNSUPPORTED: readonly Signature[] = [
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], decompress: 'zstd -dc FILE' },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], decompress: 'xz -dc FILE' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], decompress: 'bzip2 -dc FILE' },
  { name: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18], decompress: 'lz4 -dc FILE' },
  { name: 'zip', magic: [0x50, 0x4b, 0x03, 0x04], decompress: 'unzip -p FILE' },
  { name: '7z', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], decompress: '7z x -so FILE' },
  { name: 'Unix compress (.Z)', magic: [0x1f, 0x9d], decompress: 'uncompress -c FILE' },
];

const startsWith = (head: Buffer, magic: readonly number[]): boolean => head.length >= magic.length && magic.every((b, i) => head[i] === b);

/** bzip2's "BZh" is followed by the block size digit 1–9; without it, "BZh" may start a text. */
function unsupportedCompression(head: Buffer): Signature | undefined {
  return UNSUPPORTED.find(
    (s) => startsWith(head, s.magic) && (s.name !== 'bzip2' || (head.length > 3 && (head[3] ?? 0) >= 0x31 && (head[3] ?? 0) <= 0x39)),
  );
}

/**
 * Why these bytes (the beginning of an input) are not UTF-8 text, or undefined when they are.
 * Binary: a NUL byte (never in JSON text, always in binary formats and UTF-16), or more than a
 * tenth of the characters invalid UTF-8 or control characters JSON text does not contain
 * (random bytes: about half). A stray Latin-1 byte stays below that, and its line is handled
 * like any other (the JSON parser sees U+FFFD).
 */
export function notTextReason(head: Buffer, atEnd: boolean): string | undefined {
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) {
    return 'UTF-16 text (byte order mark): replay reads UTF-8; convert it first, e.g. `iconv -f UTF-16 -t UTF-8 FILE`';
  }
  const nul = head.indexOf(0);
  if (nul !== -1) return `binary data (a NUL byte at offset ${nul})`;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head, { stream: !atEnd });
  let bad = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    // U+FFFD (an invalid sequence), C0 controls other than \t \n \v \f \r and ESC, and DEL
    if (c === 0xfffd || (c < 0x20 && (c < 0x09 || c > 0x0d) && c !== 0x1b) || c === 0x7f) bad += 1;
  }
  if (text.length > 0 && bad * 10 > text.length) {
    return `binary data (${bad} of the first ${text.length} characters are invalid UTF-8 or control characters)`;
  }
  return undefined;
}

const toBuffer = (v: Uint8Array | string): Buffer =>
  typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Pulls chunks from an iterator; the first ones can be looked at before they are handed on. */
class Peeked {
  readonly #it: AsyncIterator<Uint8Array | string>;
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #done = false;
  #taken = 0;

  constructor(source: AsyncIterable<Uint8Array | string>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  get taken(): number {
    return this.#taken;
  }

  /** At least n bytes held (fewer only at the end). */
  async peek(n: number): Promise<{ head: Buffer; atEnd: boolean }> {
    while (this.#heldBytes < n && !this.#done) {
      const next = await this.#it.next();
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const chunk = toBuffer(next.value);
      this.#taken += chunk.length;
      if (chunk.length === 0) continue;
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
    }
    const head = this.#held.length === 1 ? (this.#held[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#held);
    return { head, atEnd: this.#done };
  }

  /** Everything: the held chunks, then the rest of the source. */
  async *all(): AsyncGenerator<Buffer> {
    while (this.#held.length > 0) {
      const chunk = this.#held.shift();
      if (chunk !== undefined) yield chunk;
    }
    this.#heldBytes = 0;
    while (!this.#done) {
      const next = await this.#it.next();
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const chunk = toBuffer(next.value);
      this.#taken += chunk.length;
      yield chunk;
    }
  }
}

/** `label` names the input in the message, `name` in the command that decompresses it. */
function refuse(label: string, what: string, name: string, decompress?: string): InputError {
  const file = name === 'stdin' ? '…' : name;
  const how = decompress === undefined ? '' : ` (e.g. \`${decompress.replace('FILE', file)} | sessionizer replay - …\`)`;
  return new InputError(`${label} is ${what}: not supported, decompress it first${how}`);
}

/** gunzip, with zlib's errors turned into a message about the input. */
async function* gunzip(source: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  const inflate = createGunzip();
  // pipeline() destroys both streams on an error, so iterating `inflate` then throws it.
  pipeline(Readable.from(source), inflate, () => undefined);
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new InputError(`${name}: the gzip data is corrupt or truncated (${err instanceof Error ? err.message : String(err)})`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    inflate.destroy();
  }
}

async function* withoutBom(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of chunks) {
    if (first && startsWith(chunk, [0xef, 0xbb, 0xbf])) {
      first = false;
      if (chunk.length > 3) yield chunk.subarray(3);
      continue;
    }
    first = false;
    yield chunk;
  }
}

/**
 * Look at the beginning of `source` and return its text: decompressed if it is gzip, refused
 * with an InputError if it is another compression or not text. `name` names the input in
 * messages (a path, or 'stdin').
 */
export async function decodeInput(source: AsyncIterable<Uint8Array | string>, name: string): Promise<DecodedInput> {
  const raw = new Peeked(source);
  const { head: rawHead } = await raw.peek(8);
  let compression: Compression | undefined;
  let decoded: AsyncIterable<Buffer> = raw.all();
  if (startsWith(rawHead, GZIP_MAGIC)) {
    compression = 'gzip';
    decoded = gunzip(raw.all(), name);
  } else {
    const other = unsupportedCompression(rawHead);
    if (other !== undefined) throw refuse(name, `${other.name}-compressed`, name, other.decompress);
  }
  const text = new Peeked(decoded);
  const { head, atEnd } = await text.peek(SNIFF_BYTES);
  const label = compression === undefined ? name : `${name} (after gunzip)`;
  if (compression !== undefined) {
    if (startsWith(head, GZIP_MAGIC)) throw refuse(label, 'gzip-compressed again', name, 'gzip -dc FILE | gzip -dc');
    const inner = unsupportedCompression(head);
    if (inner !== undefined) throw refuse(label, `${inner.name} data`, name);
  }
  const why = notTextReason(head, atEnd);
  if (why !== undefined) throw new InputError(`${label} is not text: ${why}; replay reads NDJSON, one JSON event per line`);
  return { compression, chunks: withoutBom(text.all()), sourceBytes: () => raw.taken };
}
