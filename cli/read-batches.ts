/**
 * Streams the records of a whole log file or byte stream (stdin, an S3 object), in batches: JSON lines, gzip (by
 * magic bytes, whatever the name), CloudWatch export lines (`<ISO timestamp> <json>`) and pretty-printed
 * multi-line records, and the CloudWatch export formats, told by their first bytes (start-reading.ts). Bytes go
 * to the line reader (line-reader.ts), or the export format's reader, a block at a time (a record that spans
 * lines is held until it closes), so memory stays flat.
 */
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { Readable } from "node:stream";
import { chunksOf, filler, type NextChunk } from "./byte-chunks.js";
import type { ByteReader } from "./byte-reader.js";
import { describeReadError, InputError, UnknownFormatError } from "./errors.js";
import { gunzipKeepingOutput } from "./gunzip.js";
import {
  fileInput,
  GzipInflater,
  giveInputBuffer,
  READ_BYTES,
  streamInput,
  takeInputBuffer,
} from "./gzip-inflater.js";
import { isGzipHead, sniffGzip } from "./gzip-sniff.js";
import { detectFormat } from "./input-format.js";
import { BLOCK_BYTES, LineReader } from "./line-reader.js";
import type { LogSource } from "./log-source.js";
import type { FileItem } from "./record-assembler.js";
import { startReading } from "./start-reading.js";

/**
 * Streams the records of one file. `onBytes` reports raw (on-disk) bytes consumed, for progress. Records
 * before a read error are yielded; then an InputError says where the file broke off.
 */
export async function* readLogFile(path: string, onBytes?: (n: number) => void): AsyncGenerator<FileItem> {
  for await (const batch of readFileBatches(path, onBytes)) yield* batch;
}

/** readLogFile, the items of each block read at once. Files are read (gzip: inflated) straight into the reader. */
export async function* readFileBatches(
  path: string,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new InputError(`${path}: ${describeReadError(err)}`);
  }
  // The first block tells gzip by its magic bytes and is the start of the data either way: no read of its own for
  // the sniff (a syscall per file, in a scan of thousands of S3 objects).
  const head = takeInputBuffer();
  let headLength: number;
  try {
    // No more than the line reader's block, where a plain file's first block goes.
    headLength = readLocal(fd, head.length > BLOCK_BYTES ? head.subarray(0, BLOCK_BYTES) : head, 0);
  } catch (err) {
    giveInputBuffer(head);
    closeSync(fd);
    throw new InputError(`${path}: ${describeReadError(err)}`);
  }
  if (isGzipHead(head.subarray(0, headLength))) {
    yield* readGzipFile(path, fd, { buffer: head, length: headLength }, onBytes);
    return;
  }
  let reader: ByteReader = new LineReader({
    base: 0,
    skipFirstLine: false,
    stopAt: Number.POSITIVE_INFINITY,
  });
  try {
    let position = 0;
    let failed: unknown;
    try {
      for (;;) {
        const space = reader.space();
        let bytesRead: number;
        if (position === 0) {
          // The block read already.
          bytesRead = head.copy(space, 0, 0, headLength);
          giveInputBuffer(head);
        } else bytesRead = readLocal(fd, space, position);
        if (bytesRead === 0) break;
        onBytes?.(bytesRead);
        // The first block tells the format: a short one is the whole file.
        if (position === 0 && reader instanceof LineReader)
          reader = startReading(path, reader, space.subarray(0, bytesRead), bytesRead < space.length);
        else reader.commit(bytesRead);
        position += bytesRead;
        if (reader.items.length > 0) yield reader.items.splice(0);
      }
    } catch (err) {
      failed = err;
    } finally {
      closeSync(fd);
    }
    if (failed instanceof UnknownFormatError) throw failed;
    reader.finish(failed === undefined);
    yield reader.items.splice(0);
    if (failed !== undefined)
      throw new InputError(`${path}: ${describeReadError(failed)} (after ${reader.progress})`);
  } finally {
    reader.close();
  }
}

/** A source's records: its descriptor read directly where it has one, a local file by its path, else its stream. */
export function readSourceBatches(
  source: LogSource,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  if (source.fd !== undefined) return readDescriptorBatches(source.name, source.fd, onBytes);
  if (source.path !== undefined) return readFileBatches(source.path, onBytes);
  return readLogBatches(source.name, source.open(), onBytes);
}

/**
 * Streams the records of raw log bytes (a file, stdin, an S3 object), gzip or not; `name` is how errors name
 * the source. `onBytes` reports raw bytes consumed. Records before a read error are yielded; then an
 * InputError says where the input broke off. The items of each block come at once.
 */
export async function* readLogBatches(
  name: string,
  source: Readable,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  if (onBytes) source.on("data", (chunk: Buffer) => onBytes(chunk.length));
  let sniffed: { gzip: boolean; bytes: Readable };
  try {
    sniffed = await sniffGzip(source);
  } catch (err) {
    source.destroy();
    throw new InputError(`${name}: ${describeReadError(err)}`);
  }
  yield* readBytes(name, sniffed.bytes, sniffed.gzip);
}

/**
 * Streams the records of an open descriptor read from where it stands, one block at a time, straight into the
 * reader (gzip: inflated on this thread): stdin when it is a file or a pipe (sources.ts). A stream takes it in
 * 64 KB chunks, each a round trip: 191 MB of JSON lines redirected to stdin took 1.67 times as long as the file,
 * about 1 time since; piped, 1.85 and 1.23 times (docs/benchmarks.md). The descriptor stays open (the caller's).
 */
export async function* readDescriptorBatches(
  name: string,
  fd: number,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  const head = Buffer.allocUnsafe(READ_BYTES);
  let headLength = 0;
  try {
    // Enough to tell gzip by its first two bytes: a pipe may give fewer at a time.
    for (let n = -1; headLength < 2 && n !== 0; headLength += n) {
      n = await readOn(fd, head.subarray(headLength));
    }
  } catch (err) {
    throw new InputError(`${name}: ${describeReadError(err)}`);
  }
  onBytes?.(headLength);
  const first = head.subarray(0, headLength);
  if (!isGzipHead(first)) {
    yield* readChunks(
      name,
      descriptorFill(fd, first, onBytes),
      () => undefined,
      false,
      () => undefined,
    );
    return;
  }
  const input = descriptorChunks(fd, first, onBytes);
  yield* readGzipChunks(
    name,
    input,
    () => Readable.from(chunksFrom(input), { objectMode: false }),
    () => undefined,
  );
}

/** Copies `first` (read already), then reads the descriptor straight into the buffers given; 0 at the end. */
function descriptorFill(fd: number, first: Buffer, onBytes?: (n: number) => void) {
  let at = 0;
  return async (into: Buffer): Promise<number> => {
    if (at < first.length) {
      const copied = first.copy(into, 0, at);
      at += copied;
      return copied;
    }
    const n = await readOn(fd, into);
    onBytes?.(n);
    return n;
  };
}

/**
 * A descriptor's chunks as they are read: `first` (read already), then a block at a time into one buffer that
 * each chunk reuses (the caller copies or inflates a chunk before asking for the next); null at the end.
 */
function descriptorChunks(fd: number, first: Buffer, onBytes?: (n: number) => void): NextChunk {
  let pending: Buffer | null = first.length > 0 ? first : null;
  let ended = first.length === 0;
  const block = Buffer.allocUnsafe(READ_BYTES);
  const take = (n: number): Buffer | null => {
    if (n === 0) {
      ended = true;
      return null;
    }
    onBytes?.(n);
    return block.subarray(0, n);
  };
  return () => {
    if (pending !== null) {
      const chunk = pending;
      pending = null;
      return chunk;
    }
    if (ended) return null;
    const n = readOn(fd, block);
    return typeof n === "number" ? take(n) : n.then(take);
  };
}

/**
 * Reads what is there from where the descriptor stands: at once, or, where it is non-blocking and its writer
 * has not written yet, once it has (readLater).
 */
function readOn(fd: number, into: Buffer): number | Promise<number> {
  try {
    return readSync(fd, into, 0, into.length, null);
  } catch (err) {
    if (!isRetryable(err)) throw err;
    return readLater(fd, into);
  }
}

/** Nothing to read yet (a non-blocking descriptor), or a signal came first. */
const isRetryable = (err: unknown): boolean => {
  const code = (err as { code?: string }).code;
  return code === "EAGAIN" || code === "EINTR";
};

/** The longest wait between tries on a descriptor whose writer is slower than the scan (ms). */
const MAX_RETRY_MS = 50;

/** Tries again after 1, 2, 4 ... up to MAX_RETRY_MS ms, in a loop: a chain of promises would hold every wait. */
async function readLater(fd: number, into: Buffer): Promise<number> {
  for (let ms = 1; ; ms = Math.min(ms * 2, MAX_RETRY_MS)) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    try {
      return readSync(fd, into, 0, into.length, null);
    } catch (err) {
      if (!isRetryable(err)) throw err;
    }
  }
}

/** The chunks `next` gives, as an async iterable (for the fallback stream). */
async function* chunksFrom(next: NextChunk): AsyncGenerator<Buffer> {
  for (let chunk = await next(); chunk !== null; chunk = await next()) yield Buffer.from(chunk);
}

/** Reads of a local gzip file by a node:zlib stream. */
const GZIP_READ_BYTES = 1024 * 1024;

/**
 * A local gzip file (`fd`, closed by the generator; `head`: its first block, read) inflated straight into the
 * reader's buffers on this thread (gzip-inflater.ts), or by a node:zlib stream where this Node.js lacks zlib's
 * synchronous engine. Not a generator itself: one delegation less per batch, in a scan of thousands of objects.
 */
function readGzipFile(
  path: string,
  fd: number,
  head: { buffer: Buffer; length: number },
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  const inflater = GzipInflater.open(fileInput(fd, onBytes, head));
  if (inflater !== null) return readInflated(path, inflater, () => closeSync(fd));
  giveInputBuffer(head.buffer);
  closeSync(fd);
  const raw = createReadStream(path, { highWaterMark: GZIP_READ_BYTES });
  if (onBytes) raw.on("data", (chunk: string | Buffer) => onBytes(chunk.length));
  return readBytes(path, raw, true);
}

/**
 * The line loop over a byte stream, gunzipped on the way if `gzip`: its chunks inflated on this thread as they
 * come (gzip-inflater.ts), or by a node:zlib stream where that engine is missing; see readLogBatches for errors.
 */
async function* readBytes(name: string, raw: Readable, gzip: boolean): AsyncGenerator<FileItem[]> {
  const close = () => raw.destroy();
  if (!gzip) {
    yield* readChunks(name, filler(chunksOf(raw)), () => undefined, false, close);
    return;
  }
  yield* readGzipChunks(name, chunksOf(raw), () => raw, close);
}

/**
 * The line loop over gzip chunks (`next`), inflated on this thread as they come (gzip-inflater.ts), or, where
 * that engine is missing, by a node:zlib stream over `stream()`, the same bytes; `close` frees the source.
 */
function readGzipChunks(
  name: string,
  next: NextChunk,
  stream: () => Readable,
  close: () => void,
): AsyncGenerator<FileItem[]> {
  const inflater = GzipInflater.open(streamInput(next));
  if (inflater !== null) return readInflated(name, inflater, close);
  const raw = stream();
  const gunzipped = gunzipKeepingOutput(raw);
  return readChunks(name, filler(gunzipped.next), gunzipped.failure, true, () => {
    raw.destroy();
    close();
  });
}

/** The line loop over what `inflater` inflates; `closeSource` frees its input (a file, a stream) with it. */
function readInflated(
  name: string,
  inflater: GzipInflater,
  closeSource: () => void,
): AsyncGenerator<FileItem[]> {
  const close = () => {
    inflater.close();
    closeSource();
  };
  return readChunks(
    name,
    (into) => inflater.read(into),
    () => inflater.failure(),
    true,
    close,
  );
}

/**
 * The line loop over bytes that `fill` copies into the reader's buffer (0 at their end; gzip: inflated), then
 * `failure()` tells whether they broke off; `close` frees the source, also when the consumer stops early.
 */
async function* readChunks(
  name: string,
  fill: (into: Buffer) => number | Promise<number>,
  failure: () => unknown,
  gzip: boolean,
  close: () => void,
): AsyncGenerator<FileItem[]> {
  let reader: ByteReader = new LineReader({
    base: 0,
    skipFirstLine: false,
    stopAt: Number.POSITIVE_INFINITY,
  });
  try {
    let failed: unknown;
    try {
      let first = true;
      for (;;) {
        const space = reader.space();
        // Awaited only when it waits (a file's gzip is inflated synchronously: no turn of the loop per block).
        let n = fill(space);
        if (typeof n !== "number") n = await n;
        if (n === 0) break;
        if (first && reader instanceof LineReader) {
          first = false;
          // The format is told by the first bytes: chunks (of a pipe, say) are gathered until they tell it.
          let ended = false;
          while (n < space.length && detectFormat(space.subarray(0, n), false) === null) {
            let more = fill(space.subarray(n));
            if (typeof more !== "number") more = await more;
            if (more === 0) {
              ended = true;
              break;
            }
            n += more;
          }
          reader = startReading(name, reader, space.subarray(0, n), ended);
        } else reader.commit(n);
        if (reader.items.length > 0) yield reader.items.splice(0);
      }
      failed = failure();
    } catch (err) {
      failed = err;
    } finally {
      // Also when the consumer stops early: no stream is left open.
      close();
    }
    if (failed instanceof UnknownFormatError) throw failed;
    // A gzip stream that broke off ends its output cleanly: its last line is whole as far as it goes.
    reader.finish(failed === undefined || gzip);
    yield reader.items.splice(0);
    if (failed !== undefined) {
      const code = (failed as { code?: string }).code;
      // zlib says Z_BUF_ERROR ("unexpected end of file") when the data stops before the gzip trailer.
      const detail =
        code === "Z_BUF_ERROR"
          ? "truncated or damaged gzip file: the data ends early"
          : code?.startsWith("Z_")
            ? "not a valid gzip file"
            : describeReadError(failed);
      throw new InputError(
        `${name}: ${detail} (after ${reader.progress}; the ${reader.units} before it were read)`,
      );
    }
  } finally {
    reader.close();
  }
}

/**
 * Reads a local file's next block straight into the reader's memory. Synchronous on purpose: from the page
 * cache this is a copy of a megabyte, and a round trip through the thread pool per block left the scanner idle
 * for about a tenth of its time.
 */
export function readLocal(fd: number, into: Buffer, position: number): number {
  return readSync(fd, into, 0, into.length, position);
}
