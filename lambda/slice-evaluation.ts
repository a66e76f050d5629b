/**
 * A scheduled window evaluated from stored slices: only the periods not stored yet are queried (normally the
 * newest one; after an outage or on the first run, every missing one, newest first, as far as the run's time
 * allows: the next run goes on where this one stopped), each is stored, and the window's slices are merged.
 * Bytes queried per day are then the day's log volume whatever the cadence.
 *
 * anomaly's history (core/anomaly.ts): the periods are read from the window's first clock hour, so each hour
 * that completes is rolled up per principal from its periods and kept `baselineDays`; the hours before that a
 * new deployment lacks are queried whole, newest first, after the window's periods and within the same time
 * budget. Each log byte is still queried once. Only the principals with an hour above the anomaly floor have
 * their roll-ups read.
 */
import { METRIC } from "../config/names.js";
import { type History, type HourlyTotals, hourlyTotalsOf, knownFromOf } from "../core/anomaly.js";
import { DAY_MS, HOUR_MS, hourOf, type Rule, type Window } from "../core/rule.js";
import { cellKey, cellsOf, mergeSlices, missingCells, type Slice } from "../core/slices.js";
import type { UsageGroup } from "../core/usage.js";
import type { PrincipalHourTotal } from "./adapters/history-store.js";
import type { SliceStore, StoredSlice } from "./adapters/slice-store.js";
import { type HistoryDeps, readCandidateHistory } from "./anomaly-history.js";
import type { DetectorConfig } from "./config.js";
import type { DetectionDeps } from "./detection-deps.js";
import { DeadlineError } from "./errors.js";
import { type Evaluation, withAccountLevelCaveat } from "./evaluation.js";
import { PERIOD_QUERY_CONCURRENCY, queryPeriod } from "./period-query.js";
import type { RunQueries } from "./queries.js";

/** Time kept for merging, alerting and publishing: no new period is started later than this before the deadline. */
export const CATCH_UP_RESERVE_MS = 90_000;
/** Slices (and roll-ups) outlive the last window that needs them by this margin. */
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
  /** anomaly's history: hours asked before the window's first hour, hours still missing, hours queried now. */
  readonly historyHours: number;
  readonly historyPending: number;
  readonly historyQueried: number;
  /** Principals whose roll-ups were read (those with an hour above the floor, at most MAX_HISTORY_PRINCIPALS). */
  readonly historyPrincipals: number;
}

export const INCOMPLETE_WINDOW_CAVEAT = (r: SliceReport) =>
  `The window is incomplete: ${r.periods - r.pending} of ${r.periods} periods were queried so far (the detector is catching up); counts may grow.`;

export const INCOMPLETE_HISTORY_CAVEAT = (r: Pick<SliceReport, "historyHours" | "historyPending">) =>
  `anomaly's history is incomplete: ${r.historyHours - r.historyPending} of ${r.historyHours} hours before the window are stored so far (the detector is catching up); principals are compared with the history there is.`;

type Work =
  | { readonly kind: "cell"; readonly window: Window }
  | { readonly kind: "hour"; readonly hourMs: number };

export async function evaluateFromSlices(
  config: DetectorConfig,
  window: Window,
  queries: RunQueries,
  deps: DetectionDeps,
  store: Pick<SliceStore, "read" | "write">,
  historyStore?: HistoryDeps,
): Promise<Evaluation & { slices: SliceReport }> {
  const period = config.schedulePeriodMs;
  const rule = config.rule;
  // From the window's first clock hour: that hour's periods before the window complete its roll-up.
  const range: Window = { startMs: hourOf(window.startMs), endMs: window.endMs };
  const baselineMs = historyStore ? rule.baselineDays * DAY_MS : 0;
  const historyFromMs = range.startMs - baselineMs;
  // Only this period's cells: slices of another period length (the schedule changed) would count twice.
  const rangeCells = cellsOf(range, period);
  const cells = new Set(rangeCells.map(cellKey));
  const stored = new Map(
    (await store.read(range)).filter((s) => cells.has(cellKey(s.window))).map((s) => [cellKey(s.window), s]),
  );
  /** The slices as they were before this run: a re-queried hour rewrites only the roll-ups that changed. */
  const storedBefore = new Map(stored);
  const rolledUp = historyStore && baselineMs > 0 ? await historyStore.readIndex() : new Set<number>();
  const indexBefore = new Set(rolledUp);
  const todo: Work[] = missingCells(
    range,
    period,
    [...stored.values()].map((s) => s.window),
  )
    .reverse()
    .map((w) => ({ kind: "cell", window: w }));
  const previous = { startMs: window.endMs - 2 * period, endMs: window.endMs - period };
  const requery = config.requeryPreviousSlice && stored.get(cellKey(previous))?.requeried === false;
  if (requery) todo.splice(1, 0, { kind: "cell", window: previous });
  // History hours not rolled up yet, newest first, after every period of the window.
  const historyMissing = (): number[] => {
    const out: number[] = [];
    for (let h = range.startMs - HOUR_MS; h >= historyFromMs; h -= HOUR_MS) if (!rolledUp.has(h)) out.push(h);
    return out;
  };
  for (const hourMs of historyMissing()) todo.push({ kind: "hour", hourMs });

  let outOfTime = false;
  let split = false;
  const queryCell = (cell: Window) =>
    queryPeriod(queries, cell, deps.logger, () => {
      split = true;
      deps.metrics.addMetric(METRIC.resultLimitReached, "Count", 1);
    });
  // Roll-ups live as long as any later window's baseline can reach them.
  const rollUpExpiry = (hourMs: number) =>
    Math.max(hourMs + HOUR_MS, deps.now()) + rule.lookbackMs + baselineMs + SLICE_TTL_MARGIN_MS;
  const rollUp = async (hourMs: number, groups: readonly UsageGroup[], before?: HourlyTotals) => {
    const totals: PrincipalHourTotal[] = [];
    for (const t of hourlyTotalsOf(groups, rule).entries()) {
      if (t.hourMs !== hourMs) continue;
      // Unchanged since the last roll-up of this hour: not written again.
      if (before?.get(t.accountId, t.principal)?.get(hourMs) === t.tokens) continue;
      totals.push(t);
    }
    await historyStore?.writeHours(totals, rollUpExpiry);
    rolledUp.add(hourMs);
  };

  let queried = 0;
  let historyQueried = 0;
  const queriedCells = new Set<string>();
  const worker = async () => {
    for (let work = todo.shift(); work !== undefined && !outOfTime; work = todo.shift()) {
      if (deps.now() > queries.clock.deadlineMs - CATCH_UP_RESERVE_MS) {
        todo.unshift(work);
        outOfTime = true;
        break;
      }
      const cell =
        work.kind === "cell" ? work.window : { startMs: work.hourMs, endMs: work.hourMs + HOUR_MS };
      const before = queries.statistics.bytesScanned;
      let result: { groups: UsageGroup[]; accountLevel: boolean };
      try {
        result = await queryCell(cell);
      } catch (err) {
        if (!(err instanceof DeadlineError)) throw err;
        todo.unshift(work);
        outOfTime = true;
        break;
      }
      if (work.kind === "hour") {
        await rollUp(work.hourMs, result.groups);
        historyQueried++;
        continue;
      }
      const slice: StoredSlice = {
        window: cell,
        groups: result.groups,
        accountLevel: result.accountLevel,
        bytesScanned: queries.statistics.bytesScanned - before,
        requeried: stored.has(cellKey(cell)),
      };
      // Kept until the last window that holds it has been evaluated; a late write still lives that long.
      const expiresAtMs = Math.max(cell.endMs, deps.now()) + rule.lookbackMs + SLICE_TTL_MARGIN_MS;
      await store.write(slice, expiresAtMs, deps.now());
      stored.set(cellKey(cell), slice);
      queriedCells.add(cellKey(cell));
      queried++;
    }
  };
  await Promise.all(Array.from({ length: PERIOD_QUERY_CONCURRENCY }, worker));

  // Each clock hour of the range that is over and whose periods are all stored: rolled up from them (again
  // when one of its periods was queried now, writing only what changed).
  if (historyStore && baselineMs > 0) {
    const periodsOf = (hourMs: number) =>
      rangeCells.filter((c) => c.startMs < hourMs + HOUR_MS && c.endMs > hourMs);
    for (let h = range.startMs; h + HOUR_MS <= window.endMs; h += HOUR_MS) {
      const its = periodsOf(h);
      if (!its.every((c) => stored.has(cellKey(c)))) continue;
      const fresh = its.some((c) => queriedCells.has(cellKey(c)));
      if (rolledUp.has(h) && !fresh) continue;
      const groupsOf = (slices: ReadonlyMap<string, Slice>) =>
        its.flatMap((c) => slices.get(cellKey(c))?.groups ?? []).filter((g) => g.hourMs === h);
      const wasWhole = its.every((c) => storedBefore.has(cellKey(c)));
      await rollUp(
        h,
        groupsOf(stored),
        rolledUp.has(h) && wasWhole ? hourlyTotalsOf(groupsOf(storedBefore), rule) : undefined,
      );
    }
    // Hours no baseline reaches any more leave the index (their items expire through TTL).
    for (const h of rolledUp) if (h < historyFromMs - SLICE_TTL_MARGIN_MS) rolledUp.delete(h);
    const changed = rolledUp.size !== indexBefore.size || [...rolledUp].some((h) => !indexBefore.has(h));
    if (changed) await historyStore.writeIndex(rolledUp);
  }

  const pending = missingCells(
    window,
    period,
    [...stored.values()].map((s) => s.window),
  ).length;
  const historyPending = historyMissing().length;
  const history = await historyOf(
    rule,
    window,
    range,
    [...stored.values()],
    rolledUp,
    historyFromMs,
    historyStore,
  );
  const report: SliceReport = {
    periods: (window.endMs - window.startMs) / period,
    stored: stored.size - queried,
    queried,
    pending,
    historyHours: baselineMs / HOUR_MS,
    historyPending,
    historyQueried,
    historyPrincipals: history.principals,
  };
  if (pending > 0) {
    deps.logger.warn("window incomplete: the run ran out of time; the next run continues", { ...report });
    deps.metrics.addMetric(METRIC.slicesPending, "Count", pending);
  }
  if (historyStore && baselineMs > 0) {
    deps.metrics.addMetric(METRIC.historyHoursPending, "Count", historyPending);
    if (historyPending > 0)
      deps.logger.warn("anomaly's history incomplete: the detector is catching up", { ...report });
  }
  const {
    findings: merged,
    principals,
    accountLevelAccounts,
  } = mergeSlices(stored.values(), window, rule, history.history);
  let findings = withAccountLevelCaveat(merged, config, accountLevelAccounts);
  const caveats = [
    ...(pending > 0 ? [INCOMPLETE_WINDOW_CAVEAT(report)] : []),
    ...(historyPending > 0 ? [INCOMPLETE_HISTORY_CAVEAT(report)] : []),
  ];
  if (caveats.length > 0) {
    findings = findings.map((f) => ({ ...f, caveats: [...(f.caveats ?? []), ...caveats] }));
  }
  return { findings, principals, fellBack: split, slices: report };
}

/**
 * anomaly's history for a window: the roll-ups of the principals with an hour above the floor (at most
 * MAX_HISTORY_PRINCIPALS, heaviest first; the others are compared with the floor alone), and the parts of the
 * window's first hour before its start from the stored periods.
 */
async function historyOf(
  rule: Rule,
  window: Window,
  range: Window,
  slices: readonly Slice[],
  rolledUp: ReadonlySet<number>,
  historyFromMs: number,
  historyStore: HistoryDeps | undefined,
): Promise<{ history: History; principals: number }> {
  const before = slices.filter((s) => s.window.endMs <= window.startMs && s.window.startMs >= range.startMs);
  const totals = hourlyTotalsOf(
    before.flatMap((s) => s.groups),
    rule,
  );
  const knownFromMs = knownFromOf(rolledUp, historyFromMs, range.startMs);
  if (!historyStore || historyFromMs >= range.startMs)
    return { history: { totals, knownFromMs }, principals: 0 };
  const inside = slices.filter((s) => s.window.startMs >= window.startMs && s.window.endMs <= window.endMs);
  return readCandidateHistory(
    inside.flatMap((s) => s.groups),
    rule,
    historyStore,
    { fromMs: historyFromMs, toMs: range.startMs, knownFromMs },
    totals,
  );
}
