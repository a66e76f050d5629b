/**
 * Usage groups from a query engine (Logs Insights, Athena) to what a scan reports: the window's groups give
 * every detection's findings, the groups of anomaly's history span (`baselineDays` before the window's first
 * clock hour, to its start) give only each principal's hourly totals, as records there do for the scanner.
 * Pure: the engines bring the groups, core/detections.ts judges them.
 */
import { hourlyTotalsOf } from "../core/anomaly.js";
import { evaluateUsage } from "../core/detections.js";
import type { Finding } from "../core/evaluator.js";
import { historyWindowOf } from "../core/record-evaluator.js";
import { hourOf, type Rule, type Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import type { ScanResult } from "./scan.js";

/** What the queries returned: the groups of the window's requests and of anomaly's history span. */
export interface QueriedUsage {
  readonly window: readonly UsageGroup[];
  readonly history: readonly UsageGroup[];
}

/** The report's engine-neutral part: findings, anomaly's history found, and the records behind them. */
export interface UsageReport extends Pick<ScanResult, "findings" | "history" | "recordSpan"> {
  /** Per flagged account, the principals behind its detections, most requests first. */
  readonly principals: ReadonlyMap<string, readonly string[]>;
  readonly records: { readonly inWindow: number; readonly inHistory: number; readonly matched: number };
}

const sum = (groups: readonly UsageGroup[], of: (g: UsageGroup) => number) =>
  groups.reduce((n, g) => n + of(g), 0);

/**
 * Every detection over the window's groups, with the history span's hourly totals as anomaly's history.
 * History is known from `recordsFromMs`, when the source would hold every record from then on (a log group's
 * creation, the start of its retention); without it, from the earliest request found, as the scanner knows it
 * from the earliest record read: hours before are unknown, not quiet.
 */
export function reportFromUsage(
  usage: QueriedUsage,
  rule: Rule,
  window: Window,
  recordsFromMs?: number,
): UsageReport {
  const asked = historyWindowOf(rule, window);
  const all = [...usage.window, ...usage.history];
  const firstMs = all.reduce((m, g) => Math.min(m, g.firstSeenMs), Number.POSITIVE_INFINITY);
  const lastMs = all.reduce((m, g) => Math.max(m, g.lastSeenMs), Number.NEGATIVE_INFINITY);
  const firstHour = hourOf(window.startMs);
  const from = Math.min(recordsFromMs ?? Number.POSITIVE_INFINITY, firstMs);
  const knownFromMs = Number.isFinite(from)
    ? Math.min(firstHour, Math.max(asked.startMs, hourOf(from)))
    : firstHour;
  const history = { totals: hourlyTotalsOf(usage.history, rule), knownFromMs };
  const evaluation = evaluateUsage(usage.window, rule, window, undefined, history);
  const findings: Finding[] = evaluation.findings;
  const inHistory = sum(usage.history, (g) => g.requests);
  return {
    findings,
    principals: evaluation.principals,
    history: { asked, foundFromMs: knownFromMs, records: inHistory },
    recordSpan: Number.isFinite(firstMs) ? { firstMs, lastMs } : null,
    records: {
      inWindow: sum(usage.window, (g) => g.requests),
      inHistory,
      matched: sum(usage.window, (g) => g.hunt?.requestCount ?? 0),
    },
  };
}
