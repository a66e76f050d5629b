/**
 * One period's usage groups from Logs Insights, whatever its size: a period whose rows reach the row limit is
 * halved (the halves' groups add up to the period's exactly) down to MIN_SPLIT_MS, and below that read per
 * account (principals and hours unknown there). Shared by the scheduled Lambda's stored periods and the CLI's
 * `insights` command's days.
 */
import type { Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import type { Log } from "./detection-deps.js";
import type { RunQueries } from "./queries.js";

/** Periods queried at once (catching up, hunting): well under Logs Insights' 100 per account. */
export const PERIOD_QUERY_CONCURRENCY = 4;

/** A period whose rows reach the row limit is halved down to this before falling back to account-level rows. */
export const MIN_SPLIT_MS = 60_000;

export interface PeriodUsage {
  readonly groups: UsageGroup[];
  /** Some of the period could only be read per account (identity exclusions cannot apply there). */
  readonly accountLevel: boolean;
}

/**
 * Queries `period` with the `usage` shape, splitting it while its rows reach the row limit. `onLimit` is told
 * each time a query's rows reach it.
 */
export async function queryPeriod(
  queries: RunQueries,
  period: Window,
  logger: Log,
  onLimit: () => void,
): Promise<PeriodUsage> {
  const out = await queries.run("usage", period);
  if (!queries.full(out)) return { groups: queries.groupsOf(out), accountLevel: false };
  onLimit();
  if (period.endMs - period.startMs >= 2 * MIN_SPLIT_MS) {
    // Halves hold fewer rows; their groups add up to the whole period's exactly.
    const mid = period.startMs + Math.floor((period.endMs - period.startMs) / 2);
    const a = await queryPeriod(queries, { startMs: period.startMs, endMs: mid }, logger, onLimit);
    const b = await queryPeriod(queries, { startMs: mid, endMs: period.endMs }, logger, onLimit);
    return { groups: [...a.groups, ...b.groups], accountLevel: a.accountLevel || b.accountLevel };
  }
  logger.error("usage rows reached the row limit even for a minute; using account-level rows", {
    window: { start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString() },
  });
  return { groups: queries.groupsOf(await queries.run("usage-account", period)), accountLevel: true };
}
