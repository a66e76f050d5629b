/**
 * Reads a document-shaped JSON export (a Logs Insights JSON download, get-query-results or filter-log-events
 * output) an element at a time: the rows or events of its array, each held alone (up to MAX_LINE_BYTES), its
 * message read as a record. The first element says whether the document is of the shape at all.
 */
import { ExportReader, recordAt } from "./export-reader.js";
import { notALogFormat } from "./input-format.js";
import { JsonElementSplitter, type SplitEvent } from "./json-elements.js";
import { MAX_LINE_BYTES } from "./record-assembler.js";

/** One document shape: where its rows are and which of their fields is the record. */
export interface JsonExportShape {
  /** The top-level key of the array of rows (null: the document is the array). */
  readonly key: string | null;
  /** A row's message, or why it has none. */
  message(row: unknown): { readonly text: string } | { readonly missing: string };
  /** The document, from a first row without a message: what the error says it holds. */
  describe(row: unknown): string;
}

const LIMIT = `longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`;

export class JsonExportReader extends ExportReader {
  readonly units = "records";
  private readonly splitter: JsonElementSplitter;
  private readonly events: SplitEvent[] = [];
  private rows = 0;
  private lastLine = 0;
  /** A row with a message was read: rows without one are malformed, not a sign of another shape. */
  private known = false;

  constructor(
    private readonly name: string,
    private readonly shape: JsonExportShape,
  ) {
    super();
    this.splitter = new JsonElementSplitter(shape.key, MAX_LINE_BYTES);
  }

  get progress(): string {
    return this.rows === 0 ? `line ${this.splitter.line}` : recordAt(this.rows, this.lastLine);
  }

  push(bytes: Buffer): void {
    this.splitter.push(bytes, this.events);
    this.take();
  }

  finish(lastLine = true): void {
    // Broken off: the error says where; the row it broke inside is not counted twice.
    if (lastLine) this.splitter.end(this.events);
    this.take();
  }

  private take(): void {
    for (const e of this.events.splice(0)) {
      if (e.kind === "stray") {
        this.malformed(e.line, `line ${e.line}`, "text outside the export's JSON document");
        continue;
      }
      const at = recordAt(++this.rows, e.line);
      this.lastLine = e.line;
      if (e.kind === "cut") this.malformed(e.line, at, "record is cut off at the end of the file");
      else if (e.text === null) this.malformed(e.line, at, `record ${LIMIT}`);
      else this.row(e.text, e.line, at);
    }
  }

  private row(text: string, line: number, at: string): void {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the text, which may hold a prompt: not repeated.
      this.malformed(line, at, "not valid JSON");
      return;
    }
    const message = this.shape.message(row);
    if ("text" in message) {
      this.known = true;
      this.readMessage(message.text, line, at);
    } else if (!this.known) throw notALogFormat(this.name, this.shape.describe(row));
    else this.malformed(line, at, message.missing);
  }
}
