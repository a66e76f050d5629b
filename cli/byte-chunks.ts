/**
 * A byte stream taken a chunk at a time, and copied into the line reader's buffers without filling them.
 */

/** The next chunk of a byte stream, null at its end (at once where it is there: a descriptor's read). */
export type NextChunk = () => Buffer | null | Promise<Buffer | null>;

export function chunksOf(stream: AsyncIterable<Buffer>): NextChunk {
  const it = stream[Symbol.asyncIterator]();
  return async () => {
    const next = await it.next();
    return next.done ? null : next.value;
  };
}

/**
 * Copies a stream's chunks into the buffers given, a chunk (or what fits of it) at a time; 0 at the end. Not
 * filling the buffer is faster: a chunk scanned while it is still in the cache, and while the next one inflates.
 */
export function filler(nextChunk: NextChunk): (into: Buffer) => Promise<number> {
  let chunk: Buffer | null = null;
  let at = 0;
  return async (into) => {
    if (chunk === null || at >= chunk.length) {
      chunk = await nextChunk();
      at = 0;
      if (chunk === null) return 0;
    }
    const copied = chunk.copy(into, 0, at, Math.min(chunk.length, at + into.length));
    at += copied;
    return copied;
  };
}
