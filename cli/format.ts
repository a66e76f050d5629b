/** Scanner output: one JSON document, or a table readable at a glance. */
import type { Finding } from "../core/evaluator.js";
import { METRIC_INFO, METRICS, type Rule, type Window } from "../core/rule.js";
import type { ScanResult } from "./scan.js";

export function toJsonReport(result: ScanResult, rule: Rule, window: Window): string {
  return JSON.stringify(
    {
      window: { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() },
      rule: { thresholds: { ...rule.thresholds }, minRequests: rule.minRequests },
      findings: result.findings,
      stats: result.stats,
      recordSpan: result.recordSpan && {
        first: new Date(result.recordSpan.firstMs).toISOString(),
        last: new Date(result.recordSpan.lastMs).toISOString(),
      },
      fileErrors: result.fileErrors,
    },
    null,
    2,
  );
}

const num = (n: number | null): string => (n === null ? "-" : n.toLocaleString("en-US"));
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

export function toTableReport(result: ScanResult, rule: Rule, window: Window): string {
  const w = `${new Date(window.startMs).toISOString()} .. ${new Date(window.endMs).toISOString()}`;
  const limits = METRICS.map((m) => `${METRIC_INFO[m].label} > ${num(rule.thresholds[m])}`).join(", ");
  const s = result.stats;
  const out = [
    `Window   ${w} (end excluded)`,
    `Rule     ${limits}; at least ${rule.minRequests} such requests per account`,
    `Scanned  ${num(s.filesRead)} files, ${num(s.recordsRead)} records, ${num(s.recordsInWindow)} in window, ` +
      `${num(s.recordsMatched)} over a threshold, ${num(s.malformedLines)} malformed line(s)`,
    "",
  ];
  if (result.findings.length === 0) {
    out.push("No account made enough heavy requests in this window: nothing to report.");
  } else {
    out.push(`${result.findings.length} account(s) flagged, heaviest first:`, "");
    const header = [
      "ACCOUNT",
      "REQUESTS",
      "MAX PROMPT TOK",
      "MAX REQ SIZE",
      "MAX COMPL TOK",
      "FIRST SEEN",
      "LAST SEEN",
      "TOP MODEL",
      "TOP IDENTITY (REQUESTS)",
    ];
    const rows = result.findings.map((f) => [
      f.accountId,
      num(f.requestCount),
      num(f.maxPromptTokens),
      num(f.maxRequestSize),
      num(f.maxCompletionTokens),
      shortTime(f.firstSeen),
      shortTime(f.lastSeen),
      modelLabel(f),
      identityLabel(f),
    ]);
    out.push(renderTable(header, rows, new Set([1, 2, 3, 4])));
  }
  if (result.fileErrors.length > 0) {
    out.push("", `${result.fileErrors.length} file(s) could not be read to the end (see errors above).`);
  }
  return `${out.join("\n")}\n`;
}
