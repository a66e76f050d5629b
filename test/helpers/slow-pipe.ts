/** A real FIFO whose writer is slower than its reader, for the tests of stdin read from its descriptor. */
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, writeSync } from "node:fs";

export interface SlowPipe {
  /** The read end, non-blocking: the reader finds the pipe empty (EAGAIN) often. The caller closes it. */
  readonly readEnd: number;
  /** Settles when every byte is written (or the deadline passed) and the write end is closed. */
  readonly written: Promise<void>;
}

/**
 * Makes a FIFO at `path` and writes `bytes` into it `piece` bytes at a time, each after a pause. The write end is
 * non-blocking too, so that a reader that stops reading cannot leave the test blocked in a write; `written`
 * rejects on any error but a full pipe (EPIPE once the reader has closed its end).
 */
export function slowPipe(
  path: string,
  bytes: Uint8Array,
  { piece, pauseMs, deadlineMs = 30_000 }: { piece: number; pauseMs: number; deadlineMs?: number },
): SlowPipe {
  execFileSync("mkfifo", [path]);
  const readEnd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeEnd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const deadline = Date.now() + deadlineMs;
  const written = (async () => {
    try {
      for (let at = 0; at < bytes.length && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        try {
          at += writeSync(writeEnd, bytes.subarray(at, at + piece));
        } catch (err) {
          if ((err as { code?: string }).code !== "EAGAIN") throw err;
        }
      }
    } finally {
      closeSync(writeEnd);
    }
  })();
  return { readEnd, written };
}
