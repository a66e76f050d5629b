/** Tells gzip data by its magic bytes (1f 8b), whatever the file or object is called. */
import { Readable } from "node:stream";

/** Whether bytes start as gzip does. */
export const isGzipHead = (head: Uint8Array): boolean =>
  head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * Reads the first bytes of a stream to tell gzip by its magic bytes (1f 8b), whatever the name; the stream
 * returned yields every byte, the peeked ones first.
 */
export async function sniffGzip(raw: Readable): Promise<{ gzip: boolean; bytes: Readable }> {
  const it: AsyncIterator<Buffer> = raw[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < 2) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    size += next.value.length;
  }
  const first = Buffer.concat(head);
  const gzip = isGzipHead(first);
  async function* replay(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  // objectMode off: consumers see plain byte chunks, as from a file stream.
  const bytes = Readable.from(replay(), { objectMode: false });
  bytes.on("close", () => raw.destroy());
  return { gzip, bytes };
}
