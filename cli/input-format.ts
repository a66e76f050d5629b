/**
 * Tells what an input holds from its first bytes (after gunzip), whatever it is called: JSON lines of Bedrock
 * records (the default, decided on the first key of the first record, so it costs nothing), or one of the
 * CloudWatch export formats. Pure: bytes in, a verdict out.
 */
import { splitCsvRow } from "./csv-rows.js";
import { UnknownFormatError } from "./errors.js";

export type InputFormat =
  /** JSON lines, CloudWatch export lines, pretty-printed records: the line reader (line-reader.ts). */
  | { readonly kind: "lines" }
  /** Logs Insights console "Download results (JSON)": an array of objects keyed by field name. */
  | { readonly kind: "insights-json" }
  /** Logs Insights console CSV download: a header row naming the fields, `@message` among them. */
  | { readonly kind: "insights-csv"; readonly header: readonly string[] }
  /** `aws logs get-query-results` output. */
  | { readonly kind: "query-results" }
  /** `aws logs filter-log-events` (or `get-log-events`) output, pages concatenated or not. */
  | { readonly kind: "log-events" }
  /** CloudWatch Logs subscription envelopes as Firehose writes them, back to back or one per line. */
  | { readonly kind: "firehose" }
  /** A JSON object whose first key says neither record nor export: read whole to tell (document-probe.ts). */
  | { readonly kind: "probe" }
  /** Recognisably not a log format the scanner reads. */
  | { readonly kind: "unknown"; readonly what: string };

/** Bytes looked at, at most, to tell the format (a first key or header line longer than this: JSON lines). */
export const DETECT_BYTES = 64 * 1024;

/** What the scanner reads, for messages about an input it does not. */
export const FORMATS_READ =
  "JSON lines of Bedrock records (also CloudWatch export lines and pretty-printed records), a Logs Insights " +
  "JSON or CSV download with @message, aws logs get-query-results or filter-log-events output, or " +
  "CloudWatch Logs subscription data delivered by Firehose";

/** The error for input `name` that holds `what` (a few words, no values: they may hold prompts). */
export const notALogFormat = (name: string, what: string): UnknownFormatError =>
  new UnknownFormatError(
    `${name}: not a log format the scanner reads: it holds ${what}; it reads ${FORMATS_READ}`,
  );

/** Top-level fields of a Bedrock invocation record (shared/reference/bedrock-invocation-logs.md). */
const RECORD_KEYS = new Set([
  "schemaType",
  "schemaVersion",
  "timestamp",
  "accountId",
  "identity",
  "region",
  "inferenceRegion",
  "requestId",
  "operation",
  "modelId",
  "requestMetadata",
  "errorCode",
  "input",
  "output",
]);
/** Members of GetQueryResults' response, in any order. */
const QUERY_RESULTS_KEYS = new Set(["results", "statistics", "status", "queryLanguage", "encryptionKey"]);
/** Members of FilterLogEvents' (and GetLogEvents') response. */
const LOG_EVENTS_KEYS = new Set([
  "events",
  "searchedLogStreams",
  "nextToken",
  "nextForwardToken",
  "nextBackwardToken",
]);
/** How CloudWatch Logs starts every subscription envelope (compact JSON, `messageType` first). */
export const ENVELOPE_MARKER = '{"messageType":';
const ENVELOPE_MARKER_BYTES = Buffer.from(ENVELOPE_MARKER);

/** Bytes of a UTF-8 byte-order mark at the start of `head` (0 or 3). */
export const bomLength = (head: Uint8Array): number =>
  head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;

const isWs = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The format of an input starting with `head` (all of it when `ended`); null when more bytes are needed to
 * tell (never once `head` holds DETECT_BYTES).
 */
export function detectFormat(head: Buffer, ended: boolean): InputFormat | null {
  const complete = ended || head.length >= DETECT_BYTES;
  let i = bomLength(head);
  while (i < head.length && isWs(head[i])) i++;
  if (i >= head.length) return complete ? { kind: "lines" } : null;
  const first = head[i];
  if (first === 0x5b) return { kind: "insights-json" };
  if (first === 0x7b) return objectFormat(head, i, complete);
  return headerFormat(head, i, complete);
}

/**
 * Whether an input starting with `head` (all of it when `ended`) is read whole by one reader, never in byte
 * ranges (parallel-scan.ts): every format but JSON lines.
 */
export const readsWhole = (head: Buffer, ended: boolean): boolean =>
  (detectFormat(head, ended) ?? { kind: "lines" }).kind !== "lines";

/** An input starting with an object, by its first key. */
function objectFormat(head: Buffer, at: number, complete: boolean): InputFormat | null {
  let i = at + 1;
  while (i < head.length && isWs(head[i])) i++;
  if (i >= head.length) return complete ? { kind: "probe" } : null;
  if (head[i] !== 0x22) return { kind: "probe" };
  const close = head.indexOf(0x22, i + 1);
  if (close < 0) return complete ? { kind: "probe" } : null;
  const key = head.toString("utf8", i + 1, close);
  if (RECORD_KEYS.has(key)) return { kind: "lines" };
  if (QUERY_RESULTS_KEYS.has(key)) return { kind: "query-results" };
  if (LOG_EVENTS_KEYS.has(key)) return { kind: "log-events" };
  if (key === "messageType") {
    const start = head.subarray(at, at + ENVELOPE_MARKER_BYTES.length);
    if (start.equals(ENVELOPE_MARKER_BYTES)) return { kind: "firehose" };
    if (start.length < ENVELOPE_MARKER_BYTES.length && !complete) return null;
  }
  // A key with an escape, or any other: whatever it is, the probe reads the first value whole to tell.
  return { kind: "probe" };
}

/** An input starting with neither object nor array: a CSV header row, or lines. */
function headerFormat(head: Buffer, at: number, complete: boolean): InputFormat | null {
  const lf = head.indexOf(0x0a, at);
  if (lf < 0 && !complete) return null;
  let line = head.toString("utf8", at, lf < 0 ? head.length : lf);
  if (line.endsWith("\r")) line = line.slice(0, -1);
  // Export lines (`<ISO timestamp> {json}`) and broken records are lines.
  if (line.includes("{")) return { kind: "lines" };
  const fields = splitCsvRow(line);
  if (fields.includes("@message")) return { kind: "insights-csv", header: fields };
  if (fields.some((f) => f.startsWith("@")) && fields.every((f) => /^[^\s"]{1,128}$/.test(f))) {
    const columns = fields.slice(0, 10).join(", ") + (fields.length > 10 ? ", ..." : "");
    return { kind: "unknown", what: `a CSV header with the columns ${columns} and no @message column` };
  }
  return { kind: "lines" };
}
