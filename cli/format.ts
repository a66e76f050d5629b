/** Scanner output: one JSON document, or a table readable at a glance. */
import {
  addedDetectionTexts,
  compactNumber,
  detectionSettings,
  ruleSummary,
} from "../core/detection-text.js";
import type { Finding } from "../core/evaluator.js";
import { DAY_MS, METRIC_INFO, METRICS, type Rule, type Window } from "../core/rule.js";
import type { ScanResult } from "./scan.js";

/** What a query engine (Logs Insights, Athena) read, in place of a scan's files and its statistics. */
export interface QueriedSource {
  /** The service, in words ("CloudWatch Logs Insights"). */
  readonly engine: string;
  /** What was queried: log groups, a table. */
  readonly queried: readonly string[];
  readonly queries: number;
  readonly bytesScanned: number;
  /** What the service bills for those bytes, at list price (core/pricing.ts). */
  readonly costUsd: number;
  /** Requests in the window, in anomaly's history span, and matching the hunt (copies included: raw text). */
  readonly recordsInWindow: number;
  readonly recordsInHistory: number;
  readonly recordsMatched: number;
  /** Engine-specific counts (periods, fallbacks, rejected rows), reported as they are. */
  readonly details: Readonly<Record<string, number>>;
}

/** A report of a query engine: a scan's findings and history, what was queried instead of files. */
export interface QueryReport extends Pick<ScanResult, "findings" | "history" | "recordSpan"> {
  readonly source: QueriedSource;
}

/** What the report formats take: a scan's result or a query engine's. */
export type Report = ScanResult | QueryReport;

/** The formats a report is printed in (`--format`). */
export type ReportFormat = "table" | "json" | "csv";

const isQueryReport = (r: Report): r is QueryReport => "source" in r;

/** How much of anomaly's history was found, for the JSON report and the table. */
export function historySummary(result: Pick<ScanResult, "history">, rule: Rule) {
  const h = result.history;
  const foundDays = Math.max(0, h.asked.endMs - h.foundFromMs) / DAY_MS;
  return {
    baselineDays: rule.baselineDays,
    askedFrom: new Date(h.asked.startMs).toISOString(),
    foundFrom: new Date(h.foundFromMs).toISOString(),
    /** Days of history found before the window's start (the first hour's part before the start included). */
    foundDays: Number(foundDays.toFixed(2)),
    complete: h.foundFromMs <= h.asked.startMs,
    records: h.records,
  };
}

function historyLine(result: Pick<ScanResult, "history">, rule: Rule): string {
  const h = historySummary(result, rule);
  if (rule.baselineDays === 0)
    return "none asked (baseline days 0): anomaly compares each principal with the floor alone";
  const asked = `${plural(rule.baselineDays, "day")} before the window, from ${shortTime(h.askedFrom)}`;
  return h.complete
    ? `${asked}: found, ${plural(h.records, "record")}`
    : `${asked}: SHORTER THAN ASKED, records found from ${shortTime(h.foundFrom)} (${h.foundDays} days, ${plural(h.records, "record")}); anomaly is computed on what there is`;
}

export function toJsonReport(result: Report, rule: Rule, window: Window): string {
  const recordSpan = result.recordSpan && {
    first: new Date(result.recordSpan.firstMs).toISOString(),
    last: new Date(result.recordSpan.lastMs).toISOString(),
  };
  const common = {
    window: { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() },
    rule: ruleSummary(rule),
    detections: detectionSettings(rule),
    history: historySummary(result, rule),
    findings: result.findings,
  };
  const rest = isQueryReport(result)
    ? { source: result.source, recordSpan }
    : { stats: result.stats, recordSpan, fileErrors: result.fileErrors };
  return JSON.stringify({ ...common, ...rest }, null, 2);
}

/** Bytes in words, in the units AWS bills scanned data by (a GB is 2^30 bytes, core/pricing.ts). */
export function byteSize(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? plural(bytes, "byte") : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** US dollars, with cents (and fractions of a cent when that is all there is). */
export const usd = (amount: number): string =>
  `${amount > 0 && amount < 0.01 ? amount.toFixed(4) : amount.toFixed(2)} USD`;

/** The table's line on what was read: files for a scan, queries for a query engine. */
function readLine(result: Report, rule: Rule): { label: string; text: string } {
  const excluding = rule.excludedAccountIds.length > 0 || rule.excludedIdentityPatterns.length > 0;
  if (isQueryReport(result)) {
    const q = result.source;
    const details = Object.entries(q.details)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)} ${num(n)}`);
    return {
      label: "Queried",
      text:
        `${q.engine}: ${q.queried.join(", ")}; ${num(q.queries)} ${q.queries === 1 ? "query" : "queries"}, ${byteSize(q.bytesScanned)} scanned (${usd(q.costUsd)}); ` +
        `${plural(q.recordsInWindow, "record")} in window, ${num(q.recordsMatched)} matching, ` +
        `${num(q.recordsInHistory)} in history` +
        (details.length > 0 ? `; ${details.join(", ")}` : ""),
    };
  }
  const s = result.stats;
  return {
    label: "Scanned",
    text:
      `${plural(s.filesRead, "file")}, ${plural(s.recordsRead, "record")}, ${num(s.recordsInWindow)} in window, ` +
      `${num(s.recordsMatched)} matching, ${plural(s.duplicates, "duplicate")}, ` +
      `${plural(s.malformedLines, "malformed line")}` +
      (excluding
        ? `; exclusions removed ${plural(s.excludedRecords, "record")} (${num(s.recordsExcluded)} matching)`
        : ""),
  };
}

const num = (n: number | null): string => (n === null ? "-" : n.toLocaleString("en-US"));
const plural = (n: number, word: string): string => `${num(n)} ${word}${n === 1 ? "" : "s"}`;
const shortTime = (iso: string): string => iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "Z");

function identityLabel(f: Finding): string {
  const top = f.topIdentities[0];
  if (!top) return "-";
  const more = f.identityCount > 1 ? ` +${f.identityCount - 1}` : "";
  return `${top.identityArn} (${num(top.requestCount)})${more}`;
}

function modelLabel(f: Finding): string {
  const top = f.topModels[0];
  if (!top) return "-";
  const more = f.modelCount > 1 ? ` +${f.modelCount - 1}` : "";
  return `${top.modelId}${more}`;
}

/**
 * Greedy word wrap: lines of at most `width` characters, continuation lines after `indent` (which is not
 * counted in `width`). A word longer than a line stays whole.
 */
export function wrapText(text: string, width: number, indent = ""): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${indent}`);
}

/** Renders rows as aligned columns; `right` marks the numeric columns. */
export function renderTable(header: string[], rows: string[][], right: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** A table column: its header, its label on a detail line, and its cell for a finding. */
interface Column {
  readonly header: string;
  readonly label: string;
  readonly numeric: boolean;
  readonly cell: (f: Finding) => string;
}

/** In order of importance: the columns that do not fit the width go, with all after them, to detail lines. */
const COLUMNS: readonly Column[] = [
  { header: "ACCOUNT", label: "account", numeric: false, cell: (f) => f.accountId },
  { header: "REQUESTS", label: "requests", numeric: true, cell: (f) => num(f.requestCount) },
  { header: "MAX PROMPT", label: "max prompt tokens", numeric: true, cell: (f) => num(f.maxPromptTokens) },
  { header: "MAX REQ SIZE", label: "max request size", numeric: true, cell: (f) => num(f.maxRequestSize) },
  {
    header: "MAX COMPL",
    label: "max completion tokens",
    numeric: true,
    cell: (f) => num(f.maxCompletionTokens),
  },
  { header: "FIRST SEEN", label: "first seen", numeric: false, cell: (f) => shortTime(f.firstSeen) },
  { header: "LAST SEEN", label: "last seen", numeric: false, cell: (f) => shortTime(f.lastSeen) },
  { header: "TOP MODEL", label: "top model", numeric: false, cell: modelLabel },
  { header: "TOP IDENTITY (REQUESTS)", label: "top identity", numeric: false, cell: identityLabel },
];

/** The default width when the terminal's is not known (output to a file or a pipe). */
export const DEFAULT_TABLE_WIDTH = 100;
const DETAIL_INDENT = "    ";

export interface TableOptions {
  /** Columns that fit this width go in the row, the rest on indented detail lines below it. */
  readonly width?: number;
  /** Every column in the row, whatever the width. */
  readonly wide?: boolean;
}

/** The detections beyond the hunt, one indented line each under the finding's row. */
function detectionLines(f: Finding, rule: Rule, width: number, wide: boolean): string[] {
  return addedDetectionTexts(f, rule).map((d) => {
    const text = `${d.name}: ${d.text}`;
    return (
      DETAIL_INDENT +
      (wide ? text : wrapText(text, width - DETAIL_INDENT.length * 2, DETAIL_INDENT.repeat(2)))
    );
  });
}

function findingsTable(findings: readonly Finding[], width: number, rule: Rule, wide: boolean): string {
  const cells = findings.map((f) => COLUMNS.map((c) => c.cell(f)));
  const colWidth = (i: number) =>
    Math.max((COLUMNS[i] as Column).header.length, ...cells.map((r) => (r[i] ?? "").length));
  let shown = 1;
  let used = colWidth(0);
  while (shown < COLUMNS.length && used + 2 + colWidth(shown) <= width) used += 2 + colWidth(shown++);
  const right = new Set(COLUMNS.slice(0, shown).flatMap((c, i) => (c.numeric ? [i] : [])));
  const table = renderTable(
    COLUMNS.slice(0, shown).map((c) => c.header),
    cells.map((r) => r.slice(0, shown)),
    right,
  ).split("\n");
  const extra = findings.map((f) => detectionLines(f, rule, width, wide));
  if (shown === COLUMNS.length) {
    return [...table.slice(0, 2), ...cells.flatMap((_, i) => [table[i + 2] ?? "", ...(extra[i] ?? [])])].join(
      "\n",
    );
  }
  // Detail items packed on lines of the width, the same way for every finding (breaks decided on the widest
  // value), so they line up; an item longer than a line (a long ARN) gets a line of its own.
  const details = COLUMNS.slice(shown).map((c, k) => ({ label: `${c.label}: `, index: shown + k }));
  const itemWidth = (d: (typeof details)[number]) => d.label.length + colWidth(d.index);
  const lines: (typeof details)[] = [];
  let used2 = 0;
  for (const d of details) {
    const last = lines[lines.length - 1];
    if (last && DETAIL_INDENT.length + used2 + 2 + itemWidth(d) <= width) {
      last.push(d);
      used2 += 2 + itemWidth(d);
    } else {
      lines.push([d]);
      used2 = itemWidth(d);
    }
  }
  const out = table.slice(0, 2);
  cells.forEach((r, i) => {
    out.push(table[i + 2] ?? "");
    for (const line of lines) {
      const text = line.map((d) => `${d.label}${r[d.index] ?? ""}`.padEnd(itemWidth(d))).join("  ");
      out.push(DETAIL_INDENT + text.trimEnd());
    }
    out.push(...(extra[i] ?? []));
  });
  return out.join("\n");
}

export function toTableReport(
  result: Report,
  rule: Rule,
  window: Window,
  options: TableOptions = {},
): string {
  const width = options.wide ? Number.POSITIVE_INFINITY : (options.width ?? DEFAULT_TABLE_WIDTH);
  // Continuation lines align under the text, past the label.
  const wrap = (text: string, label = "") =>
    label.padEnd(label ? 9 : 0) +
    (options.wide ? text : wrapText(text, width - (label ? 9 : 0), " ".repeat(label ? 9 : 0)));
  const w = `${new Date(window.startMs).toISOString()} .. ${new Date(window.endMs).toISOString()}`;
  const same = METRICS.every((m) => rule.thresholds[m] === rule.thresholds.promptTokens);
  const limits = same
    ? `${METRICS.map((m) => METRIC_INFO[m].label)
        .join(", ")
        .replace(/, (?=[^,]*$)/, " or ")} > ${num(rule.thresholds.promptTokens)}`
    : METRICS.map((m) => `${METRIC_INFO[m].label} > ${num(rule.thresholds[m])}`).join(", ");
  const read = readLine(result, rule);
  const out = [
    wrap(`${w} (end excluded)`, "Window"),
    wrap(`${limits}; at least ${rule.minRequests} per account`, "Rule"),
    wrap(
      `cached-input: cached prompt tokens > ${num(rule.cachedInputTokens)}, at least ${rule.minRequests} per account; ` +
        `token-volume: one principal's tokens > ${compactNumber(rule.tokensPerHour)} or requests > ${num(rule.requestsPerHour)} in a clock hour; ` +
        `anomaly: one principal's tokens in a clock hour > ${rule.anomalyFactor}x its usual busiest hour over ${plural(rule.baselineDays, "day")} and > ${compactNumber(rule.anomalyFloorTokens)}` +
        (rule.modelThresholds.length > 0
          ? `; own thresholds for ${rule.modelThresholds.map((t) => `${t.prefix}*`).join(", ")}`
          : ""),
      "Also",
    ),
    wrap(historyLine(result, rule), "History"),
    wrap(read.text, read.label),
    "",
  ];
  if (result.findings.length === 0) {
    out.push(wrap("No account was flagged by any detection in this window: nothing to report."));
  } else {
    out.push(`${result.findings.length} account(s) flagged, heaviest first:`, "");
    out.push(findingsTable(result.findings, width, rule, options.wide ?? false));
  }
  if (!isQueryReport(result) && result.fileErrors.length > 0) {
    out.push(
      "",
      wrap(`${result.fileErrors.length} file(s) could not be read to the end (see errors above).`),
    );
  }
  return `${out.join("\n")}\n`;
}

/** The CSV columns: the finding's JSON fields, flattened, then the window (rows stay meaningful when appended). */
const CSV_HEADER = [
  "accountId",
  "requestCount",
  "maxPromptTokens",
  "maxRequestSize",
  "maxCompletionTokens",
  "maxCacheInclusiveInputTokens",
  "firstSeen",
  "lastSeen",
  "topIdentity",
  "topIdentityRequests",
  "identityCount",
  "topModel",
  "topModelRequests",
  "modelCount",
  "windowStart",
  "windowEnd",
  // Added with the detections beyond the hunt: at the end, so rows appended by earlier releases still line up.
  "detections",
  "cachedInputRequests",
  "sumCachedInputTokens",
  "maxCachedInputTokens",
  "peakHourPrincipal",
  "peakHourStart",
  "peakHourTokens",
  "peakHourRequests",
  "anomalyPrincipal",
  "anomalyHourStart",
  "anomalyTokens",
  "anomalyBaselineTokens",
  "anomalyHistoryHours",
];

/**
 * One CSV field per RFC 4180: quoted when it holds a comma, a quote or a line break (quotes doubled). Text a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@` first: log fields are not trusted) gets a leading `'`.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The findings as CSV (RFC 4180: CRLF line ends, a header row), for spreadsheets. */
export function toCsvReport(result: Pick<Report, "findings">, window: Window): string {
  const start = new Date(window.startMs).toISOString();
  const end = new Date(window.endMs).toISOString();
  const rows = result.findings.map((f) => [
    f.accountId,
    f.requestCount,
    f.maxPromptTokens,
    f.maxRequestSize,
    f.maxCompletionTokens,
    f.maxCacheInclusiveInputTokens,
    f.firstSeen,
    f.lastSeen,
    f.topIdentities[0]?.identityArn ?? null,
    f.topIdentities[0]?.requestCount ?? null,
    f.identityCount,
    f.topModels[0]?.modelId ?? null,
    f.topModels[0]?.requestCount ?? null,
    f.modelCount,
    start,
    end,
    f.detections.join(" "),
    f.cachedInput?.requestCount ?? null,
    f.cachedInput?.sumCachedInputTokens ?? null,
    f.cachedInput?.maxCachedInputTokens ?? null,
    f.tokenVolume?.principal ?? null,
    f.tokenVolume?.hourStart ?? null,
    f.tokenVolume?.totalTokens ?? null,
    f.tokenVolume?.requests ?? null,
    f.anomaly?.principal ?? null,
    f.anomaly?.hourStart ?? null,
    f.anomaly?.totalTokens ?? null,
    f.anomaly?.baselineTokens ?? null,
    f.anomaly?.historyHours ?? null,
  ]);
  return [CSV_HEADER, ...rows].map((r) => `${r.map(csvField).join(",")}\r\n`).join("");
}

/** A report in the format asked for, as the commands print it on stdout. */
export function renderReport(
  result: Report,
  rule: Rule,
  window: Window,
  format: ReportFormat,
  table: TableOptions = {},
): string {
  if (format === "json") return `${toJsonReport(result, rule, window)}\n`;
  if (format === "csv") return toCsvReport(result, window);
  return toTableReport(result, rule, window, table);
}
