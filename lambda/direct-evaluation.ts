/**
 * A window evaluated by querying it whole: manual runs (backfill, investigation) and runs without a state
 * table. One evidence query does it all (Insights bills every byte in the window, so a second query doubles
 * the cost); when its rows reach the row limit, the account-level query finds the flagged accounts and a
 * second evidence query fetches theirs only.
 */
import { METRIC } from "../config/names.js";
import {
  type Aggregates,
  addGroup,
  aggregateGroups,
  type MatchGroup,
  toFindings,
} from "../core/evaluator.js";
import { ACCOUNT_ID, MAX_FILTER_ACCOUNT_IDS } from "../core/insights-query.js";
import type { Window } from "../core/rule.js";
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
  const merge = (groups: MatchGroup[]): Aggregates => aggregateGroups(groups, config.rule).aggregates;
  const primary = await queries.run("evidence", window);
  if (!queries.full(primary)) {
    const aggregates = merge(queries.groupsOf(primary));
    return { aggregates, findings: toFindings(aggregates, config.rule), fellBack: false };
  }

  // Rows hit the limit: some (account, identity, model) groups are missing.
  deps.logger.warn("evidence rows reached the row limit; falling back to the account-level query", {
    limit: queries.limit,
  });
  deps.metrics.addMetric(METRIC.resultLimitReached, "Count", 1);
  const accountRows = await queries.run("account", window);
  if (queries.full(accountRows)) {
    deps.logger.error(
      "account-level rows reached the row limit too: the lightest flagged accounts may be missing",
      {
        limit: queries.limit,
      },
    );
  }
  const accountGroups = queries.groupsOf(accountRows);
  // Ids that fit a query filter; past MAX_FILTER_ACCOUNT_IDS (an org-wide incident) alerts go out with
  // account-level numbers only rather than failing the run on an over-long query.
  const filterable = accountGroups.map((g) => g.accountId).filter((id) => ACCOUNT_ID.test(id));
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
  const evidence = queryable.size > 0 ? await queries.run("evidence", window, [...queryable]) : null;
  if (evidence === null || !queries.full(evidence)) {
    const exact = merge(evidence ? queries.groupsOf(evidence) : []);
    // Accounts whose ids cannot go into a query filter keep their account-level numbers.
    const approximate = new Set<string>();
    for (const g of accountGroups) {
      if (queryable.has(g.accountId)) continue;
      addGroup(exact, g);
      approximate.add(g.accountId);
    }
    const findings = withAccountLevelCaveat(toFindings(exact, config.rule), config, approximate);
    return { aggregates: exact, findings, fellBack: true };
  }
  deps.logger.error(
    "evidence for the flagged accounts still reached the row limit; alerts carry no identity evidence",
  );
  const all = merge(accountGroups);
  return {
    aggregates: all,
    findings: withAccountLevelCaveat(toFindings(all, config.rule), config, new Set(all.keys())),
    fellBack: true,
  };
}
