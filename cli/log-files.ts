/**
 * Finds and streams Bedrock invocation log files: JSON lines, gzip (by magic bytes, whatever the name),
 * CloudWatch export lines (`<ISO timestamp> <json>`) and pretty-printed multi-line records. One line in
 * memory at a time (a record that spans lines is held until it closes), so memory stays flat.
 */
import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import {
  type InvocationRecord,
  type ReadResult,
  readRecord,
  stripExportPrefix,
} from "../core/record-reader.js";

/** A user-facing input problem (missing path, unreadable file): reported in one line, exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

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
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    let real: string;
    try {
      info = await stat(path);
      real = await realpath(path);
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
        entries = (await readdir(path)).sort();
      } catch (err) {
        if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
        errors.push(`${path}: ${describeFsError(err)}`);
        return;
      }
      for (const name of entries) {
        if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
        await visit(join(path, name), false);
      }
    } else if (info.isFile()) {
      files.push({ path, size: info.size });
    } else if (explicit) {
      throw new InputError(`${path}: not a file or directory`);
    }
  };
  for (const p of paths) await visit(p, true);
  return { files, errors };
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    default:
      return err instanceof Error ? err.message : String(err);
  }
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

/** What reading a file yields: a record, or a malformed line with its 1-based line number. */
export type FileItem =
  | { readonly kind: "record"; readonly record: InvocationRecord }
  | { readonly kind: "malformed"; readonly line: number; readonly reason: string };

/** A multi-line record is given up on past these sizes (a record is at most a few hundred KB). */
const MAX_HELD_CHARS = 16 * 1024 * 1024;
const MAX_HELD_LINES = 200_000;
/** Longer lines are reported as malformed without being held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Index of the first and last non-whitespace character of a line (-1, -1 when blank). */
function span(text: string): [number, number] {
  let a = 0;
  let b = text.length - 1;
  while (a <= b && isWs(text.charCodeAt(a))) a++;
  while (b >= a && isWs(text.charCodeAt(b))) b--;
  return a > b ? [-1, -1] : [a, b];
}
const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/**
 * String-aware bracket counting over the lines of a held record, from one starting line. It finds where the
 * record closes, and notes nested objects that open at the start of a line and close at the end of one: a
 * record pretty-printed after broken text looks like such an object from the broken text's point of view.
 */
class Tracker {
  depth = 0;
  private inString = false;
  private escaped = false;
  /** Nested objects opened at the start of a line: line index and the depth before their `{`. */
  private readonly open: { line: number; depth: number }[] = [];
  /** Whether the last fed line's first `{` was read outside a string (so this tracker saw it open). */
  claimed = false;

  constructor(readonly start: number) {}

  /**
   * Feeds one line; returns the index where the outermost value closed, or -1. With `claim`, an object opening
   * at the line's first character is noted, and `onNested(startLine)` is called if it closes at the line end.
   */
  feed(text: string, line: number, claim: boolean, onNested: (start: number, end: number) => void): number {
    const [first, last] = span(text);
    this.claimed = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (claim && i === first && c === 0x7b && this.depth > 0) {
          this.open.push({ line, depth: this.depth });
          this.claimed = true;
        }
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        const top = this.open[this.open.length - 1];
        if (top !== undefined && top.depth >= this.depth) {
          this.open.pop();
          if (i === last && c === 0x7d) onNested(top.line, line);
        }
        if (this.depth <= 0) return i;
      }
    }
    return -1;
  }
}

/** A nested object spanning whole lines (indices into the held lines), with the ones nested in it. */
interface Range {
  readonly from: number;
  readonly to: number;
  readonly inner: Range[];
}

interface Held {
  /** The lines (export prefixes stripped); the first one is file line `startLine`. */
  lines: string[];
  startLine: number;
  chars: number;
  tracker: Tracker;
  /** Whole-line objects inside the held text, outermost first: read as records if the held text is broken. */
  ranges: Range[];
}

/**
 * Turns lines into records, per the contract's "Files" rules:
 * - a line that is by itself a complete record is read as one, whatever is held: the held text is one
 *   malformed line;
 * - a line that starts an object and ends inside it (a pretty-printed record at any indentation, zero
 *   included, or one wrapped over lines) is held until its outermost brace closes, then read once;
 * - held text is broken when it closes as something that is not a record, a complete record line interrupts
 *   it, a line that starts an object begins inside one of its strings (no record has a line break inside a
 *   string: the held text was cut inside one), the file ends, or it outgrows the caps. It counts as one
 *   malformed line, and the objects inside it that span whole lines and are records by themselves (one
 *   pretty-printed after a cut) are read.
 * Each line is scanned by one bracket counter, read alone at most once and as part of held text a bounded
 * number of times (recovery has a budget proportional to the held text): linear on any input.
 */
export class RecordAssembler {
  private held: Held | null = null;

  constructor(private readonly read: (text: string) => ReadResult = readRecord) {}

  /** Whether a multi-line record is held: false means the next line is read as if the file started there. */
  get holding(): boolean {
    return this.held !== null;
  }

  push(line: string, lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    const body = stripExportPrefix(line);
    const [first] = span(body);
    const startsObject = first >= 0 && body.charCodeAt(first) === 0x7b;
    const held = this.held;
    if (held) {
      if (startsObject) {
        const alone = this.read(body);
        if (alone.ok) {
          this.flush(out, "record is cut off");
          out.push({ kind: "record", record: alone.record });
          return out;
        }
      }
      if (this.continueHeld(held, body, startsObject, out)) return out;
      // The held text was cut inside a string: this line starts afresh.
      this.flush(out, "record is cut off");
    }
    if (first < 0) return out;
    if (!startsObject) {
      out.push({ kind: "malformed", line: lineNo, reason: "not a JSON object" });
      return out;
    }
    const alone = this.read(body);
    if (alone.ok) out.push({ kind: "record", record: alone.record });
    else if (alone.incomplete) {
      const tracker = new Tracker(0);
      tracker.feed(body, 0, false, () => {});
      this.held = { lines: [body], startLine: lineNo, chars: body.length, tracker, ranges: [] };
    } else out.push({ kind: "malformed", line: lineNo, reason: alone.reason });
    return out;
  }

  /** Feeds a line to the held text; false when the line starts an object inside one of its strings. */
  private continueHeld(held: Held, body: string, startsObject: boolean, out: FileItem[]): boolean {
    const li = held.lines.length;
    const addRange = (from: number, to: number) => {
      let k = held.ranges.length;
      while (k > 0 && (held.ranges[k - 1]?.from ?? -1) >= from) k--;
      held.ranges.push({ from, to, inner: held.ranges.splice(k) });
    };
    const closed = held.tracker.feed(body, li, startsObject, addRange);
    if (startsObject && !held.tracker.claimed && closed < 0) return false;
    held.lines.push(body);
    held.chars += body.length + 1;
    if (closed >= 0) {
      this.held = null;
      const result = this.read(held.lines.join("\n"));
      if (result.ok) out.push({ kind: "record", record: result.record });
      else {
        out.push({ kind: "malformed", line: held.startLine, reason: result.reason });
        this.recover(held, out);
      }
    } else if (held.chars > MAX_HELD_CHARS || held.lines.length > MAX_HELD_LINES) {
      this.flush(out, "record does not end");
    }
    return true;
  }

  /**
   * Reads the whole-line objects of broken held text, outermost first (breadth-first, so disjoint ones all
   * get read): one that is a record is read; one that is not gives way to those nested in it. The budget keeps
   * hostile nesting linear: each level costs at most the held text, and only a few levels fit.
   */
  private recover(held: Held, out: FileItem[]): void {
    let budget = 4 * held.chars + 1024;
    let level = held.ranges;
    while (level.length > 0) {
      const next: Range[] = [];
      for (const r of level) {
        const text = held.lines.slice(r.from, r.to + 1).join("\n");
        budget -= text.length;
        if (budget < 0) return;
        const result = this.read(text);
        if (result.ok) out.push({ kind: "record", record: result.record });
        else for (const inner of r.inner) next.push(inner);
      }
      level = next;
    }
  }

  /** Reports a line that was too long to read. */
  tooLong(lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    this.flush(out, "record is cut off");
    out.push({
      kind: "malformed",
      line: lineNo,
      reason: `line longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`,
    });
    return out;
  }

  end(): FileItem[] {
    const out: FileItem[] = [];
    this.flush(out, "record is cut off at the end of the file");
    return out;
  }

  /** Gives up the held text: one malformed line, plus the records found inside it. */
  private flush(out: FileItem[], reason: string): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    out.push({ kind: "malformed", line: held.startLine, reason });
    this.recover(held, out);
  }
}

/** A line of a byte stream and the offset of its first byte (counted from `base`). */
interface Line {
  readonly text: string | { tooLong: true };
  readonly start: number;
}

/**
 * Splits a byte stream into lines (LF or CRLF) without ever holding more than MAX_LINE_BYTES of one line.
 * `base` is the offset of the stream's first byte.
 */
async function* splitLines(stream: AsyncIterable<Buffer>, base = 0): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  let offset = base;
  let lineStart = base;
  const finish = (bytes: Buffer): string => {
    const text = bytes.toString("utf8");
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  };
  for await (const chunk of stream) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      if (!skipping) {
        size += piece.length;
        if (size > MAX_LINE_BYTES) {
          skipping = true;
          parts = [];
          yield { text: { tooLong: true }, start: lineStart };
        } else parts.push(piece);
      }
      if (nl < 0) break;
      if (!skipping)
        yield {
          text: finish(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)),
          start: lineStart,
        };
      parts = [];
      size = 0;
      skipping = false;
      start = nl + 1;
      lineStart = offset + start;
    }
    offset += chunk.length;
  }
  if (!skipping && size > 0) yield { text: finish(Buffer.concat(parts)), start: lineStart };
}

/** Where a range of a file was read: see readLogRange. */
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
 */
export async function* readLogRange(
  path: string,
  from: number,
  end: number,
  aligned: boolean,
  where: RangeRead,
): AsyncGenerator<FileItem> {
  const skipFirst = !aligned && from > 0;
  const base = skipFirst ? from - 1 : from;
  const stream = createReadStream(path, { start: base });
  const assembler = new RecordAssembler();
  where.start = from;
  where.resumeAt = from;
  where.lines = 0;
  let skipping = skipFirst;
  let failed: unknown;
  let ended = true;
  try {
    for await (const line of splitLines(stream, base)) {
      if (skipping) {
        // The line that byte from - 1 ends or is in belongs to the range before.
        skipping = false;
        continue;
      }
      if (where.lines === 0) where.start = line.start;
      if (line.start >= end && !assembler.holding) {
        where.resumeAt = line.start;
        ended = false;
        break;
      }
      const lineNo = ++where.lines;
      if (typeof line.text !== "string") yield* assembler.tooLong(lineNo);
      else yield* assembler.push(line.start === 0 ? line.text.replace(/^\uFEFF/, "") : line.text, lineNo);
    }
  } catch (err) {
    failed = err;
  } finally {
    stream.destroy();
  }
  if (ended) {
    yield* assembler.end();
    where.resumeAt = Math.max(end, stream.bytesRead + base);
    if (where.lines === 0) where.start = where.resumeAt;
  }
  if (failed !== undefined)
    throw new InputError(`${path}: ${describeError(failed)} (after line ${where.lines})`);
}

/**
 * Streams the records of one file. `onBytes` reports raw (on-disk) bytes consumed, for progress. Records
 * before a read error are yielded; then an InputError says where the file broke off.
 */
export function readLogFile(path: string, onBytes?: (n: number) => void): AsyncGenerator<FileItem> {
  return readLogStream(path, createReadStream(path), onBytes);
}

/**
 * Streams the records of raw log bytes (a file, stdin, an S3 object), gzip or not; `name` is how errors name
 * the source. `onBytes` reports raw bytes consumed. Records before a read error are yielded; then an
 * InputError says where the input broke off.
 */
export async function* readLogStream(
  name: string,
  source: Readable,
  onBytes?: (n: number) => void,
): AsyncGenerator<FileItem> {
  if (onBytes) source.on("data", (chunk: Buffer) => onBytes(chunk.length));
  let sniffed: { gzip: boolean; bytes: Readable };
  try {
    sniffed = await sniffGzip(source);
  } catch (err) {
    source.destroy();
    throw new InputError(`${name}: ${describeError(err)}`);
  }
  const raw = sniffed.bytes;
  const { text, failure } = sniffed.gzip ? gunzipKeepingOutput(raw) : { text: raw, failure: () => undefined };
  let lineNo = 0;
  const assembler = new RecordAssembler();
  let failed: unknown;
  try {
    for await (const { text: line } of splitLines(text)) {
      lineNo++;
      if (typeof line !== "string") yield* assembler.tooLong(lineNo);
      else yield* assembler.push(lineNo === 1 ? line.replace(/^\uFEFF/, "") : line, lineNo);
    }
    failed = failure();
  } catch (err) {
    failed = err;
  } finally {
    // Also when the consumer stops early: no stream is left open.
    raw.destroy();
  }
  yield* assembler.end();
  if (failed !== undefined) {
    const code = (failed as { code?: string }).code;
    const detail = code?.startsWith("Z_") ? "not a valid gzip file" : describeError(failed);
    throw new InputError(`${name}: ${detail} (after line ${lineNo})`);
  }
}

/** A read error in one line: file-system codes in words, an InputError (e.g. from S3) as its message. */
function describeError(err: unknown): string {
  return err instanceof InputError ? err.message : describeFsError(err);
}

/**
 * Gunzips a stream; when the data turns bad part-way (trailing garbage, truncation) everything decompressed
 * before stays readable, and `failure()` then tells what went wrong.
 */
function gunzipKeepingOutput(raw: Readable): { text: Readable; failure: () => unknown } {
  const gunzip = createGunzip();
  const text = new PassThrough();
  let error: unknown;
  const stop = (err: unknown) => {
    error ??= err;
    raw.unpipe(gunzip);
    text.end();
  };
  raw.on("error", stop);
  gunzip.on("error", stop);
  gunzip.on("end", () => text.end());
  gunzip.on("data", (chunk: Buffer) => {
    if (!text.write(chunk)) {
      gunzip.pause();
      text.once("drain", () => gunzip.resume());
    }
  });
  raw.pipe(gunzip);
  return { text, failure: () => error };
}
