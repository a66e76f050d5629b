/**
 * Splits streamed JSON text into the elements of one array in it, holding only the element being read (the
 * document-shaped exports: a Logs Insights JSON download, `aws logs get-query-results` and `filter-log-events`
 * output). The array is a top-level array (`key` null) or the one under a top-level object's `key`; top-level
 * documents may follow one another (the aws CLI concatenates pages). Everything else is skipped unread.
 * Bracket counting that knows strings, one pass, a byte at a time: linear in the input, whatever it holds.
 */
import { HeldBytes } from "./held-bytes.js";

export type SplitEvent =
  /** An element's text (null when it is longer than the cap) and the line it starts on. */
  | { readonly kind: "element"; readonly text: string | null; readonly line: number }
  /** An element the input ended inside. */
  | { readonly kind: "cut"; readonly line: number }
  /** Text outside any document of this shape, from this line (once per run of it). */
  | { readonly kind: "stray"; readonly line: number };

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Keys longer than this are not the ones asked for: not held whole. */
const MAX_KEY_CHARS = 256;

export class JsonElementSplitter {
  /** The line being read (from 1). */
  line = 1;
  private depth = 0;
  /** Containers open at depths 1 and 2 (OPEN_OBJECT or OPEN_ARRAY). */
  private outer = 0;
  private inner = 0;
  private inString = false;
  private escaped = false;
  /** At depth 1 of an object: the next string is a key. */
  private expectKey = false;
  private capturingKey = false;
  private keyText = "";
  /** The last key read at depth 1. */
  private currentKey: string | null = null;
  /** Directly inside the array whose elements are wanted. */
  private inTarget = false;
  private collecting = false;
  private elementLine = 0;
  private stray = false;
  private readonly held: HeldBytes;
  private readonly opener: number;

  constructor(
    private readonly key: string | null,
    maxBytes: number,
  ) {
    this.held = new HeldBytes(maxBytes);
    this.opener = key === null ? OPEN_ARRAY : OPEN_OBJECT;
  }

  /** Reads a chunk, which is kept (views of it): the caller must not write to it again. */
  push(chunk: Buffer, out: SplitEvent[]): void {
    let start = this.collecting ? 0 : -1;
    let keyStart = this.capturingKey ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        // A raw line break inside a string is tolerated (as by the record reader): it still counts as a line.
        if (c === LF) this.line++;
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.capturingKey) {
            this.addKeyText(chunk, keyStart, i);
            this.capturingKey = false;
            this.expectKey = false;
            this.currentKey = this.keyText;
          }
        }
        continue;
      }
      if (c === LF) {
        this.line++;
        continue;
      }
      if (c === 0x20 || c === 0x0d || c === 0x09) continue;
      if (this.depth === 0) {
        if (c === this.opener) this.stray = false;
        else if (!this.stray) {
          this.stray = true;
          out.push({ kind: "stray", line: this.line });
        }
      }
      if (this.inTarget && !this.collecting && c !== COMMA && c !== CLOSE_ARRAY) {
        this.collecting = true;
        this.elementLine = this.line;
        start = i;
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.outer === OPEN_OBJECT && this.expectKey) {
            this.capturingKey = true;
            this.keyText = "";
            keyStart = i + 1;
          }
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          this.depth++;
          if (this.depth === 1) {
            this.outer = c;
            this.expectKey = c === OPEN_OBJECT;
            this.currentKey = null;
          } else if (this.depth === 2) this.inner = c;
          this.inTarget = this.isTarget();
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          if (this.inTarget && this.collecting) this.endElement(chunk, start, i, out);
          if (this.depth > 0) this.depth--;
          this.inTarget = this.isTarget();
          break;
        case COMMA:
          if (this.inTarget && this.collecting) this.endElement(chunk, start, i, out);
          if (this.depth === 1 && this.outer === OPEN_OBJECT) this.expectKey = true;
          break;
      }
    }
    if (this.collecting) this.held.add(chunk.subarray(start));
    if (this.capturingKey) this.addKeyText(chunk, keyStart, chunk.length);
  }

  /** The end of the input. */
  end(out: SplitEvent[]): void {
    if (!this.collecting) return;
    this.collecting = false;
    this.held.take();
    out.push({ kind: "cut", line: this.elementLine });
  }

  private isTarget(): boolean {
    return this.key === null
      ? this.depth === 1 && this.outer === OPEN_ARRAY
      : this.depth === 2 &&
          this.outer === OPEN_OBJECT &&
          this.inner === OPEN_ARRAY &&
          this.currentKey === this.key;
  }

  private endElement(chunk: Buffer, start: number, end: number, out: SplitEvent[]): void {
    this.held.add(chunk.subarray(start, end));
    this.collecting = false;
    out.push({ kind: "element", text: this.held.take(), line: this.elementLine });
  }

  private addKeyText(chunk: Buffer, from: number, to: number): void {
    if (this.keyText.length <= MAX_KEY_CHARS) this.keyText += chunk.toString("utf8", from, to);
  }
}
