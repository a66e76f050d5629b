/**
 * Inflates gzip synchronously, straight into the buffers its reader gives: no thread-pool round trip per output
 * chunk and no new output buffer per chunk. A node:zlib stream pays both, and on this project's VMs a scan waited
 * on them for about 40% of its time while the pool thread was idle (docs/benchmarks.md). The compressed bytes
 * come from a local file (read here) or a byte stream (stdin, an S3 object: its chunks as they arrive).
 *
 * It drives the zlib engine under node:zlib's streams the way node:zlib's own synchronous functions do (its
 * handle's `writeSync`), so multi-member data, trailing bytes and errors are zlib's own, exactly as a stream
 * reads them. That handle is not public API: `syncInflateWorks` checks it once by inflating a known file, and
 * without it the scanner reads gzip through the stream (gunzip.ts) as before.
 */
import { fstatSync, readSync } from "node:fs";
import { constants, createGunzip, gzipSync } from "node:zlib";
import type { NextChunk } from "./byte-chunks.js";

/** The part of node:zlib's native handle used here (lib/zlib.js calls it the same way in its *Sync functions). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface Engine {
  readonly handle: ZlibHandle;
  /** [output space left, input left] after each writeSync. */
  readonly state: Uint32Array;
  /** Back to a new stream's state (node:zlib's public `reset`). */
  reset(): void;
  close(): void;
}

function openEngine(): Engine | null {
  const gunzip = createGunzip();
  // `reset` is node:zlib's, documented for every zlib stream (not in @types/node's Gunzip).
  const inner = gunzip as unknown as {
    _handle?: Partial<ZlibHandle>;
    _writeState?: unknown;
    reset?: unknown;
  };
  const handle = inner._handle;
  const state = inner._writeState;
  const works =
    typeof handle?.writeSync === "function" &&
    typeof inner.reset === "function" &&
    state instanceof Uint32Array &&
    state.length >= 2;
  if (!works) {
    gunzip.close();
    return null;
  }
  const reset = inner.reset as () => void;
  return {
    handle: handle as ZlibHandle,
    state,
    reset: () => reset.call(gunzip),
    close: () => gunzip.close(),
  };
}

/**
 * Engines of files that ended without a fault, reset for the next file: making one (a node:zlib stream and its
 * native state) cost a few percent of a scan of small S3 objects.
 */
const spareEngines: Engine[] = [];
const MAX_SPARE_ENGINES = 4;

function takeEngine(): Engine | null {
  return spareEngines.pop() ?? openEngine();
}

function giveBack(engine: Engine, faulted: boolean): void {
  if (faulted || spareEngines.length >= MAX_SPARE_ENGINES) {
    engine.close();
    return;
  }
  engine.reset();
  spareEngines.push(engine);
}

/** Bytes read at a time from a local file (compressed here) or a descriptor (read-batches.ts). */
export const READ_BYTES = 256 * 1024;

/** A zlib error as node:zlib reports it: the message, and its code (Z_DATA_ERROR, Z_BUF_ERROR, ...). */
function zlibError(message: string, errno: number, code?: string): Error {
  return Object.assign(new Error(message), { errno, code });
}

/** No input (yet, or any more). */
const NO_INPUT = Buffer.alloc(0);

/** Where an inflater's compressed bytes come from. */
export interface GzipInput {
  /** The next compressed bytes, null at their end; a read error is thrown. */
  next(): Buffer | null | Promise<Buffer | null>;
  /** The data ended with bytes of the input unread (zlib reads nothing after the last member). */
  leftUnread(): void;
  /** Frees what the input holds (a file's descriptor stays the caller's). */
  close(): void;
}

/**
 * Gzip inflated into whatever buffer `read` is given. After a fault (bad data, the data ending early, a
 * read error) it returns 0 like at the end, having delivered everything inflated before it; `failure` then
 * tells what went wrong, with the codes a node:zlib stream would give.
 */
export class GzipInflater {
  private input: Buffer = NO_INPUT;
  private inOffset = 0;
  private endOfInput = false;
  private done = false;
  private error: unknown;
  /** The input being waited for (a byte stream's next chunk). */
  private waiting: Promise<void> | null = null;

  private constructor(
    private readonly source: GzipInput,
    private readonly engine: Engine,
  ) {
    engine.handle.onerror = (message, errno, code) => {
      this.error ??= zlibError(message, errno, code);
    };
  }

  /** An inflater of `source`, null where the engine is not there (the caller then uses a stream). */
  static open(source: GzipInput): GzipInflater | null {
    const engine = syncInflateWorks() ? takeEngine() : null;
    return engine === null ? null : new GzipInflater(source, engine);
  }

  /**
   * Inflates into `into` and returns how many bytes it wrote; 0 only at the end or after a fault. Synchronous
   * while the input is (a file's): an await per block cost a scan of small S3-sized files about 9%.
   */
  read(into: Uint8Array): number | Promise<number> {
    const n = this.inflateInto(into);
    const waiting = this.waiting;
    return n > 0 || waiting === null ? n : waiting.then(() => this.read(into));
  }

  /** `read` up to where it would wait for input: then 0, and `waiting` holds the wait. */
  private inflateInto(into: Uint8Array): number {
    while (!this.done && this.waiting === null && into.length > 0) {
      let inLength = this.input.length - this.inOffset;
      if (inLength === 0 && !this.endOfInput) {
        if (!this.takeInput()) break;
        inLength = this.input.length;
      }
      const flush = this.endOfInput ? constants.Z_FINISH : constants.Z_NO_FLUSH;
      this.engine.handle.writeSync(flush, this.input, this.inOffset, inLength, into, 0, into.length);
      // A failed write leaves the state as it was and its output is lost, in a stream too.
      if (this.error !== undefined) {
        this.finish();
        break;
      }
      const [outLeft = 0, inLeft = 0] = this.engine.state;
      this.inOffset = this.input.length - inLeft;
      // Room left in the output means zlib took all it could: the input ran out, or the data ended (a final
      // flush, or bytes zlib does not read after the last member, as a stream ends there too).
      if (outLeft > 0 && (this.endOfInput || inLeft > 0)) {
        if (!this.endOfInput) this.source.leftUnread();
        this.finish();
      }
      const written = into.length - outLeft;
      if (written > 0) return written;
    }
    return 0;
  }

  /** What stopped the data early, if anything. */
  failure(): unknown {
    return this.error;
  }

  /** Frees the engine and the input. */
  close(): void {
    this.finish();
  }

  /** Takes the next input if it is there; false after a fault, or while it comes (`waiting`). */
  private takeInput(): boolean {
    let next: Buffer | null | Promise<Buffer | null>;
    try {
      next = this.source.next();
    } catch (err) {
      this.fail(err);
      return false;
    }
    if (next instanceof Promise) {
      this.waiting = next.then(
        (chunk) => {
          this.waiting = null;
          this.supply(chunk);
        },
        (err: unknown) => {
          this.waiting = null;
          this.fail(err);
        },
      );
      return false;
    }
    this.supply(next);
    return true;
  }

  private supply(chunk: Buffer | null): void {
    this.inOffset = 0;
    if (chunk === null) {
      this.endOfInput = true;
      this.input = NO_INPUT;
    } else this.input = chunk;
  }

  private fail(err: unknown): void {
    this.error ??= err;
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    giveBack(this.engine, this.error !== undefined);
    this.source.close();
  }
}

/** Input buffers of closed file inputs, reused: a scan of thousands of small objects opens one per object. */
const spareInputs: Buffer[] = [];

/** A buffer of READ_BYTES for a file's first block (fileInput's `head`, or given back with giveInputBuffer). */
export function takeInputBuffer(): Buffer {
  return spareInputs.pop() ?? Buffer.allocUnsafe(READ_BYTES);
}

/** Gives back a buffer from takeInputBuffer that no input took. */
export function giveInputBuffer(buffer: Buffer): void {
  spareInputs.push(buffer);
}

/**
 * A local file's compressed bytes (`fd`, read from its start; the caller closes it); `onBytes` counts them.
 * `head`: the file's first block, read already into a buffer from takeInputBuffer (which the input then owns).
 */
export function fileInput(
  fd: number,
  onBytes?: (n: number) => void,
  head?: { buffer: Buffer; length: number },
): GzipInput {
  let buffer: Buffer | undefined = head?.buffer;
  /** The length of `head`, until it has been given. */
  let headLength = head?.length;
  let position = 0;
  return {
    next() {
      buffer ??= takeInputBuffer();
      const n = headLength ?? readSync(fd, buffer, 0, buffer.length, position);
      headLength = undefined;
      position += n;
      if (n === 0) return null;
      onBytes?.(n);
      return buffer.subarray(0, n);
    },
    leftUnread() {
      // Bytes after the data (padding) are not read, as a stream reads them: progress counts them all the same.
      try {
        const rest = fstatSync(fd).size - position;
        if (rest > 0) onBytes?.(rest);
      } catch {
        // Progress only: a file that cannot be stat'ed now was read all the same.
      }
    },
    close() {
      if (buffer !== undefined) spareInputs.push(buffer);
      buffer = undefined;
    },
  };
}

/** A byte stream's compressed chunks as they come (the stream counts its own bytes, and the caller ends it). */
export function streamInput(next: NextChunk): GzipInput {
  return { next, leftUnread: () => undefined, close: () => undefined };
}

let works: boolean | undefined;

/**
 * Whether this Node.js has the engine as expected: checked once, on two members with a final flush, through a
 * small output buffer, then, after a reset (engines are reused), for the error of data that ends early.
 */
export function syncInflateWorks(): boolean {
  if (works !== undefined) return works;
  works = false;
  try {
    const text = Buffer.from("x".repeat(5000) + "y".repeat(3000));
    const whole = Buffer.concat([gzipSync(text.subarray(0, 4000)), gzipSync(text.subarray(4000))]);
    const engine = openEngine();
    if (engine === null) return false;
    const inflate = (data: Buffer) => {
      let error: string | undefined;
      engine.handle.onerror = (_m, _e, code) => {
        error ??= code;
      };
      const out = Buffer.alloc(text.length + 100);
      let at = 0;
      for (const flush of [constants.Z_NO_FLUSH, constants.Z_FINISH]) {
        const input = flush === constants.Z_FINISH ? Buffer.alloc(0) : data;
        let inAt = 0;
        for (;;) {
          const room = Math.min(1000, out.length - at);
          engine.handle.writeSync(flush, input, inAt, input.length - inAt, out, at, room);
          if (error !== undefined) break;
          const [outLeft = 0, inLeft = 0] = engine.state;
          inAt = input.length - inLeft;
          at += room - outLeft;
          if (outLeft > 0) break;
        }
      }
      return { text: out.subarray(0, at), error };
    };
    const good = inflate(whole);
    engine.reset();
    const cut = inflate(whole.subarray(0, whole.length - 10));
    engine.close();
    works = good.error === undefined && good.text.equals(text) && cut.error === "Z_BUF_ERROR";
  } catch {
    works = false;
  }
  return works;
}
