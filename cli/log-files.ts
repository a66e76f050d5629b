/**
 * Finds and streams Bedrock invocation log files: JSON lines, gzip (by magic bytes, whatever the name),
 * CloudWatch export lines (`<ISO timestamp> <json>`) and pretty-printed multi-line records. Bytes go to the
 * line reader (line-reader.ts) a block at a time (a record that spans lines is held until it closes), so
 * memory stays flat.
 */
import {
  closeSync,
  createReadStream,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import { describeFsError, InputError } from "./errors.js";
import { LineReader } from "./line-reader.js";
import type { FileItem } from "./record-assembler.js";

/** Files CloudWatch Logs and Bedrock write to test bucket permissions: not log data. */
export const NOT_LOG_FILES: ReadonlySet<string> = new Set([
  "aws-logs-write-test",
  "amazon-bedrock-logs-permission-check",
]);

export interface LogFile {
  readonly path: string;
  readonly size: number;
}

export interface FoundFiles {
  readonly files: LogFile[];
  /** Entries below the given directories that could not be read (broken links, permissions): reported, skipped. */
  readonly errors: string[];
}

/**
 * Expands files and directories (recursively, sorted, dotfiles skipped) into the files to read. Each file is
 * listed once, however many paths or symbolic links lead to it, and a link loop is walked once. A path given
 * on the command line that cannot be read is an InputError; an entry found below it is reported and skipped.
 */
export async function findLogFiles(paths: readonly string[]): Promise<FoundFiles> {
  const files: LogFile[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  // Synchronous calls: an S3 copy is thousands of small files, and a thread-pool round trip for each stat and
  // realpath made the walk a tenth of the scan (4,282 files: 210 ms; about 40 ms this way).
  const visit = (path: string, explicit: boolean): void => {
    let info: ReturnType<typeof statSync>;
    let real: string;
    try {
      info = statSync(path);
      real = realpathSync.native(path);
    } catch (err) {
      if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
      errors.push(`${path}: ${describeFsError(err)}`);
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (err) {
        if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
        errors.push(`${path}: ${describeFsError(err)}`);
        return;
      }
      for (const name of entries) {
        if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
        visit(join(path, name), false);
      }
    } else if (info.isFile()) {
      files.push({ path, size: info.size });
    } else if (explicit) {
      throw new InputError(`${path}: not a file or directory`);
    }
  };
  for (const p of paths) visit(p, true);
  return { files, errors };
}

/**
 * Reads the first bytes of a stream to tell gzip by its magic bytes (1f 8b), whatever the name; the stream
 * returned yields every byte, the peeked ones first.
 */
async function sniffGzip(raw: Readable): Promise<{ gzip: boolean; bytes: Readable }> {
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
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
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

/** Reads beyond a range's end (to the end of the line there). */
const READ_PAST_RANGE_BYTES = 16 * 1024;

/** Where a range of a file was read: see readRangeBatches. */
export interface RangeRead {
  /** Offset of the first line read. */
  start: number;
  /** Offset of the first line not read: the assembler held nothing there (the file's size at its end). */
  resumeAt: number;
  /** Lines read. */
  lines: number;
}

/**
 * Streams the records of the lines of an uncompressed file that start in [from, end), and of the lines after
 * them that a record begun before `end` spans: exactly what reading the whole file would yield for those lines,
 * provided that reading the whole file would hold nothing at the first line (check `where.start` against the
 * previous range's `where.resumeAt`). With `aligned`, `from` is known to be a line's start; otherwise reading
 * starts at the first line that starts at or after `from`. Line numbers are counted from the range's first line.
 * The items of each block come at once.
 */
export async function* readRangeBatches(
  path: string,
  from: number,
  end: number,
  aligned: boolean,
  where: RangeRead,
): AsyncGenerator<FileItem[]> {
  const skipFirstLine = !aligned && from > 0;
  // From the byte before: the line it ends or is in belongs to the range before.
  const base = skipFirstLine ? from - 1 : from;
  const reader = new LineReader({ base, skipFirstLine, stopAt: end });
  try {
    let position = base;
    let failed: unknown;
    let fd: number | undefined;
    try {
      fd = openSync(path, "r");
      for (;;) {
        // Past the range only until the next line starts: in small reads, so that a small range costs little.
        const space = reader.space();
        const want = Math.min(space.length, Math.max(end - position, READ_PAST_RANGE_BYTES));
        const bytesRead = readLocal(fd, space.subarray(0, want), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const going = reader.commit(bytesRead);
        if (reader.items.length > 0) yield reader.items.splice(0);
        if (!going) break;
      }
    } catch (err) {
      failed = err;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (reader.stoppedAt < 0) {
      // The last line (without an LF) may start past the range too: finish() stops before it then.
      reader.finish(failed === undefined);
      yield reader.items.splice(0);
    }
    where.lines = reader.lines;
    if (reader.stoppedAt >= 0) {
      where.start = reader.firstLineStart;
      where.resumeAt = reader.stoppedAt;
    } else {
      where.resumeAt = Math.max(end, position);
      where.start = reader.lines === 0 ? where.resumeAt : reader.firstLineStart;
    }
    if (failed !== undefined)
      throw new InputError(`${path}: ${describeError(failed)} (after line ${where.lines})`);
  } finally {
    reader.close();
  }
}

/**
 * Streams the records of one file. `onBytes` reports raw (on-disk) bytes consumed, for progress. Records
 * before a read error are yielded; then an InputError says where the file broke off.
 */
export async function* readLogFile(path: string, onBytes?: (n: number) => void): AsyncGenerator<FileItem> {
  for await (const batch of readFileBatches(path, onBytes)) yield* batch;
}

/** readLogFile, the items of each block read at once. Uncompressed files are read straight into the reader. */
export async function* readFileBatches(
  path: string,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem[]> {
  let fd: number;
  const head = Buffer.alloc(2);
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new InputError(`${path}: ${describeError(err)}`);
  }
  try {
    readSync(fd, head, 0, 2, 0);
  } catch (err) {
    closeSync(fd);
    throw new InputError(`${path}: ${describeError(err)}`);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inflated = inflateSmall(fd);
    closeSync(fd);
    if (inflated !== null) {
      onBytes?.(inflated.compressed);
      yield* readBuffer(inflated.text);
      return;
    }
    const raw = createReadStream(path, { highWaterMark: GZIP_READ_BYTES });
    if (onBytes) raw.on("data", (chunk: string | Buffer) => onBytes(chunk.length));
    yield* readBytes(path, raw, true);
    return;
  }
  const reader = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
  try {
    let position = 0;
    let failed: unknown;
    try {
      for (;;) {
        const bytesRead = readLocal(fd, reader.space(), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        onBytes?.(bytesRead);
        reader.commit(bytesRead);
        if (reader.items.length > 0) yield reader.items.splice(0);
      }
    } catch (err) {
      failed = err;
    } finally {
      closeSync(fd);
    }
    reader.finish(failed === undefined);
    yield reader.items.splice(0);
    if (failed !== undefined)
      throw new InputError(`${path}: ${describeError(failed)} (after line ${reader.lines})`);
  } finally {
    reader.close();
  }
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
    throw new InputError(`${name}: ${describeError(err)}`);
  }
  yield* readBytes(name, sniffed.bytes, sniffed.gzip);
}

/** Gzip output chunks: the default 16 KB costs a thread-pool round trip each, over half of inflating's time. */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;
/** Reads of a local gzip file. */
export const GZIP_READ_BYTES = 1024 * 1024;

/** The line loop over a byte stream, gunzipped on the way if `gzip`; see readLogBatches for errors. */
async function* readBytes(name: string, raw: Readable, gzip: boolean): AsyncGenerator<FileItem[]> {
  const { next, failure } = gzip
    ? gunzipKeepingOutput(raw)
    : { next: chunksOf(raw), failure: () => undefined };
  const reader = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
  try {
    const fill = filler(next);
    let failed: unknown;
    try {
      for (;;) {
        const n = await fill(reader.space());
        if (n === 0) break;
        reader.commit(n);
        if (reader.items.length > 0) yield reader.items.splice(0);
      }
      failed = failure();
    } catch (err) {
      failed = err;
    } finally {
      // Also when the consumer stops early: no stream is left open.
      raw.destroy();
    }
    // A gzip stream that broke off ends its output cleanly: its last line is whole as far as it goes.
    reader.finish(failed === undefined || gzip);
    yield reader.items.splice(0);
    if (failed !== undefined) {
      const code = (failed as { code?: string }).code;
      const detail = code?.startsWith("Z_") ? "not a valid gzip file" : describeError(failed);
      throw new InputError(`${name}: ${detail} (after line ${reader.lines})`);
    }
  } finally {
    reader.close();
  }
}

/** Gzip files up to this size are inflated at once (S3 deliveries are many small objects). */
const SMALL_GZIP_BYTES = 1024 * 1024;
/** ... and their contents up to this size. */
const SMALL_GZIP_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * A small gzip file read and inflated at once, on this thread: a stream costs several thread-pool round trips
 * per file, and a scan of thousands of small objects waited on them most of its time. Null when the file or its
 * contents (the gzip trailer's size) are larger, or the data is not valid gzip: the streaming path then reads
 * it, keeping what inflates before a fault and reporting the fault as it always does.
 */
function inflateSmall(fd: number): { text: Buffer; compressed: number } | null {
  try {
    const size = fstatSync(fd).size;
    if (size > SMALL_GZIP_BYTES || size < 18) return null;
    const raw = Buffer.allocUnsafe(size);
    if (readSync(fd, raw, 0, size, 0) !== size || raw.readUInt32LE(size - 4) > SMALL_GZIP_TEXT_BYTES)
      return null;
    return { text: gunzipSync(raw, { maxOutputLength: SMALL_GZIP_TEXT_BYTES }), compressed: size };
  } catch {
    return null;
  }
}

/** The items of bytes already in memory (an inflated small file). */
function* readBuffer(text: Buffer): Generator<FileItem[]> {
  const reader = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
  try {
    for (let at = 0; at < text.length; ) {
      const space = reader.space();
      const n = text.copy(space, 0, at, Math.min(text.length, at + space.length));
      at += n;
      reader.commit(n);
      if (reader.items.length > 0) yield reader.items.splice(0);
    }
    reader.finish();
    yield reader.items.splice(0);
  } finally {
    reader.close();
  }
}

/**
 * Reads a local file's next block straight into the reader's memory. Synchronous on purpose: from the page
 * cache this is a copy of a megabyte, and a round trip through the thread pool per block left the scanner idle
 * for about a tenth of its time.
 */
function readLocal(fd: number, into: Buffer, position: number): number {
  return readSync(fd, into, 0, into.length, position);
}

/**
 * Copies a stream's chunks into the buffers given, a chunk (or what fits of it) at a time; 0 at the end. Not
 * filling the buffer is faster: a chunk scanned while it is still in the cache, and while the next one inflates.
 */
function filler(nextChunk: NextChunk): (into: Buffer) => Promise<number> {
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

/** A read error in one line: file-system codes in words, an InputError (e.g. from S3) as its message. */
function describeError(err: unknown): string {
  return err instanceof InputError ? err.message : describeFsError(err);
}

/** The next chunk of a byte stream, null at its end. */
type NextChunk = () => Promise<Buffer | null>;

function chunksOf(stream: AsyncIterable<Buffer>): NextChunk {
  const it = stream[Symbol.asyncIterator]();
  return async () => {
    const next = await it.next();
    return next.done ? null : next.value;
  };
}

/** Inflated bytes queued ahead of the reader: inflating (in the thread pool) goes on while it scans. */
const GUNZIP_AHEAD_BYTES = 4 * GUNZIP_CHUNK_BYTES;

/**
 * Gunzips a stream into chunks taken one at a time. When the data turns bad part-way (trailing garbage,
 * truncation) everything inflated before is still delivered, then the end; `failure()` tells what went wrong.
 * A queue of its own rather than stream plumbing: a PassThrough in between cost a third of the gzip scan.
 */
function gunzipKeepingOutput(raw: Readable): { next: NextChunk; failure: () => unknown } {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let error: unknown;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stop = (err: unknown) => {
    error ??= err;
    raw.unpipe(gunzip);
    ended = true;
    notify();
  };
  raw.on("error", stop);
  gunzip.on("error", stop);
  gunzip.on("end", () => {
    ended = true;
    notify();
  });
  gunzip.on("data", (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= GUNZIP_AHEAD_BYTES) gunzip.pause();
    notify();
  });
  raw.pipe(gunzip);
  const next: NextChunk = async () => {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.length;
        if (queued < GUNZIP_AHEAD_BYTES && gunzip.isPaused() && !ended) gunzip.resume();
        return chunk;
      }
      if (ended) return null;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  return { next, failure: () => error };
}
