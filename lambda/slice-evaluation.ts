/**
 * A scheduled window evaluated from stored slices: only the periods not stored yet are queried (normally the
 * newest one; after an outage or on the first run, every missing one, newest first, as far as the run's time
 * allows: the next run goes on where this one stopped), each is stored, and the window's slices are merged.
 * Bytes queried per day are then the day's log volume whatever the cadence.
 */
import { METRIC } from "../config/names.js";
import type { Window } from "../core/rule.js";
import { cellKey, cellsOf, mergeSlices, missingCells } from "../core/slices.js";
import type { UsageGroup } from "../core/usage.js";
import type { SliceStore, StoredSlice } from "./adapters/slice-store.js";
import type { DetectorConfig } from "./config.js";
import { DeadlineError } from "./errors.js";
import { type Evaluation, withAccountLevelCaveat } from "./evaluation.js";
import type { RunQueries } from "./queries.js";
import type { DetectionDeps } from "./run-detection.js";

/** Periods queried at once while catching up (Logs Insights runs up to 100 queries per account at once). */
export const SLICE_QUERY_CONCURRENCY = 4;
/** A period whose rows reach the row limit is halved down to this before falling back to account-level rows. */
export const MIN_SPLIT_MS = 60_000;
/** Time kept for merging, alerting and publishing: no new period is started later than this before the deadline. */
export const CATCH_UP_RESERVE_MS = 90_000;
/** Slices outlive the last window that needs them by this margin. */
const SLICE_TTL_MARGIN_MS = 86_400_000;

export interface SliceReport {
  /** Periods in the window. */
  readonly periods: number;
  /** Periods read from the store. */
  readonly stored: number;
  /** Periods queried by this run (new, caught up, or re-queried). */
  readonly queried: number;
  /** Periods still missing: the run ran out of time; the next run queries them. */
  readonly pending: number;
}

export const INCOMPLETE_WINDOW_CAVEAT = (r: SliceReport) =>
  `The window is incomplete: ${r.periods - r.pending} of ${r.periods} periods were queried so far (the detector is catching up); counts may grow.`;

export async function evaluateFromSlices(
  config: DetectorConfig,
  window: Window,
  queries: RunQueries,
  deps: DetectionDeps,
  store: Pick<SliceStore, "read" | "write">,
): Promise<Evaluation & { slices: SliceReport }> {
  const period = config.schedulePeriodMs;
  // Only this period's cells: slices of another period length (the schedule changed) would count twice.
  const cells = new Set(cellsOf(window, period).map(cellKey));
  const stored = new Map(
    (await store.read(window)).filter((s) => cells.has(cellKey(s.window))).map((s) => [cellKey(s.window), s]),
  );
  const todo = missingCells(
    window,
    period,
    [...stored.values()].map((s) => s.window),
  ).reverse();
  const previous = { startMs: window.endMs - 2 * period, endMs: window.endMs - period };
  const requery = config.requeryPreviousSlice && stored.get(cellKey(previous))?.requeried === false;
  if (requery) todo.splice(1, 0, previous);

  let outOfTime = false;
  let split = false;
  const queryCell = async (cell: Window): Promise<{ groups: UsageGroup[]; accountLevel: boolean }> => {
    const out = await queries.run("usage", cell);
    if (!queries.full(out)) return { groups: queries.groupsOf(out), accountLevel: false };
    split = true;
    deps.metrics.addMetric(METRIC.resultLimitReached, "Count", 1);
    if (cell.endMs - cell.startMs >= 2 * MIN_SPLIT_MS) {
      // Halves hold fewer rows; their groups add up to the whole period's exactly.
      const mid = cell.startMs + Math.floor((cell.endMs - cell.startMs) / 2);
      const a = await queryCell({ startMs: cell.startMs, endMs: mid });
      const b = await queryCell({ startMs: mid, endMs: cell.endMs });
      return { groups: [...a.groups, ...b.groups], accountLevel: a.accountLevel || b.accountLevel };
    }
    deps.logger.error("usage rows reached the row limit even for a minute; storing account-level rows", {
      window: { start: new Date(cell.startMs).toISOString(), end: new Date(cell.endMs).toISOString() },
    });
    return { groups: queries.groupsOf(await queries.run("usage-account", cell)), accountLevel: true };
  };

  let queried = 0;
  const worker = async () => {
    for (let cell = todo.shift(); cell !== undefined && !outOfTime; cell = todo.shift()) {
      if (deps.now() > queries.clock.deadlineMs - CATCH_UP_RESERVE_MS) {
        todo.unshift(cell);
        outOfTime = true;
        break;
      }
      const before = queries.statistics.bytesScanned;
      let result: { groups: UsageGroup[]; accountLevel: boolean };
      try {
        result = await queryCell(cell);
      } catch (err) {
        if (!(err instanceof DeadlineError)) throw err;
        todo.unshift(cell);
        outOfTime = true;
        break;
      }
      const slice: StoredSlice = {
        window: cell,
        groups: result.groups,
        accountLevel: result.accountLevel,
        bytesScanned: queries.statistics.bytesScanned - before,
        requeried: stored.has(cellKey(cell)),
      };
      // Kept until the last window that holds it has been evaluated; a late write still lives that long.
      const expiresAtMs = Math.max(cell.endMs, deps.now()) + config.rule.lookbackMs + SLICE_TTL_MARGIN_MS;
      await store.write(slice, expiresAtMs, deps.now());
      stored.set(cellKey(cell), slice);
      queried++;
    }
  };
  await Promise.all(Array.from({ length: SLICE_QUERY_CONCURRENCY }, worker));

  const pending = missingCells(
    window,
    period,
    [...stored.values()].map((s) => s.window),
  ).length;
  const report: SliceReport = {
    periods: (window.endMs - window.startMs) / period,
    stored: stored.size - queried,
    queried,
    pending,
  };
  if (pending > 0) {
    deps.logger.warn("window incomplete: the run ran out of time; the next run continues", { ...report });
    deps.metrics.addMetric(METRIC.slicesPending, "Count", pending);
  }
  const {
    findings: merged,
    principals,
    accountLevelAccounts,
  } = mergeSlices(stored.values(), window, config.rule);
  let findings = withAccountLevelCaveat(merged, config, accountLevelAccounts);
  if (pending > 0) {
    findings = findings.map((f) => ({
      ...f,
      caveats: [...(f.caveats ?? []), INCOMPLETE_WINDOW_CAVEAT(report)],
    }));
  }
  return { findings, principals, fellBack: split, slices: report };
}
