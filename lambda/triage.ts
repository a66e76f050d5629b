/**
 * What on-call staff need to decide quickly, derived from a finding: its severity (a documented rule), what
 * kind of principal the top identity is and what to check for it, and the exclusion pattern that would
 * silence it as a known heavy user. Pure.
 */
import type { Finding } from "../core/evaluator.js";
import { METRIC_INFO, METRICS, type Rule } from "../core/rule.js";

export type Severity = "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

/** Security Hub's normalized scores for each label (ASFF `Severity.Normalized` ranges' midpoints). */
export const SEVERITY_SCORE: Record<Severity, number> = { LOW: 20, MEDIUM: 50, HIGH: 80, CRITICAL: 95 };

const RANK: Record<Severity, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };

/** Bars of a severity ladder: CRITICAL needs both, HIGH or MEDIUM either of an excess and a count. */
interface Ladder {
  readonly critical: readonly [excess: number, count: number];
  readonly high: readonly [excess: number, count: number];
  readonly medium: readonly [excess: number, count: number];
}

/** The hunt's ladder, also cached-input's (count: requests over minRequests). */
const REQUESTS_LADDER: Ladder = { critical: [10, 10], high: [10, 10], medium: [2, 3] };
/** token-volume's ladder (count: principal-hours over a limit). */
const HOURS_LADDER: Ladder = { critical: [10, 3], high: [4, 6], medium: [2, 2] };

function climb(l: Ladder, excess: number, count: number): Severity {
  if (excess >= l.critical[0] && count >= l.critical[1]) return "CRITICAL";
  if (excess >= l.high[0] || count >= l.high[1]) return "HIGH";
  if (excess >= l.medium[0] || count >= l.medium[1]) return "MEDIUM";
  return "LOW";
}

/**
 * The severity rule (docs/alerts-and-runbook.md "Severity"), per detection, the highest wins:
 * - heavy-requests: `excess` is the largest maximum over its threshold (170,000 prompt tokens against 8,000 is
 *   21x), `volume` the request count over minRequests. CRITICAL: excess >= 10 and volume >= 10. HIGH: excess
 *   >= 10 or volume >= 10. MEDIUM: excess >= 2 or volume >= 3. LOW: anything else (just over the rule).
 * - cached-input: the same, with the largest cached input over its threshold and its request count.
 * - token-volume: `excess` is the heaviest principal-hour over its limit (tokens or requests), `hours` the
 *   principal-hours over a limit. CRITICAL: excess >= 10 and hours >= 3. HIGH: excess >= 4 or hours >= 6.
 *   MEDIUM: excess >= 2 or hours >= 2. LOW: anything else. (An hour's volume is already a sum: 4x a limit set
 *   at 20x a busy service is serious.)
 * - anomaly: token-volume's ladder, `excess` being the heaviest hour over its threshold (the larger of
 *   anomalyFactor x baseline and the floor), `hours` the principal-hours over theirs.
 */
export function severityOf(
  f: Pick<
    Finding,
    | "maxPromptTokens"
    | "maxRequestSize"
    | "maxCompletionTokens"
    | "requestCount"
    | "cachedInput"
    | "tokenVolume"
    | "anomaly"
  >,
  rule: Rule,
): { severity: Severity; why: string } {
  const levels: { severity: Severity; why: string }[] = [];
  if (f.requestCount !== null) {
    const excess = Math.max(
      0,
      ...METRICS.map((m) => {
        const v = f[METRIC_INFO[m].maxField];
        return v === null ? 0 : v / rule.thresholds[m];
      }),
    );
    const volume = f.requestCount / rule.minRequests;
    levels.push({
      severity: climb(REQUESTS_LADDER, excess, volume),
      why: `max ${excess.toFixed(1)}x its threshold, ${volume.toFixed(1)}x the minimum request count`,
    });
  }
  if (f.cachedInput) {
    const excess = f.cachedInput.maxCachedInputTokens / rule.cachedInputTokens;
    const volume = f.cachedInput.requestCount / rule.minRequests;
    levels.push({
      severity: climb(REQUESTS_LADDER, excess, volume),
      why: `cached input ${excess.toFixed(1)}x its threshold, ${volume.toFixed(1)}x the minimum request count`,
    });
  }
  if (f.tokenVolume) {
    const v = f.tokenVolume;
    const excess = Math.max(v.totalTokens / rule.tokensPerHour, v.requests / rule.requestsPerHour);
    const hours = v.hoursOver;
    levels.push({
      severity: climb(HOURS_LADDER, excess, hours),
      why: `${excess.toFixed(1)}x the hourly limit, ${hours} ${hours === 1 ? "hour" : "hours"} over it`,
    });
  }
  if (f.anomaly) {
    const a = f.anomaly;
    const excess = a.totalTokens / a.thresholdTokens;
    levels.push({
      severity: climb(HOURS_LADDER, excess, a.hoursOver),
      why: `${excess.toFixed(1)}x its anomaly threshold, ${a.hoursOver} ${a.hoursOver === 1 ? "hour" : "hours"} over it`,
    });
  }
  const worst = levels.reduce<{ severity: Severity; why: string } | null>(
    (a, b) => (a === null || RANK[b.severity] > RANK[a.severity] ? b : a),
    null,
  );
  return worst ?? { severity: "LOW", why: "no detection fired" };
}

/**
 * The identity behind a finding's heaviest evidence: the top identity of the hunt's requests, or, for an
 * account only token-volume, anomaly or cached-input flagged, the busiest session of the hour over a limit, else the
 * account's top identity.
 */
export const topIdentityOf = (
  f: Pick<Finding, "requestCount" | "tokenVolume" | "anomaly" | "topIdentities">,
): { readonly identityArn: string } | undefined =>
  (f.requestCount === null ? (f.tokenVolume ?? f.anomaly)?.topSessions[0] : undefined) ?? f.topIdentities[0];

export type PrincipalKind =
  | "iam-user"
  | "bedrock-api-key"
  | "role-session"
  | "sso-session"
  | "root"
  | "federated"
  | "unknown";

export interface Principal {
  readonly kind: PrincipalKind;
  /** IAM user, role or federated user name. */
  readonly name?: string;
  readonly session?: string;
  /** The `excludedIdentityPatterns` entry that would silence this principal (all sessions of a role). */
  readonly exclusionPattern?: string;
  /** The ASFF resource type for Security Hub. */
  readonly resourceType: "AwsIamUser" | "AwsIamRole" | "Other";
}

const IAM_ARN = /^(arn:aws[\w-]*):(iam|sts)::(\d{12}):(.+)$/;

export function principalOf(arn: string): Principal {
  const m = IAM_ARN.exec(arn);
  if (!m) return { kind: "unknown", resourceType: "Other" };
  const [, prefix, service, account, resource = ""] = m;
  if (service === "iam" && resource === "root")
    return { kind: "root", exclusionPattern: arn, resourceType: "Other" };
  if (service === "iam" && resource.startsWith("user/")) {
    const name = resource.slice(resource.lastIndexOf("/") + 1);
    return {
      kind: name.startsWith("BedrockAPIKey-") ? "bedrock-api-key" : "iam-user",
      name,
      exclusionPattern: arn,
      resourceType: "AwsIamUser",
    };
  }
  if (service === "sts" && resource.startsWith("assumed-role/")) {
    const [, role = "", ...session] = resource.split("/");
    return {
      kind: role.startsWith("AWSReservedSSO_") ? "sso-session" : "role-session",
      name: role,
      session: session.join("/"),
      exclusionPattern: `${prefix}:sts::${account}:assumed-role/${role}/*`,
      resourceType: "AwsIamRole",
    };
  }
  if (service === "sts" && resource.startsWith("federated-user/")) {
    return {
      kind: "federated",
      name: resource.slice("federated-user/".length),
      exclusionPattern: arn,
      resourceType: "Other",
    };
  }
  return { kind: "unknown", exclusionPattern: arn, resourceType: "Other" };
}

/** What to check for the top identity, by the kind of principal. */
export function principalAdvice(p: Principal, accountId: string): string {
  switch (p.kind) {
    case "iam-user":
      return `The top identity is IAM user ${p.name}, which signs with long-term access keys: in IAM > Users > ${p.name} > Security credentials, check which key was used recently and from where (CloudTrail, filter on the user name); if it is abused, deactivate the key, then rotate it.`;
    case "bedrock-api-key":
      return `The top identity is ${p.name}, the IAM user behind a long-term Amazon Bedrock API key: check who holds that key and where it is used; if it is abused, revoke the key (IAM > Users > ${p.name} > Security credentials > API keys for Amazon Bedrock).`;
    case "role-session":
      return `The top identity is a session of role ${p.name} (session name ${p.session || "(none)"}): find who or what assumed it (CloudTrail AssumeRole events for the role, by session name and source IP); a workload's role usually means a runaway job or leaked workload credentials. If it is abused, revoke active sessions (IAM > Roles > ${p.name} > Revoke active sessions) and fix the trust policy.`;
    case "sso-session":
      return `The top identity is an IAM Identity Center (SSO) user through permission set role ${p.name} (user ${p.session || "(unknown)"}): ask that person, and check their sign-ins in IAM Identity Center; if it is abused, remove the user's access to account ${accountId} and revoke the role's active sessions.`;
    case "root":
      return `The top identity is the root user of account ${accountId}: root should never call Bedrock. Treat this as a compromise: secure the root credentials (password, MFA, delete any root access keys) now.`;
    case "federated":
      return `The top identity is a federated user (${p.name}) from GetFederationToken: find the IAM user that issued the token (CloudTrail GetFederationToken events) and check that user's access keys; if it is abused, deactivate them.`;
    case "unknown":
      return "The top identity could not be read reliably from the logs: open the Logs Insights link and check the identity of the matching requests.";
  }
}
