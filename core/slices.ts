/**
 * Incremental slices: the scheduled detector queries each log byte once. Time is cut into cells of one
 * schedule period, aligned to the epoch (cell k is `[k·P, (k+1)·P)`, the contract's half-open windows), and a
 * window of `n` periods is the union of its `n` cells. Each cell's requests are kept as usage groups (account,
 * identity, model, hour), which merge exactly: the findings of the merged cells are the findings of one query
 * over the whole window, every detection and the exclusions included (they apply after the merge).
 */
import type { History } from "./anomaly.js";
import { evaluateUsage, type WindowEvaluation } from "./detections.js";
import type { Rule, Window } from "./rule.js";
import type { UsageGroup } from "./usage.js";

/** One cell's requests, as stored. */
export interface Slice {
  readonly window: Window;
  readonly groups: readonly UsageGroup[];
  /** Set when the cell's evidence could only be read per account (identity exclusions cannot apply). */
  readonly accountLevel?: boolean;
}

/** The cells `[k·P, (k+1)·P)` that tile a window whose bounds lie on the lattice. */
export function cellsOf(window: Window, periodMs: number): Window[] {
  if (window.startMs % periodMs !== 0 || window.endMs % periodMs !== 0) {
    throw new RangeError(`window bounds must be multiples of the ${periodMs} ms period`);
  }
  const cells: Window[] = [];
  for (let start = window.startMs; start < window.endMs; start += periodMs) {
    cells.push({ startMs: start, endMs: start + periodMs });
  }
  return cells;
}

/** The lattice point at or before `ms`. */
export const floorToPeriod = (ms: number, periodMs: number): number => Math.floor(ms / periodMs) * periodMs;

/** A cell's identity in the store: its exact bounds (rewriting it is idempotent). */
export const cellKey = (cell: Window): string => `${cell.startMs}-${cell.endMs}`;

/** The cells of `window` that `stored` does not hold yet, oldest first. */
export function missingCells(window: Window, periodMs: number, stored: Iterable<Window>): Window[] {
  const have = new Set([...stored].map(cellKey));
  return cellsOf(window, periodMs).filter((c) => !have.has(cellKey(c)));
}

/**
 * Evaluates the slices that lie inside `window` under the rule (exclusions applied after the merge). Slices
 * outside it are ignored, so a store holding older cells can be passed whole. `history`: anomaly's, for the
 * hours before the window (none: only the window's own hours).
 */
export function mergeSlices(
  slices: Iterable<Slice>,
  window: Window,
  rule: Rule,
  history?: History,
): WindowEvaluation & { accountLevelAccounts: Set<string> } {
  const inside = [...slices].filter(
    (s) => s.window.startMs >= window.startMs && s.window.endMs <= window.endMs,
  );
  const accountLevelAccounts = new Set<string>();
  for (const s of inside) if (s.accountLevel) for (const g of s.groups) accountLevelAccounts.add(g.accountId);
  return {
    ...evaluateUsage(
      inside.flatMap((s) => s.groups),
      rule,
      window,
      undefined,
      history,
    ),
    accountLevelAccounts,
  };
}
