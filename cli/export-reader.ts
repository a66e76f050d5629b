/**
 * What the readers of the export formats share: blocks of bytes in, each message found read as a record
 * exactly as a line is (readRecord), malformed ones named by their place in the export.
 */
import { readRecord } from "../core/record-reader.js";
import type { ByteReader } from "./byte-reader.js";
import { BLOCK_BYTES } from "./line-reader.js";
import type { FileItem } from "./record-assembler.js";

/** `record 17 (line 210)`: the naming of a row or event of a document-shaped export (docs/scanner.md). */
export const recordAt = (n: number, line: number): string => `record ${n} (line ${line})`;

export abstract class ExportReader implements ByteReader {
  readonly items: FileItem[] = [];
  abstract readonly units: string;
  abstract readonly progress: string;
  private block: Buffer | null = null;

  /** Reads bytes, which it may keep (views of them): the caller must not write to them again. */
  abstract push(bytes: Buffer): void;
  abstract finish(lastLine?: boolean): void;

  space(): Buffer {
    this.block ??= Buffer.allocUnsafe(BLOCK_BYTES);
    return this.block;
  }

  commit(n: number): boolean {
    // The block may be kept (views of a value that goes on into the next one): the next block is a new one.
    const block = this.block;
    this.block = null;
    if (block !== null && n > 0) this.push(block.subarray(0, n));
    return true;
  }

  close(): void {}

  /** Reads one message as a record (as a line is read); `line` and `at` name its place. */
  protected readMessage(text: string, line: number, at: string): void {
    const read = readRecord(text);
    this.items.push(
      read.ok
        ? { kind: "record", record: read.record }
        : { kind: "malformed", line, at, reason: read.reason },
    );
  }

  protected malformed(line: number, at: string, reason: string): void {
    this.items.push({ kind: "malformed", line, at, reason });
  }
}

/** What a JSON value is, in a few words for an error message (keys, never values: they may hold prompts). */
export function describeJson(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return `an object with the keys ${listKeys(Object.keys(value))}`;
  return `a ${typeof value}`;
}

/** Keys for an error message: the first ten, each cut to 40 characters. */
export function listKeys(keys: readonly string[]): string {
  if (keys.length === 0) return "(none)";
  const shown = keys.slice(0, 10).map((k) => (k.length > 40 ? `${k.slice(0, 40)}...` : k));
  return shown.join(", ") + (keys.length > 10 ? `, ... (${keys.length} keys)` : "");
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
