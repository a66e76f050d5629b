/**
 * RFC 4180 CSV, streamed: rows split where a line break falls outside quotes (a quoted field may hold line
 * breaks), holding only the row being read, and a row's fields (`""` is a quote inside a quoted field).
 */
import { HeldBytes } from "./held-bytes.js";

export interface CsvRow {
  /** The row's text without its line break (null when it is longer than the cap). */
  readonly text: string | null;
  /** The line it starts on (from 1). */
  readonly line: number;
}

const LF = 0x0a;
const QUOTE = 0x22;

export class CsvRowSplitter {
  /** The line being read (from 1). */
  line = 1;
  private quoted = false;
  private collecting = false;
  private rowLine = 0;
  private readonly held: HeldBytes;

  constructor(private readonly maxBytes: number) {
    this.held = new HeldBytes(maxBytes);
  }

  /** Reads a chunk, which is kept (views of it): the caller must not write to it again. */
  push(chunk: Buffer, out: CsvRow[]): void {
    let start = 0;
    if (!this.collecting && chunk.length > 0) this.begin();
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (c === QUOTE) this.quoted = !this.quoted;
      else if (c === LF) {
        this.line++;
        // A row over the cap ends at the next line break even inside quotes: an unbalanced quote costs at most
        // the cap, not the rest of the file.
        if (this.quoted && this.held.size + (i - start) <= this.maxBytes) continue;
        this.quoted = false;
        this.held.add(chunk.subarray(start, i));
        this.take(out);
        start = i + 1;
        if (start < chunk.length) this.begin();
      }
    }
    if (this.collecting) this.held.add(chunk.subarray(start));
  }

  /** The end of the input: the last row, if it has no line break. */
  end(out: CsvRow[]): void {
    if (this.collecting && this.held.size > 0) this.take(out);
    this.collecting = false;
  }

  /** Whether the input ended inside a quoted field (the last row is cut off). */
  get insideQuotes(): boolean {
    return this.quoted;
  }

  private begin(): void {
    this.collecting = true;
    this.rowLine = this.line;
  }

  private take(out: CsvRow[]): void {
    this.collecting = false;
    let text = this.held.take();
    if (text?.endsWith("\r")) text = text.slice(0, -1);
    out.push({ text, line: this.rowLine });
  }
}

/** The fields of one row. Lenient where RFC 4180 is silent: text after a closing quote is kept. */
export function splitCsvRow(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let value: string;
    if (text.charCodeAt(i) === QUOTE) {
      const parts: string[] = [];
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          parts.push(text.slice(j));
          i = text.length;
          break;
        }
        parts.push(text.slice(j, q));
        if (text.charCodeAt(q + 1) === QUOTE) {
          parts.push('"');
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = parts.join("");
    } else value = "";
    const comma = text.indexOf(",", i);
    if (comma < 0) {
      fields.push(value + text.slice(i));
      return fields;
    }
    fields.push(value + text.slice(i, comma));
    i = comma + 1;
  }
}
