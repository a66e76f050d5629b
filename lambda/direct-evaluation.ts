/**
 * A window evaluated by querying it whole: manual runs (backfill, investigation) and runs without a state
 * table. One usage query does it all (Insights bills every byte in the window, so a second query doubles
 * the cost); when its rows reach the row limit, the account-level query finds the accounts any detection could
 * flag and a second usage query fetches theirs only. anomaly takes the history the state table holds for the
 * hours before the window (the scheduled runs' roll-ups), and the findings say when it holds less than asked.
 */
import { METRIC } from "../config/names.js";
import { type History, HourlyTotals, knownFromOf, noHistory } from "../core/anomaly.js";
import { evaluateUsage } from "../core/detections.js";
import { ACCOUNT_ID, MAX_FILTER_ACCOUNT_IDS } from "../core/insights-query.js";
import { DAY_MS, HOUR_MS, hourOf, type Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import { type HistoryDeps, readCandidateHistory } from "./anomaly-history.js";
import type { DetectorConfig } from "./config.js";
import type { DetectionDeps } from "./detection-deps.js";
import { type Evaluation, withAccountLevelCaveat } from "./evaluation.js";
import type { RunQueries } from "./queries.js";

/** Said on every finding of a manual run whose history the state table does not hold (in whole or in part). */
export const MANUAL_HISTORY_CAVEAT = (known: number, asked: number) =>
  known === 0
    ? `anomaly: no history is stored for the ${asked} hours before this window (the scheduled runs keep it for baselineDays); principals are compared with this window's own hours.`
    : `anomaly: ${known} of the ${asked} hours before this window have stored history; principals are compared with the history there is.`;

/** The stored history for the principals of `groups` with an hour above the floor (none without a store). */
async function storedHistory(
  config: DetectorConfig,
  window: Window,
  groups: readonly UsageGroup[],
  store: HistoryDeps | undefined,
): Promise<{ history: History; knownHours: number; askedHours: number }> {
  const rule = config.rule;
  const firstHour = hourOf(window.startMs);
  const fromMs = firstHour - rule.baselineDays * DAY_MS;
  const askedHours = rule.baselineDays * 24;
  if (!store || askedHours === 0) return { history: noHistory(window.startMs), knownHours: 0, askedHours };
  const index = await store.readIndex();
  const knownFromMs = knownFromOf(index, fromMs, firstHour);
  const { history } = await readCandidateHistory(
    groups,
    rule,
    store,
    { fromMs, toMs: firstHour, knownFromMs },
    new HourlyTotals(),
  );
  return { history, knownHours: (firstHour - knownFromMs) / HOUR_MS, askedHours };
}

export async function evaluateDirectly(
  config: DetectorConfig,
  window: Window,
  queries: RunQueries,
  deps: DetectionDeps,
  historyStore?: HistoryDeps,
): Promise<Evaluation> {
  const evaluation = await evaluateWhole(config, window, queries, deps, historyStore);
  if (!historyStore || evaluation.knownHours >= evaluation.askedHours) return evaluation;
  const caveat = MANUAL_HISTORY_CAVEAT(evaluation.knownHours, evaluation.askedHours);
  return {
    ...evaluation,
    findings: evaluation.findings.map((f) => ({ ...f, caveats: [...(f.caveats ?? []), caveat] })),
  };
}

async function evaluateWhole(
  config: DetectorConfig,
  window: Window,
  queries: RunQueries,
  deps: DetectionDeps,
  historyStore: HistoryDeps | undefined,
): Promise<Evaluation & { knownHours: number; askedHours: number }> {
  let known = { knownHours: 0, askedHours: config.rule.baselineDays * 24 };
  let history: History = noHistory(window.startMs);
  // The rule's exclusions, as the scanner applies them: excluded requests count towards nothing.
  const evaluate = (groups: readonly UsageGroup[]) =>
    evaluateUsage(groups, config.rule, window, undefined, history);
  const withHistory = async (groups: readonly UsageGroup[]) => {
    const stored = await storedHistory(config, window, groups, historyStore);
    history = stored.history;
    known = { knownHours: stored.knownHours, askedHours: stored.askedHours };
  };
  const primary = await queries.run("usage", window);
  if (!queries.full(primary)) {
    const groups = queries.groupsOf(primary);
    await withHistory(groups);
    const { findings, principals } = evaluate(groups);
    return { findings, principals, fellBack: false, ...known };
  }

  // Rows hit the limit: some (account, identity, model, hour) groups are missing.
  deps.logger.warn("usage rows reached the row limit; falling back to the account-level query", {
    limit: queries.limit,
  });
  deps.metrics.addMetric(METRIC.resultLimitReached, "Count", 1);
  const accountRows = await queries.run("usage-account", window);
  if (queries.full(accountRows)) {
    deps.logger.error("account-level rows reached the row limit too: some accounts may be missing", {
      limit: queries.limit,
    });
  }
  const accountGroups = queries.groupsOf(accountRows);
  // Every account a detection could flag: each account's requests taken as one principal in one hour can only
  // reach more thresholds than they do apart.
  const windowHour = hourOf(window.startMs);
  const candidates = evaluate(accountGroups.map((g) => ({ ...g, hourMs: windowHour }))).findings.map(
    (f) => f.accountId,
  );
  // Ids that fit a query filter; past MAX_FILTER_ACCOUNT_IDS (an org-wide incident) alerts go out with
  // account-level numbers only rather than failing the run on an over-long query.
  const filterable = candidates.filter((id) => ACCOUNT_ID.test(id));
  const fits = filterable.length + config.rule.excludedAccountIds.length <= MAX_FILTER_ACCOUNT_IDS;
  if (!fits) {
    deps.logger.error(
      "too many flagged accounts to fetch evidence for; alerting with account-level numbers",
      {
        flagged: filterable.length,
      },
    );
  }
  const queryable = new Set(fits ? filterable : []);
  const evidence = queryable.size > 0 ? await queries.run("usage", window, [...queryable]) : null;
  if (evidence === null || !queries.full(evidence)) {
    // Accounts whose ids cannot go into a query filter keep their account-level numbers.
    const approximate = accountGroups.filter((g) => !queryable.has(g.accountId));
    const groups = [...(evidence ? queries.groupsOf(evidence) : []), ...approximate];
    await withHistory(groups);
    const { findings, principals } = evaluate(groups);
    const approximateIds = new Set(approximate.map((g) => g.accountId));
    return {
      findings: withAccountLevelCaveat(findings, config, approximateIds),
      principals,
      fellBack: true,
      ...known,
    };
  }
  deps.logger.error(
    "evidence for the flagged accounts still reached the row limit; alerts carry no identity evidence",
  );
  await withHistory(accountGroups);
  const { findings, principals } = evaluate(accountGroups);
  return {
    principals,
    findings: withAccountLevelCaveat(findings, config, new Set(findings.map((f) => f.accountId))),
    fellBack: true,
    ...known,
  };
}
