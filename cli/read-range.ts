/**
 * Streams the records of a byte range of an uncompressed log file (a part of the parallel scan), reading on
 * past the range's end to finish a record begun in it.
 */
import { closeSync, openSync } from "node:fs";
import { describeReadError, InputError } from "./errors.js";
import { LineReader } from "./line-reader.js";
import { readLocal } from "./read-batches.js";
import type { FileItem } from "./record-assembler.js";

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
      throw new InputError(`${path}: ${describeReadError(failed)} (after line ${where.lines})`);
  } finally {
    reader.close();
  }
}
