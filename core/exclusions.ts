/**
 * Exclusions are part of the rule: requests of excluded accounts and identities count towards nothing, in
 * the in-process evaluator and in the Lambda's merge of Logs Insights rows alike.
 */
import { principalOf } from "./principal.js";
import type { Rule } from "./rule.js";

/** IAM/STS ARN glob: ARN characters plus `*` (any run of characters); the account may be `*`. */
export const IDENTITY_PATTERN = /^arn:aws[\w-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@\-/*]+$/;

/** An identity ARN glob as an anchored regular expression. */
export function identityPatternToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

/** True for a request the rule leaves out. Compiled once per rule. */
export type ExclusionTest = (accountId: string, identityArn: string | null) => boolean;

export function exclusionsOf(
  rule: Pick<Rule, "excludedAccountIds" | "excludedIdentityPatterns">,
): ExclusionTest {
  const accounts = new Set(rule.excludedAccountIds);
  const identities = rule.excludedIdentityPatterns.map(identityPatternToRegExp);
  if (accounts.size === 0 && identities.length === 0) return () => false;
  return (accountId, identityArn) =>
    accounts.has(accountId) || (identityArn !== null && identities.some((re) => re.test(identityArn)));
}

/**
 * The principal of a request the rule keeps, or null for one it leaves out: exclusions first, then each
 * identity's principal worked out once. `copy` makes what the cache holds (the scanner's strings are slices that
 * would keep whole records alive); `maxCached` bounds the cache where identities (role sessions) rotate without end.
 */
export function keptPrincipalOf(
  rule: Pick<Rule, "excludedAccountIds" | "excludedIdentityPatterns">,
  opts: { copy?: (s: string) => string; maxCached?: number } = {},
): (accountId: string, identityArn: string | null) => string | null {
  const excluded = exclusionsOf(rule);
  const copy = opts.copy ?? ((s: string) => s);
  const maxCached = opts.maxCached ?? Number.POSITIVE_INFINITY;
  const principals = new Map<string | null, string>();
  return (accountId, identityArn) => {
    if (excluded(accountId, identityArn)) return null;
    let principal = principals.get(identityArn);
    if (principal === undefined) {
      principal = copy(principalOf(identityArn));
      if (principals.size >= maxCached) principals.clear();
      principals.set(identityArn === null ? null : copy(identityArn), principal);
    }
    return principal;
  };
}
