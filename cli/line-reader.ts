/**
 * Turns log bytes into records, a region of whole lines at a time. The bytes are read straight into the
 * memory of a WebAssembly module (wasm/record-scan.ts), which reads every line that is a complete one-line
 * record: the JSON-lines case, at memory speed. Every other line (pretty-printed records, export prefixes,
 * broken text, a key with an escape, invalid UTF-8) and every line while a multi-line record is held goes to
 * the RecordAssembler and the reference reader (core/record-reader.ts). The fast path reads a line only when
 * it is sure, and then exactly as the reference would: the items are those of the reference, line by line.
 */
import { isUtf8 } from "node:buffer";
import { decodeEscapes, type Fields, recordFrom } from "../core/record-reader.js";
import type { ByteReader } from "./byte-reader.js";
import { genericArray } from "./generic-array.js";
import { type FileItem, MAX_LINE_BYTES, RecordAssembler } from "./record-assembler.js";
import { RECORD_SCAN_WASM } from "./record-scan-wasm.js";

/** Result slots of one line, as written by wasm/record-scan.ts (SLOT_*). */
export const SLOTS = 24;
export const SLOT = {
  status: 0,
  lineStart: 1,
  lineEnd: 2,
  timestamp: 3,
  accountId: 5,
  requestId: 7,
  identityArn: 9,
  modelId: 11,
  operation: 13,
  errorCode: 15,
  promptTokens: 17,
  completionTokens: 18,
  cacheReadTokens: 19,
  cacheWriteTokens: 20,
  requestSize: 21,
  nonAscii: 22,
} as const;
export const OK = 0;
const BLANK = 2;

/** Bytes read into the module per call. */
export const BLOCK_BYTES = 1 << 18;

/** The little of the WebAssembly API used here (the project's TypeScript libs have no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface ScanExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly MAX_LINES: { readonly value: number };
  inputOffset(): number;
  resultsOffset(): number;
  reserve(bytes: number): void;
  scan(from: number, length: number): number;
}

let compiled: object | undefined;

/** One instance of the module: its input area and its results, renewed when its memory grows. */
export class RecordScan {
  private readonly wasm: ScanExports;
  private readonly inputAt: number;
  private readonly resultsAt: number;
  readonly maxLines: number;
  input!: Buffer;
  results!: Float64Array;
  private memoryBuffer: ArrayBuffer | null = null;

  constructor() {
    compiled ??= new Wasm.Module(Buffer.from(RECORD_SCAN_WASM, "base64"));
    const instance = new Wasm.Instance(compiled, {
      env: {
        abort: () => {
          throw new Error("record-scan: abort");
        },
      },
    });
    this.wasm = instance.exports as unknown as ScanExports;
    this.inputAt = this.wasm.inputOffset();
    this.resultsAt = this.wasm.resultsOffset();
    this.maxLines = this.wasm.MAX_LINES.value;
    this.reserve(BLOCK_BYTES);
  }

  /** Makes room for `bytes` of input; the input's contents are kept. */
  reserve(bytes: number): void {
    this.wasm.reserve(bytes);
    const buffer = this.wasm.memory.buffer;
    if (buffer === this.memoryBuffer) return;
    this.memoryBuffer = buffer;
    this.input = Buffer.from(buffer, this.inputAt, buffer.byteLength - this.inputAt - 64);
    this.results = new Float64Array(buffer, this.resultsAt, this.maxLines * SLOTS);
  }

  scan(from: number, length: number): number {
    return this.wasm.scan(from, length);
  }
}

/**
 * Instances not in use, kept for the next reader: a new one (and its memory) costs more than reading a small
 * file, and scans of S3's layout read thousands of them. Bounded in number and in memory kept.
 */
const idleScans: RecordScan[] = [];
const MAX_IDLE_SCANS = 8;
const MAX_IDLE_SCAN_BYTES = 4 * 1024 * 1024;

/** Where to read: see readRangeBatches in read-range.ts. */
export interface LineReaderOptions {
  /** Offset of the first byte that will be read. */
  readonly base: number;
  /** Skip the first line (it belongs to the range before). */
  readonly skipFirstLine: boolean;
  /** Stop before the first line that starts at or after this offset while no multi-line record is held. */
  readonly stopAt: number;
}

/**
 * Feeds bytes in blocks: `space()` is where the next bytes go, `commit(n)` reads the lines they complete,
 * `finish()` the end. Items are collected in `items` (take them after each call).
 */
export class LineReader implements ByteReader {
  readonly items = genericArray<FileItem>();
  /** Lines read (numbered from 1). */
  lines = 0;
  /** Offset of the first line read, -1 before it. */
  firstLineStart = -1;
  /** Offset of the line reading stopped before, -1 while it has not. */
  stoppedAt = -1;
  /** Lines read by the fast path (the rest by the reference). */
  fastLines = 0;
  private readonly scanner = idleScans.pop() ?? new RecordScan();
  private closed = false;
  private readonly assembler = new RecordAssembler();
  /** Bytes at the start of the input that are an unfinished line. */
  private carry = 0;
  /** Offset of input byte 0. */
  private origin: number;
  /** Inside a line longer than MAX_LINE_BYTES: its bytes are dropped up to its end. */
  private skipping = false;
  private skipFirst: boolean;
  private readonly stopAt: number;

  constructor(options: LineReaderOptions) {
    this.origin = options.base;
    this.skipFirst = options.skipFirstLine;
    this.stopAt = options.stopAt;
  }

  /** Where reading got to, for an error that broke it off (see ByteReader). */
  get progress(): string {
    return `line ${this.lines}`;
  }

  get units(): string {
    return "lines";
  }

  /** Gives the module instance back for the next reader: call once done (items stay readable). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (idleScans.length < MAX_IDLE_SCANS && this.scanner.input.length <= MAX_IDLE_SCAN_BYTES)
      idleScans.push(this.scanner);
  }

  /** Where the next bytes go (at least BLOCK_BYTES). */
  space(): Buffer {
    this.scanner.reserve(this.carry + BLOCK_BYTES);
    return this.scanner.input.subarray(this.carry, this.carry + BLOCK_BYTES);
  }

  /** Reads the lines completed by `n` bytes written to space(); false once reading has stopped. */
  commit(n: number): boolean {
    if (this.stoppedAt >= 0) return false;
    const input = this.scanner.input;
    const length = this.carry + n;
    let from = 0;
    if (this.skipping) {
      const lf = input.subarray(0, length).indexOf(0x0a, this.carry);
      if (lf < 0) {
        this.origin += length;
        this.carry = 0;
        return true;
      }
      this.skipping = false;
      from = lf + 1;
    }
    const last = input.lastIndexOf(0x0a, length - 1);
    if (last < from) {
      this.keep(from, length);
      if (this.carry > MAX_LINE_BYTES) {
        // Reported now, without holding the line: the rest of it is dropped as it comes.
        if (!this.startLine(this.origin)) return false;
        this.items.push(...this.assembler.tooLong(this.lines));
        this.origin += this.carry;
        this.carry = 0;
        this.skipping = true;
      }
      return true;
    }
    if (!this.region(from, last + 1)) return false;
    this.keep(last + 1, length);
    return true;
  }

  /**
   * The end of the input: the last line if it has no LF (unless `lastLine` is false: the input broke off
   * inside it), then what the assembler holds.
   */
  finish(lastLine = true): void {
    if (this.stoppedAt >= 0) return;
    if (lastLine && !this.skipping && this.carry > 0 && !this.region(0, this.carry)) return;
    this.carry = 0;
    this.items.push(...this.assembler.end());
  }

  /** Moves input [from, to) to the front: the unfinished line. */
  private keep(from: number, to: number): void {
    if (from > 0) this.scanner.input.copyWithin(0, from, to);
    this.origin += from;
    this.carry = to - from;
  }

  /** Counts a line starting at `offset`; false (and stopped) when reading stops before it. */
  private startLine(offset: number): boolean {
    if (this.lines === 0) this.firstLineStart = offset;
    if (offset >= this.stopAt && !this.assembler.holding) {
      this.stoppedAt = offset;
      return false;
    }
    this.lines++;
    return true;
  }

  /** Reads the lines of input [from, to): each ends at an LF or at `to`. */
  private region(from: number, to: number): boolean {
    const scanner = this.scanner;
    // The fast path counts code points as UTF-8 sequences: a line that is not UTF-8 is read by the reference.
    // The module says which lines are ASCII (UTF-8 already); for the others the whole region is checked, once
    // (one native call costs less than one per line), and only where it is not UTF-8, each line on its own.
    let regionUtf8: boolean | undefined;
    const isUtf8Line = (start: number, end: number): boolean => {
      regionUtf8 ??= isUtf8(scanner.input.subarray(from, to));
      return regionUtf8 || isUtf8(scanner.input.subarray(start, end));
    };
    let at = from;
    while (at < to) {
      const n = scanner.scan(at, to);
      if (n === 0) break;
      const res = scanner.results;
      for (let i = 0; i < n; i++) {
        const o = i * SLOTS;
        const start = res[o + SLOT.lineStart] as number;
        const end = res[o + SLOT.lineEnd] as number;
        at = end + 1;
        if (this.skipFirst) {
          this.skipFirst = false;
          continue;
        }
        const offset = this.origin + start;
        if (!this.startLine(offset)) return false;
        if (end - start > MAX_LINE_BYTES) {
          this.items.push(...this.assembler.tooLong(this.lines));
          continue;
        }
        const status = res[o + SLOT.status];
        if (!this.assembler.holding) {
          if (status === BLANK) continue;
          const ascii = res[o + SLOT.nonAscii] === 0;
          if (status === OK && (ascii || isUtf8Line(start, end)) && this.fast(res, o)) continue;
        }
        let text = scanner.input.toString("utf8", start, end);
        if (text.endsWith("\r")) text = text.slice(0, -1);
        if (offset === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        this.items.push(...this.assembler.push(text, this.lines));
      }
    }
    return true;
  }

  /** A line the module read: its record, or false when the reference must say why it is not one. */
  private fast(res: Float64Array, o: number): boolean {
    const input = this.scanner.input;
    const str = (slot: number): string | null => {
      const a = res[o + slot] as number;
      if (a < 0) return null;
      const raw = input.toString("utf8", a, res[o + slot + 1]);
      return raw.includes("\\") ? decodeEscapes(raw) : raw;
    };
    const count = (slot: number): number | null => {
      const v = res[o + slot] as number;
      return v < 0 ? null : v;
    };
    const fields: Fields = {
      timestamp: str(SLOT.timestamp),
      accountId: str(SLOT.accountId),
      requestId: str(SLOT.requestId),
      identityArn: str(SLOT.identityArn),
      modelId: str(SLOT.modelId),
      operation: str(SLOT.operation),
      errorCode: str(SLOT.errorCode),
      promptTokens: count(SLOT.promptTokens),
      completionTokens: count(SLOT.completionTokens),
      cacheReadTokens: count(SLOT.cacheReadTokens),
      cacheWriteTokens: count(SLOT.cacheWriteTokens),
      requestSize: count(SLOT.requestSize),
    };
    const read = recordFrom(fields);
    if (!read.ok) return false;
    this.items.push({ kind: "record", record: read.record });
    this.fastLines++;
    return true;
  }
}
