/**
 * Inflates gzip (files, stdin, S3 objects) where gzip-inflater.ts cannot (zlib's synchronous engine missing) in large
 * chunks queued ahead of the reader, keeping what inflated before a fault.
 */
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { NextChunk } from "./byte-chunks.js";

/** Gzip output chunks: the default 16 KB costs a thread-pool round trip each, over half of inflating's time. */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

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
