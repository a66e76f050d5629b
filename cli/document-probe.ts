/**
 * An input that starts with a JSON object whose first key is neither a record's nor an export's. It is held
 * (up to MAX_LINE_BYTES) until its first value closes: a single JSON document that is no record is one error
 * for the input (a shape the scanner does not read); anything else (a record, broken text, more values after
 * it) is handed, bytes held and all, to the line reader, as any JSON lines are.
 */
import { readRecord } from "../core/record-reader.js";
import type { ByteReader } from "./byte-reader.js";
import { describeJson } from "./export-reader.js";
import { notALogFormat } from "./input-format.js";
import { BLOCK_BYTES, LineReader } from "./line-reader.js";
import { type FileItem, MAX_LINE_BYTES } from "./record-assembler.js";

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

export class DocumentProbe implements ByteReader {
  /** Once the input is known to be JSON lines: the reader it goes to. */
  private lines: LineReader | null = null;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private block: Buffer | null = null;
  private readonly none: FileItem[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The first value closed. */
  private closed = false;

  constructor(private readonly name: string) {}

  get items(): FileItem[] {
    return this.lines?.items ?? this.none;
  }

  get progress(): string {
    return this.lines?.progress ?? "line 1";
  }

  get units(): string {
    return "lines";
  }

  space(): Buffer {
    if (this.lines !== null) return this.lines.space();
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    return this.block;
  }

  commit(n: number): boolean {
    if (this.lines !== null) return this.lines.commit(n);
    if (this.block !== null) this.push(this.block.subarray(0, n));
    this.block = null;
    return true;
  }

  /** Reads bytes, which it may keep: the caller must not write to them again. */
  push(bytes: Buffer): void {
    if (this.lines !== null) {
      feed(this.lines, bytes);
      return;
    }
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    if (this.scan(bytes) || this.heldBytes > MAX_LINE_BYTES) this.toLines();
  }

  finish(lastLine = true): void {
    if (this.lines === null && this.closed && lastLine) {
      const text = Buffer.concat(this.held).toString("utf8");
      if (!readRecord(text).ok) {
        let value: unknown;
        let json = true;
        try {
          value = JSON.parse(text);
        } catch {
          json = false;
        }
        if (json) throw notALogFormat(this.name, `a JSON document: ${describeJson(value)}`);
      }
    }
    this.toLines().finish(lastLine);
  }

  close(): void {
    this.lines?.close();
  }

  /** Follows the first value; true once something other than whitespace follows it (more than one value). */
  private scan(bytes: Buffer): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if (this.closed) {
        if (!isWs(c)) return true;
      } else if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth <= 0) this.closed = true;
      }
    }
    return false;
  }

  private toLines(): LineReader {
    if (this.lines !== null) return this.lines;
    const lines = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
    this.lines = lines;
    for (const part of this.held) feed(lines, part);
    this.held = [];
    return lines;
  }
}

/** Copies bytes into a line reader a block at a time. */
function feed(lines: LineReader, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; ) {
    const space = lines.space();
    const n = bytes.copy(space, 0, at, Math.min(bytes.length, at + space.length));
    at += n;
    lines.commit(n);
  }
}
