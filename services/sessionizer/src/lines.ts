/**
 * NDJSON lines from a byte stream, with a bound: a line longer than maxBytes is never held in
 * memory; it is skipped to its newline and reported as oversized, so a 10 GiB line costs
 * nothing. Handles \n and \r\n; a last line without a newline counts.
 */
export type Line =
  | { readonly number: number; readonly text: string; readonly bytes: number; readonly oversized: false }
  | { readonly number: number; readonly text: null; readonly bytes: number; readonly oversized: true };

export async function* readLines(source: AsyncIterable<Uint8Array | string>, maxBytes: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let held = 0;
  let skipped = 0; // > 0 while skipping an oversized line
  let skippedLast = -1; // last byte skipped (to drop a \r before the \n)
  let number = 0;

  const finish = (tail: Buffer): Line | undefined => {
    number += 1;
    if (skipped > 0) {
      const last = tail.length > 0 ? tail[tail.length - 1] : skippedLast;
      const bytes = skipped + tail.length - (last === 13 ? 1 : 0);
      skipped = 0;
      skippedLast = -1;
      return { number, text: null, bytes, oversized: true };
    }
    const buf = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    parts = [];
    held = 0;
    const end = buf.length > 0 && buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length;
    if (end > maxBytes) return { number, text: null, bytes: end, oversized: true };
    return { number, text: buf.toString('utf8', 0, end), bytes: end, oversized: false };
  };

  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(10, pos);
      if (nl === -1) {
        const rest = buf.subarray(pos);
        if (skipped > 0) {
          skipped += rest.length;
          skippedLast = rest[rest.length - 1] ?? skippedLast;
        } else if (held + rest.length > maxBytes + 1) {
          // too long already: drop what we hold and skip to the newline
          skipped = held + rest.length;
          skippedLast = rest[rest.length - 1] ?? -1;
          parts = [];
          held = 0;
        } else {
          parts.push(Buffer.from(rest));
          held += rest.length;
        }
        break;
      }
      const line = finish(buf.subarray(pos, nl));
      if (line !== undefined) yield line;
      pos = nl + 1;
    }
  }
  if (held > 0 || skipped > 0) {
    const line = finish(Buffer.alloc(0));
    if (line !== undefined) yield line;
  }
}
