/**
 * Inflates gzip log data: a small file at once on this thread, a stream in large chunks queued ahead of the
 * reader, keeping what inflated before a fault.
 */
import { fstatSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import type { NextChunk } from "./byte-chunks.js";

/** Gzip output chunks: the default 16 KB costs a thread-pool round trip each, over half of inflating's time. */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;

/** zlib's smallest output chunk. */
const MIN_CHUNK_BYTES = 64;

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
export function inflateSmall(fd: number): { text: Buffer; compressed: number } | null {
  try {
    const size = fstatSync(fd).size;
    if (size > SMALL_GZIP_BYTES || size < 18) return null;
    const raw = Buffer.allocUnsafe(size);
    if (readSync(fd, raw, 0, size, 0) !== size) return null;
    // The trailer's size of the (last) member: one output chunk of that size saves zlib's concatenation of
    // 16 KB chunks (a copy and a tenth of the scan's garbage). More members only cost more chunks.
    const textBytes = raw.readUInt32LE(size - 4);
    if (textBytes > SMALL_GZIP_TEXT_BYTES) return null;
    const chunkSize = Math.max(MIN_CHUNK_BYTES, textBytes + 1);
    return { text: gunzipSync(raw, { maxOutputLength: SMALL_GZIP_TEXT_BYTES, chunkSize }), compressed: size };
  } catch {
    return null;
  }
}

/** Inflated bytes queued ahead of the reader: inflating (in the thread pool) goes on while it scans. */
const GUNZIP_AHEAD_BYTES = 4 * GUNZIP_CHUNK_BYTES;

/**
 * Gunzips a stream into chunks taken one at a time. When the data turns bad part-way (trailing garbage,
 * truncation) everything inflated before is still delivered, then the end; `failure()` tells what went wrong.
 * A queue of its own rather than stream plumbing: a PassThrough in between cost a third of the gzip scan.
 */
export function gunzipKeepingOutput(raw: Readable): { next: NextChunk; failure: () => unknown } {
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
