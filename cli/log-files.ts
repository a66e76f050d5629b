/**
 * Finds and streams Bedrock invocation log files: JSON lines, gzip (by magic bytes, whatever the name),
 * CloudWatch export lines (`<ISO timestamp> <json>`) and pretty-printed multi-line records. One line in
 * memory at a time (a record that spans lines is held until it closes), so memory stays flat.
 */
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { type InvocationRecord, readRecord, stripExportPrefix } from "../core/record-reader.js";

/** A user-facing input problem (missing path, unreadable file): reported in one line, exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

/** Files CloudWatch Logs writes next to an export to test bucket permissions: not log data. */
const NOT_LOG_FILES = new Set(["aws-logs-write-test"]);

export interface LogFile {
  readonly path: string;
  readonly size: number;
}

/** Expands files and directories (recursively, sorted, dotfiles skipped) into the files to read. */
export async function findLogFiles(paths: readonly string[]): Promise<LogFile[]> {
  const out: LogFile[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (err) {
      throw new InputError(`${path}: ${describeFsError(err)}`);
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(path)).sort();
      } catch (err) {
        throw new InputError(`${path}: ${describeFsError(err)}`);
      }
      for (const name of entries) {
        if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
        await visit(join(path, name), false);
      }
    } else if (info.isFile()) {
      out.push({ path, size: info.size });
    } else if (explicit) {
      throw new InputError(`${path}: not a file or directory`);
    }
  };
  for (const p of paths) await visit(p, true);
  return out;
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
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** What reading a file yields: a record, or a malformed line with its 1-based line number. */
export type FileItem =
  | { readonly kind: "record"; readonly record: InvocationRecord }
  | { readonly kind: "malformed"; readonly line: number; readonly reason: string };

/** A multi-line record is given up on past this size (a record is at most a few hundred KB). */
const MAX_PENDING_CHARS = 16 * 1024 * 1024;

/**
 * Turns lines into records. A line that starts a JSON object but ends inside it (a pretty-printed record)
 * is held and continued with the next lines until the object closes. If the held text turns out malformed,
 * only its first line is reported and the lines after it are read again on their own: a truncated line
 * never swallows the valid records that follow it.
 */
export class RecordAssembler {
  private pending: { lines: string[]; startLine: number; chars: number } | null = null;

  push(line: string, lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    this.feed(line, lineNo, out);
    return out;
  }

  end(): FileItem[] {
    if (!this.pending) return [];
    const { startLine, lines } = this.pending;
    this.pending = null;
    const out: FileItem[] = [{ kind: "malformed", line: startLine, reason: "file ends inside a record" }];
    lines.slice(1).forEach((l, i) => {
      this.feed(l, startLine + 1 + i, out);
    });
    if (this.pending) out.push(...this.end());
    return out;
  }

  private feed(line: string, lineNo: number, out: FileItem[]): void {
    const body = stripExportPrefix(line);
    const alone = body.trim() === "" ? null : readRecord(body);
    if (this.pending) {
      if (alone?.ok) {
        // A complete record on its own line: whatever was held before it was cut off.
        this.abandonPending(out, "record is cut off");
        out.push({ kind: "record", record: alone.record });
        return;
      }
      const p = this.pending;
      p.lines.push(line);
      p.chars += line.length + 1;
      // A pretty-printed record can only close on a line ending with "}": try only those.
      if (!line.trimEnd().endsWith("}") && p.chars <= MAX_PENDING_CHARS) return;
      const held = readRecord(p.lines.join("\n"));
      if (held.ok) {
        this.pending = null;
        out.push({ kind: "record", record: held.record });
      } else if (!held.incomplete) this.abandonPending(out, held.reason);
      else if (p.chars > MAX_PENDING_CHARS) this.abandonPending(out, "record does not end");
      return;
    }
    if (alone === null) return;
    if (alone.ok) out.push({ kind: "record", record: alone.record });
    else if (alone.incomplete && body.trimStart().startsWith("{")) {
      this.pending = { lines: [body], startLine: lineNo, chars: body.length };
    } else out.push({ kind: "malformed", line: lineNo, reason: alone.reason });
  }

  /** Reports the held record's first line and reads the lines after it again, one by one. */
  private abandonPending(out: FileItem[], reason: string): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    out.push({ kind: "malformed", line: p.startLine, reason });
    p.lines.slice(1).forEach((l, i) => {
      this.feed(l, p.startLine + 1 + i, out);
    });
  }
}

/**
 * Streams the records of one file. `onBytes` reports raw (on-disk) bytes consumed, for progress.
 * Throws InputError when the file cannot be opened or decompressed.
 */
export async function* readLogFile(path: string, onBytes?: (n: number) => void): AsyncGenerator<FileItem> {
  let gzip: boolean;
  try {
    gzip = await isGzip(path);
  } catch (err) {
    throw new InputError(`${path}: ${describeFsError(err)}`);
  }
  const raw = createReadStream(path);
  const counted = raw.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    }),
  );
  raw.on("error", (err) => counted.destroy(err));
  const text = gzip ? counted.pipe(createGunzip()) : counted;
  if (gzip) counted.on("error", (err) => text.destroy(err));
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });

  let lineNo = 0;
  const assembler = new RecordAssembler();
  try {
    for await (const line of lines) {
      lineNo++;
      yield* assembler.push(line, lineNo);
    }
  } catch (err) {
    const detail = (err as { code?: string }).code?.startsWith("Z_")
      ? "not a valid gzip file"
      : describeFsError(err);
    throw new InputError(`${path}: ${detail} (after line ${lineNo})`);
  }
  yield* assembler.end();
}
