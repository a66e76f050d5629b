/**
 * A window evaluated by querying it whole: manual runs (backfill, investigation) and runs without a state
 * table. One usage query does it all (Insights bills every byte in the window, so a second query doubles
 * the cost); when its rows reach the row limit, the account-level query finds the accounts any detection could
 * flag and a second usage query fetches theirs only.
 */
import { METRIC } from "../config/names.js";
import { evaluateUsage } from "../core/detections.js";
import { ACCOUNT_ID, MAX_FILTER_ACCOUNT_IDS } from "../core/insights-query.js";
import { hourOf, type Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import type { DetectorConfig } from "./config.js";
import { type Evaluation, withAccountLevelCaveat } from "./evaluation.js";
import type { RunQueries } from "./queries.js";
import type { DetectionDeps } from "./run-detection.js";

export async function evaluateDirectly(
  config: DetectorConfig,
  window: Window,
  queries: RunQueries,
  deps: DetectionDeps,
): Promise<Evaluation> {
  // The rule's exclusions, as the scanner applies them: excluded requests count towards nothing.
  const evaluate = (groups: readonly UsageGroup[]) => evaluateUsage(groups, config.rule, window);
  const primary = await queries.run("usage", window);
  if (!queries.full(primary)) {
    const { findings, principals } = evaluate(queries.groupsOf(primary));
    return { findings, principals, fellBack: false };
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
    const { findings, principals } = evaluate([
      ...(evidence ? queries.groupsOf(evidence) : []),
      ...approximate,
    ]);
    const approximateIds = new Set(approximate.map((g) => g.accountId));
    return {
      findings: withAccountLevelCaveat(findings, config, approximateIds),
      principals,
      fellBack: true,
    };
  }
  deps.logger.error(
    "evidence for the flagged accounts still reached the row limit; alerts carry no identity evidence",
  );
  const { findings, principals } = evaluate(accountGroups);
  return {
    principals,
    findings: withAccountLevelCaveat(findings, config, new Set(findings.map((f) => f.accountId))),
    fellBack: true,
  };
}
