/**
 * The Logs Insights console's CSV download: a header row naming the fields (`@timestamp,@message,...`, any
 * order), then one row per result, RFC 4180 quoted (the `@message` JSON has its quotes doubled and may span
 * lines). Rows are read one at a time; the record is the `@message` column.
 */
import { type CsvRow, CsvRowSplitter, splitCsvRow } from "./csv-rows.js";
import { ExportReader, recordAt } from "./export-reader.js";
import { MAX_LINE_BYTES } from "./record-assembler.js";

export class InsightsCsvReader extends ExportReader {
  readonly units = "records";
  private readonly splitter = new CsvRowSplitter(MAX_LINE_BYTES);
  private readonly rows: CsvRow[] = [];
  private headerRead = false;
  private records = 0;
  private lastLine = 0;
  private readonly messageColumn: number;

  /** `header`: the fields of the header row, as detected (input-format.ts). */
  constructor(header: readonly string[]) {
    super();
    this.messageColumn = header.indexOf("@message");
  }

  get progress(): string {
    return this.records === 0 ? `line ${this.splitter.line}` : recordAt(this.records, this.lastLine);
  }

  push(bytes: Buffer): void {
    this.splitter.push(bytes, this.rows);
    this.take(false);
  }

  finish(lastLine = true): void {
    if (!lastLine) return;
    const cut = this.splitter.insideQuotes;
    this.splitter.end(this.rows);
    this.take(cut);
  }

  /** Reads the rows split so far; `cutLast`: the input ended inside the last one's quotes. */
  private take(cutLast: boolean): void {
    const rows = this.rows.splice(0);
    for (const [k, row] of rows.entries()) {
      if (row.text === "") continue;
      if (!this.headerRead) {
        this.headerRead = true;
        continue;
      }
      const at = recordAt(++this.records, row.line);
      this.lastLine = row.line;
      if (cutLast && k === rows.length - 1)
        this.malformed(row.line, at, "record is cut off at the end of the file");
      else if (row.text === null)
        this.malformed(row.line, at, `record longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`);
      else {
        const message = splitCsvRow(row.text)[this.messageColumn];
        if (message === undefined) this.malformed(row.line, at, "row has no @message column");
        else this.readMessage(message, row.line, at);
      }
    }
  }
}
