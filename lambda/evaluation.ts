/** What evaluating a window yields, whichever way it was queried (whole, or from stored slices). */
import type { Finding } from "../core/evaluator.js";
import type { Rule } from "../core/rule.js";

/** A window's findings, and the principals behind them. */
export interface Evaluation {
  readonly findings: Finding[];
  /** True when rows reached the row limit and a fallback was used. */
  readonly fellBack: boolean;
  /** Per flagged account, the principals behind its detections, most requests first (core/detections.ts). */
  readonly principals: ReadonlyMap<string, readonly string[]>;
}

/** Shown on findings whose numbers come from account-level rows, where identity exclusions cannot apply. */
export const ACCOUNT_LEVEL_CAVEAT =
  "These numbers come from the account-level query: they include requests of identities excluded by the rule.";

/** Shown on token-volume findings from account-level rows, where principals are unknown. */
export const ACCOUNT_LEVEL_VOLUME_CAVEAT =
  "Some periods could only be read per account: there, the account's principals count together as one (unknown) principal for token-volume.";

export function withAccountLevelCaveat(
  findings: Finding[],
  config: { readonly rule: Pick<Rule, "excludedIdentityPatterns"> },
  accountLevel: ReadonlySet<string>,
): Finding[] {
  return findings.map((f) => {
    if (!accountLevel.has(f.accountId)) return f;
    const caveats = [
      ...(config.rule.excludedIdentityPatterns.length > 0 ? [ACCOUNT_LEVEL_CAVEAT] : []),
      ...(f.tokenVolume !== null ? [ACCOUNT_LEVEL_VOLUME_CAVEAT] : []),
    ];
    return caveats.length === 0 ? f : { ...f, caveats: [...(f.caveats ?? []), ...caveats] };
  });
}
