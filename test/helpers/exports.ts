/**
 * The same records written in each CloudWatch export format the scanner reads (issue 19), as the console, the
 * aws CLI and Firehose write them: for tests that compare a scan of an export with a scan of the JSON lines.
 */
import { gzipSync } from "node:zlib";

/** Logs Insights' own timestamp format (`2026-11-19 10:00:00.000`), from the record if it has a readable one. */
function insightsTime(message: string, i: number): string {
  const m = /"timestamp"\s*:\s*"([^"]+)"/.exec(message);
  const ms = m ? Date.parse(m[1] as string) : Number.NaN;
  const at = Number.isNaN(ms) ? Date.UTC(2026, 10, 19) + i : ms;
  return new Date(at).toISOString().replace("T", " ").replace("Z", "");
}

export interface TextOptions {
  /** A UTF-8 byte-order mark first. */
  bom?: boolean;
  /** CRLF line ends. */
  crlf?: boolean;
}

const finish = (text: string, o: TextOptions) =>
  (o.bom ? "\uFEFF" : "") + (o.crlf ? text.replace(/\r?\n/g, "\r\n") : text);

/** The console's "Download results (JSON)": pretty-printed, `@message` among other fields. */
export function insightsJson(messages: readonly string[], o: TextOptions = {}): string {
  const rows = messages.map((m, i) => ({
    "@timestamp": insightsTime(m, i),
    "@message": m,
    "@logStream": "aws/bedrock/modelinvocations",
    "@log": "123456789012:/aws/bedrock/modelinvocations",
  }));
  return finish(JSON.stringify(rows, null, 4), o);
}

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The console's CSV download: a header, RFC 4180 quoting; `columns` in any order, `@message` among them. */
export function insightsCsv(
  messages: readonly string[],
  o: TextOptions & { columns?: readonly string[] } = {},
): string {
  const columns = o.columns ?? ["@timestamp", "@message"];
  const value = (column: string, m: string, i: number) =>
    column === "@message" ? m : column === "@timestamp" ? insightsTime(m, i) : `${column}-${i}, "x"`;
  const rows = [columns.map(csvField).join(",")];
  for (const [i, m] of messages.entries()) rows.push(columns.map((c) => csvField(value(c, m, i))).join(","));
  // The console ends rows with CRLF; the choice here is the caller's (crlf).
  return finish(`${rows.join("\n")}\n`, o);
}

/** `aws logs get-query-results` output, as the aws CLI prints it (4-space indent). */
export function queryResults(messages: readonly string[], o: TextOptions = {}): string {
  const results = messages.map((m, i) => [
    { field: "@timestamp", value: insightsTime(m, i) },
    { field: "@message", value: m },
    { field: "@ptr", value: `CmAKJQohMTIzNDU2Nzg5MDEy${i}` },
  ]);
  const doc = {
    results,
    statistics: { recordsMatched: messages.length, recordsScanned: messages.length, bytesScanned: 1234 },
    status: "Complete",
  };
  return finish(JSON.stringify(doc, null, 4), o);
}

/** `aws logs filter-log-events` output: `pages` pages of events, concatenated as the aws CLI may print them. */
export function logEvents(messages: readonly string[], o: TextOptions & { pages?: number } = {}): string {
  const pages = o.pages ?? 1;
  const per = Math.ceil(messages.length / pages) || 1;
  const docs: string[] = [];
  for (let p = 0; p < pages; p++) {
    const events = messages.slice(p * per, (p + 1) * per).map((m, k) => ({
      logStreamName: "aws/bedrock/modelinvocations",
      timestamp: Date.UTC(2026, 10, 19) + p * per + k,
      message: m,
      ingestionTime: Date.UTC(2026, 10, 19) + p * per + k + 500,
      eventId: `3796${p}${k}`.padEnd(56, "0"),
    }));
    const page: Record<string, unknown> = {
      events,
      searchedLogStreams: [{ logStreamName: "aws/bedrock/modelinvocations", searchedCompletely: true }],
    };
    if (p < pages - 1) page.nextToken = `token-${p}`;
    docs.push(JSON.stringify(page, null, 4));
  }
  return finish(`${docs.join("\n")}\n`, o);
}

/** A health-check envelope, as CloudWatch Logs sends first to a new destination. */
export const CONTROL_ENVELOPE = JSON.stringify({
  messageType: "CONTROL_MESSAGE",
  owner: "CloudwatchLogs",
  logGroup: "",
  logStream: "",
  subscriptionFilters: [],
  logEvents: [
    {
      id: "",
      timestamp: 1700000000000,
      message: "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
    },
  ],
});

/** One DATA_MESSAGE envelope holding `messages`, as CloudWatch Logs writes it (compact, `messageType` first). */
export function dataEnvelope(messages: readonly string[], first = 0): string {
  return JSON.stringify({
    messageType: "DATA_MESSAGE",
    owner: "123456789012",
    logGroup: "/aws/bedrock/modelinvocations",
    logStream: "aws/bedrock/modelinvocations",
    subscriptionFilters: ["to-firehose"],
    logEvents: messages.map((m, k) => ({
      id: String(first + k).padStart(56, "3"),
      timestamp: Date.UTC(2026, 10, 19) + first + k,
      message: m,
    })),
  });
}

/**
 * The envelopes of subscription data as Firehose writes them to S3: a CONTROL_MESSAGE first, then `perEnvelope`
 * events per DATA_MESSAGE, back to back (or one per line, as a processor may write them). Not gzipped.
 */
export function firehoseText(
  messages: readonly string[],
  o: { perEnvelope?: number; newlines?: boolean } = {},
): string {
  const per = o.perEnvelope ?? 7;
  const envelopes = [CONTROL_ENVELOPE];
  for (let at = 0; at < messages.length; at += per)
    envelopes.push(dataEnvelope(messages.slice(at, at + per), at));
  return envelopes.join(o.newlines ? "\n" : "");
}

/** firehoseText, gzipped as Firehose delivers it. */
export const firehoseGzip = (
  messages: readonly string[],
  o: { perEnvelope?: number; newlines?: boolean } = {},
) => gzipSync(firehoseText(messages, o));
