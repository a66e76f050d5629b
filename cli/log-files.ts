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
import { type InvocationRecord, readRecord, stripExportPrefix } from "../core/record-reader.js";

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

/**
 * Tracks JSON nesting depth across lines (outside strings), so a held record is parsed once, when its
 * outermost brace closes, instead of at every line.
 */
class DepthTracker {
  depth = 0;
  private inString = false;
  private escaped = false;

  /** Feeds one more line; true when the outermost value has just closed. */
  feed(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth <= 0) return true;
      }
    }
    return false;
  }
}

/**
 * Turns lines into records. JSON lines and export lines are read one by one. A line that starts a JSON object
 * but ends inside it (a pretty-printed record, or one wrapped over lines) is held and continued until its
 * outermost brace closes. Every line is read a bounded number of times: a truncated or broken record costs
 * linear time and never swallows the valid records after it.
 */
export class RecordAssembler {
  private held: { lines: string[]; startLine: number; chars: number; depth: DepthTracker } | null = null;

  push(line: string, lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    const body = stripExportPrefix(line);
    const trimmed = body.trim();
    const held = this.held;
    if (held) {
      // A line that starts a new object at the top (`{` alone, or a compact record) cannot continue a held
      // record: that one was cut off.
      if (body === "{" || trimmed.startsWith('{"')) this.giveUp(out, "record is cut off");
      else {
        held.lines.push(line);
        held.chars += line.length + 1;
        if (held.depth.feed(line)) this.close(out);
        else if (held.chars > MAX_HELD_CHARS || held.lines.length > MAX_HELD_LINES) {
          this.giveUp(out, "record does not end");
        }
        return out;
      }
    }
    if (trimmed === "") return out;
    const alone = readRecord(body);
    if (alone.ok) out.push({ kind: "record", record: alone.record });
    else if (alone.incomplete && trimmed.startsWith("{")) {
      const depth = new DepthTracker();
      depth.feed(body);
      this.held = { lines: [body], startLine: lineNo, chars: body.length, depth };
    } else out.push({ kind: "malformed", line: lineNo, reason: alone.reason });
    return out;
  }

  /** Reports a line that was too long to read. */
  tooLong(lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    this.giveUp(out, "record is cut off");
    out.push({
      kind: "malformed",
      line: lineNo,
      reason: `line longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`,
    });
    return out;
  }

  end(): FileItem[] {
    const out: FileItem[] = [];
    this.giveUp(out, "record is cut off at the end of the file");
    return out;
  }

  /** Reads the held record once its outermost brace has closed. */
  private close(out: FileItem[]): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    const result = readRecord(held.lines.join("\n"));
    if (result.ok) out.push({ kind: "record", record: result.record });
    else out.push({ kind: "malformed", line: held.startLine, reason: result.reason });
  }

  private giveUp(out: FileItem[], reason: string): void {
    if (!this.held) return;
    out.push({ kind: "malformed", line: this.held.startLine, reason });
    this.held = null;
  }
}

/** Splits a byte stream into lines (LF or CRLF) without ever holding more than MAX_LINE_BYTES of one line. */
async function* splitLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string | { tooLong: true }> {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
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
          yield { tooLong: true };
        } else parts.push(piece);
      }
      if (nl < 0) break;
      if (!skipping) yield finish(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
      parts = [];
      size = 0;
      skipping = false;
      start = nl + 1;
    }
  }
  if (!skipping && size > 0) yield finish(Buffer.concat(parts));
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
    for await (const line of splitLines(text)) {
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
