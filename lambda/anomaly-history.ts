/**
 * anomaly's history as the Lambda reads it from the state table (adapters/history-store.ts): the hourly
 * roll-ups of only the principals with an hour of the window above the floor, heaviest first and at most
 * MAX_HISTORY_PRINCIPALS of them, so a run's state reads stay bounded whatever the number of principals.
 * Shared by scheduled runs (slice-evaluation.ts) and manual runs (direct-evaluation.ts).
 */
import { type History, type HourlyTotals, principalKey } from "../core/anomaly.js";
import { anomalyCandidates } from "../core/detections.js";
import type { Rule } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import type { HistoryStore } from "./adapters/history-store.js";

/** The state table's anomaly history, as the evaluation uses it. */
export type HistoryDeps = Pick<HistoryStore, "readIndex" | "writeIndex" | "writeHours" | "readPrincipals">;

/**
 * Principals whose roll-ups one run reads at most; any beyond are compared with the floor alone, and their
 * findings say so (`historyUnread`).
 */
export const MAX_HISTORY_PRINCIPALS = 200;

/**
 * Adds to `totals` the roll-ups in `[fromMs, toMs)` of the principals of `windowGroups` that have an hour above
 * the floor. Returns the history for the evaluation, and how many principals' roll-ups were read.
 */
export async function readCandidateHistory(
  windowGroups: readonly UsageGroup[],
  rule: Rule,
  store: HistoryDeps,
  span: { fromMs: number; toMs: number; knownFromMs: number },
  totals: HourlyTotals,
): Promise<{ history: History; principals: number }> {
  const candidates = anomalyCandidates(windowGroups, rule);
  const read = candidates.slice(0, MAX_HISTORY_PRINCIPALS);
  const hours = await store.readPrincipals(read, span.fromMs, span.toMs);
  for (const [i, c] of read.entries()) {
    for (const [hourMs, tokens] of hours[i] ?? []) totals.add(c.accountId, c.principal, hourMs, tokens);
  }
  const unread = new Set(
    candidates.slice(MAX_HISTORY_PRINCIPALS).map((c) => principalKey(c.accountId, c.principal)),
  );
  return {
    history: { totals, knownFromMs: span.knownFromMs, ...(unread.size > 0 ? { unread } : {}) },
    principals: read.length,
  };
}
