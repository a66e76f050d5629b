/** What evaluating a window yields, whichever way it was queried (whole, or from stored slices). */
import type { Aggregates, Finding } from "../core/evaluator.js";
import type { DetectorConfig } from "./config.js";

/** A window's findings with the aggregates behind them (the identities each account's requests came from). */
export interface Evaluation {
  readonly aggregates: Aggregates;
  readonly findings: Finding[];
  /** True when rows reached the row limit and a fallback was used. */
  readonly fellBack: boolean;
}

/** Shown on findings whose numbers come from account-level rows, where identity exclusions cannot apply. */
export const ACCOUNT_LEVEL_CAVEAT =
  "These numbers come from the account-level query: they include requests of identities excluded by the rule.";

export function withAccountLevelCaveat(
  findings: Finding[],
  config: DetectorConfig,
  accountLevel: ReadonlySet<string>,
): Finding[] {
  if (config.rule.excludedIdentityPatterns.length === 0) return findings;
  return findings.map((f) =>
    accountLevel.has(f.accountId) ? { ...f, caveats: [...(f.caveats ?? []), ACCOUNT_LEVEL_CAVEAT] } : f,
  );
}
