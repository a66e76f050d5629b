/**
 * Logs Insights queries for one run: builds the rule's query text for a window and shape, runs it within the
 * run's deadline, turns rows into usage groups, and keeps the run's totals (queries, bytes, rejected rows).
 * Shared by the Lambda and the CLI's `insights` command: it needs the rule, the log groups, a client, a logger
 * and a metric sink, not the Lambda's whole configuration.
 */
import { METRIC } from "../config/names.js";
import { buildInsightsQuery, DEFAULT_ROW_LIMIT } from "../core/insights-query.js";
import { parseUsageRows } from "../core/insights-rows.js";
import type { Rule, Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import {
  type QueryClock,
  type QueryOutcome,
  type QueryStatistics,
  type QueryWatch,
  runInsightsQuery,
} from "./adapters/logs-insights.js";
import type { DetectionDeps } from "./detection-deps.js";

/** What the queries are about: the rule and the log groups (the Lambda's DetectorConfig is one). */
export interface QueryTarget {
  readonly rule: Rule;
  readonly logGroupIdentifiers: readonly string[];
}

/** What the queries run with (the Lambda's DetectionDeps is one). */
export type QueryDeps = Pick<DetectionDeps, "insights" | "logger" | "metrics" | "rowLimit">;

/** A query's outcome with the window it was run for (the rows' times are relative to it). */
export type WindowOutcome = QueryOutcome & { readonly window: Window };

export class RunQueries {
  readonly statistics: QueryStatistics = { bytesScanned: 0, recordsScanned: 0, recordsMatched: 0 };
  queries = 0;
  rowsRejected = 0;
  /** Values made missing in kept rows (not integers, e.g. a count beyond the safe range). */
  valuesRejected = 0;
  readonly limit: number;

  constructor(
    private readonly config: QueryTarget,
    private readonly deps: QueryDeps,
    readonly clock: QueryClock,
    private readonly watch: QueryWatch = {},
  ) {
    this.limit = deps.rowLimit ?? DEFAULT_ROW_LIMIT;
  }

  /** Runs the rule's query of `shape` over `window`, optionally only for some accounts. */
  async run(
    shape: "usage" | "usage-account",
    window: Window,
    onlyAccountIds?: string[],
  ): Promise<WindowOutcome> {
    const queryString = buildInsightsQuery(this.config.rule, window, {
      shape,
      limit: this.limit,
      excludeAccountIds: this.config.rule.excludedAccountIds,
      onlyAccountIds,
    });
    const out = await runInsightsQuery(
      this.deps.insights,
      { logGroupIdentifiers: this.config.logGroupIdentifiers, queryString, window, limit: this.limit },
      this.clock,
      this.watch,
    );
    this.queries++;
    this.statistics.bytesScanned += out.statistics.bytesScanned;
    this.statistics.recordsScanned += out.statistics.recordsScanned;
    this.statistics.recordsMatched += out.statistics.recordsMatched;
    this.deps.logger.info("query complete", {
      shape,
      window: { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() },
      queryId: out.queryId,
      rows: out.rows.length,
      ...out.statistics,
      durationMs: out.durationMs,
    });
    this.deps.metrics.addMetric(METRIC.queryDuration, "Milliseconds", out.durationMs);
    return { ...out, window };
  }

  /** True when a query's rows reached the row limit: some groups may be missing. */
  full(out: QueryOutcome): boolean {
    return out.rows.length >= this.limit;
  }

  /** The rows as usage groups; rows that cannot be trusted are logged (reason and field names only) and counted. */
  groupsOf(out: WindowOutcome): UsageGroup[] {
    const { groups, rejected, rejectedValues } = parseUsageRows(out.rows, out.window);
    this.rowsRejected += rejected.length;
    this.valuesRejected += rejectedValues.length;
    // The reason and the field names only: row values may hold text a caller wrote.
    for (const r of rejected)
      this.deps.logger.warn("result row rejected", { reason: r.reason, fields: Object.keys(r.row) });
    for (const v of rejectedValues)
      this.deps.logger.warn("result value rejected", { field: v.field, reason: v.reason });
    return groups;
  }
}
