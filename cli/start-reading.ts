/**
 * Picks the reader for an input by its first bytes (input-format.ts): the line reader that already holds them
 * (JSON lines: nothing else happens, nothing is copied), or the reader of the export format they start.
 */
import type { ByteReader } from "./byte-reader.js";
import { DocumentProbe } from "./document-probe.js";
import { FirehoseReader } from "./firehose-export.js";
import { bomLength, detectFormat, type InputFormat, notALogFormat } from "./input-format.js";
import { InsightsCsvReader } from "./insights-csv-export.js";
import { INSIGHTS_JSON } from "./insights-json-export.js";
import { JsonExportReader } from "./json-export-reader.js";
import type { LineReader } from "./line-reader.js";
import { LOG_EVENTS } from "./log-events-export.js";
import { QUERY_RESULTS } from "./query-results-export.js";

/**
 * The reader for input `name`, whose first bytes `head` were read into `lines.space()` (all of the input when
 * `ended`): `lines` with them committed, or another reader that has read them (then `lines` is closed). Throws
 * an UnknownFormatError for input that is recognisably no format the scanner reads.
 */
export function startReading(name: string, lines: LineReader, head: Buffer, ended: boolean): ByteReader {
  const format = detectFormat(head, ended) ?? { kind: "lines" };
  if (format.kind === "lines") {
    lines.commit(head.length);
    return lines;
  }
  if (format.kind === "unknown") throw notALogFormat(name, format.what);
  const reader = exportReader(name, format);
  // A copy: the head is the line reader's memory.
  reader.push(Buffer.from(head.subarray(bomLength(head))));
  lines.close();
  return reader;
}

/** A new reader of an export format. */
function exportReader(name: string, format: Exclude<InputFormat, { kind: "lines" | "unknown" }>) {
  switch (format.kind) {
    case "probe":
      return new DocumentProbe(name);
    case "firehose":
      return new FirehoseReader();
    case "insights-csv":
      return new InsightsCsvReader(format.header);
    case "insights-json":
      return new JsonExportReader(name, INSIGHTS_JSON);
    case "query-results":
      return new JsonExportReader(name, QUERY_RESULTS);
    case "log-events":
      return new JsonExportReader(name, LOG_EVENTS);
  }
}
