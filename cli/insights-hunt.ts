/**
 * A retro-hunt over CloudWatch Logs log groups with the scheduled Lambda's own queries: the window and
 * anomaly's history span are cut into UTC days, each day queried with the `usage` shape (halved, then read per
 * account, when its rows reach the row limit: lambda/period-query.ts), a few days at a time, and the days'
 * usage groups merged as the Lambda merges its periods. Interrupting stops the running queries (StopQuery).
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { historyWindowOf } from "../core/record-evaluator.js";
import { DAY_MS, type Rule, type Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import type { QueryClock } from "../lambda/adapters/logs-insights.js";
import type { Log } from "../lambda/detection-deps.js";
import { QueryStoppedError } from "../lambda/errors.js";
import { queryPeriod } from "../lambda/period-query.js";
import { RunQueries } from "../lambda/queries.js";
import { CliError, EXIT } from "./errors.js";
import type { QueriedUsage } from "./usage-report.js";

export interface HuntProgress {
  readonly periodsDone: number;
  readonly periods: number;
  /** Bytes scanned so far, by finished and running queries. */
  readonly bytesScanned: number;
}

export interface HuntOptions {
  readonly client: CloudWatchLogsClient;
  readonly logGroupIdentifiers: readonly string[];
  readonly rule: Rule;
  readonly window: Window;
  /** Days queried at once. */
  readonly concurrency: number;
  /** Row limit per query (tests lower it to exercise the fallback). */
  readonly rowLimit?: number;
  /** Aborted: running queries are stopped and the hunt ends with exit code 130. */
  readonly signal?: AbortSignal;
  /** Time (tests pass their own); a sleep must end early when `signal` aborts. */
  readonly clock?: { now(): number; sleep(ms: number, signal: AbortSignal): Promise<void> };
  onProgress?(progress: HuntProgress): void;
}

export interface HuntOutcome {
  readonly usage: QueriedUsage;
  /** Accounts with groups from account-level rows (a period whose rows reached the limit even for a minute). */
  readonly accountLevelAccounts: ReadonlySet<string>;
  /** Days (or parts of days, at the window's ends) queried: window and history. */
  readonly periods: { readonly window: number; readonly history: number };
  readonly queries: number;
  readonly bytesScanned: number;
  readonly recordsScanned: number;
  /** Queries whose rows reached the row limit (each split or read per account). */
  readonly limitReached: number;
  readonly rowsRejected: number;
  readonly valuesRejected: number;
  /** What went wrong without stopping the hunt, once each with how often (never row values). */
  readonly warnings: ReadonlyMap<string, number>;
}

/** `span` cut at every UTC midnight. */
function utcDays(span: Window): Window[] {
  const out: Window[] = [];
  for (let start = span.startMs; start < span.endMs; ) {
    const end = Math.min(span.endMs, Math.floor(start / DAY_MS) * DAY_MS + DAY_MS);
    out.push({ startMs: start, endMs: end });
    start = end;
  }
  return out;
}

/** The periods a hunt queries: the window's UTC days, and those of anomaly's history span before it. */
export function huntPeriods(rule: Rule, window: Window): { window: Window[]; history: Window[] } {
  return { window: utcDays(window), history: utcDays(historyWindowOf(rule, window)) };
}

/** A sleep that ends early when `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs the hunt's queries; the usage groups of the window and of the history span. */
export async function huntLogGroups(options: HuntOptions): Promise<HuntOutcome> {
  const { rule, window } = options;
  // Stops every worker's query: on the caller's abort, or when one query fails (the others are not worth paying for).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const time = options.clock ?? { now: Date.now, sleep: sleepUnlessAborted };
  const clock: QueryClock = {
    now: () => time.now(),
    sleep: (ms) => time.sleep(ms, stop.signal),
    // No deadline: the user decides when to stop.
    deadlineMs: Number.POSITIVE_INFINITY,
  };
  const warnings = new Map<string, number>();
  const note = (message: string) => warnings.set(message, (warnings.get(message) ?? 0) + 1);
  const logger: Log = { info: () => {}, warn: note, error: note };
  const running = new Map<string, number>();
  const periods = huntPeriods(rule, window);
  const total = periods.window.length + periods.history.length;
  let periodsDone = 0;
  const progress = () =>
    options.onProgress?.({
      periodsDone,
      periods: total,
      bytesScanned: [...running.values()].reduce((a, b) => a + b, 0),
    });
  const queries = new RunQueries(
    { rule, logGroupIdentifiers: options.logGroupIdentifiers },
    { insights: options.client, logger, metrics: { addMetric: () => undefined }, rowLimit: options.rowLimit },
    clock,
    {
      signal: stop.signal,
      onStatistics: (s, queryId) => {
        running.set(queryId, s.bytesScanned);
        progress();
      },
    },
  );

  let limitReached = 0;
  const windowGroups: UsageGroup[] = [];
  const historyGroups: UsageGroup[] = [];
  const accountLevelAccounts = new Set<string>();
  const todo = [
    ...periods.window.map((p) => ({ period: p, into: windowGroups })),
    ...periods.history.map((p) => ({ period: p, into: historyGroups })),
  ];
  const failures: unknown[] = [];
  const stoppedQueries = new Set<string>();
  const worker = async () => {
    for (let work = todo.shift(); work !== undefined && !stop.signal.aborted; work = todo.shift()) {
      try {
        const out = await queryPeriod(queries, work.period, logger, () => limitReached++);
        work.into.push(...out.groups);
        if (out.accountLevel) for (const g of out.groups) accountLevelAccounts.add(g.accountId);
        periodsDone++;
        progress();
      } catch (err) {
        if (err instanceof QueryStoppedError) {
          if (err.queryId !== undefined) stoppedQueries.add(err.queryId);
        } else failures.push(err);
        stop.abort();
      }
    }
  };
  progress();
  try {
    const workers = Math.max(1, Math.min(options.concurrency, total));
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (failures.length > 0) throw failures[0];
  if (options.signal?.aborted) {
    const n = stoppedQueries.size;
    throw new CliError(
      `interrupted after ${periodsDone} of ${total} days: ${n} running quer${n === 1 ? "y" : "ies"} stopped`,
      { exitCode: EXIT.interrupted },
    );
  }
  return {
    usage: { window: windowGroups, history: historyGroups },
    accountLevelAccounts,
    periods: { window: periods.window.length, history: periods.history.length },
    queries: queries.queries,
    bytesScanned: queries.statistics.bytesScanned,
    recordsScanned: queries.statistics.recordsScanned,
    limitReached,
    rowsRejected: queries.rowsRejected,
    valuesRejected: queries.valuesRejected,
    warnings,
  };
}
