/**
 * One alert per incident: an account alerted within the suppression period is not alerted again unless it
 * escalates: a detection that had not fired fires, its request count (or cached-input requests) grows by
 * `countFactor`, a maximum (or the heaviest principal-hour's tokens, token-volume's or anomaly's) by `maxFactor`, or a principal that was
 * not behind the last alert is now (a leaked key starting after a legitimate batch job). Principals, not
 * sessions: a new session of a role already alerted on (a new build id, a new instance) is the same incident.
 * A retried run (same window end) never re-sends. Every decision carries the reason in plain words.
 */
import type { Finding } from "../core/evaluator.js";
import type { DetectionName } from "../core/finding.js";
import { METRIC_INFO, METRICS } from "../core/rule.js";

/** What the ledger remembers of the last alert for an account. */
export interface LastAlert {
  readonly windowEndMs: number;
  /** The hunt's numbers (null: the hunt had not fired). */
  readonly requestCount: number | null;
  readonly maxPromptTokens: number | null;
  readonly maxRequestSize: number | null;
  readonly maxCompletionTokens: number | null;
  /** The detections that had fired. */
  readonly detections: readonly DetectionName[];
  /** cached-input's request count, and token-volume's heaviest principal-hour (null: had not fired). */
  readonly cachedInputRequests: number | null;
  readonly volumeTokens: number | null;
  /** anomaly's heaviest principal-hour (null: had not fired; also for ledger items older than anomaly). */
  readonly anomalyTokens?: number | null;
  /** Principals behind the alerted detections, heaviest first (see `identitiesComplete`). */
  readonly identities: readonly string[];
  /** False when the list was cut to fit the ledger item: then no principal can be called new. */
  readonly identitiesComplete: boolean;
}

/** Principal ARN characters remembered per alert: any real incident's, well inside an item's 400 KB. */
export const LEDGER_IDENTITY_BUDGET = 200_000;

/** The heaviest principals that fit the ledger's budget, and whether that is all of them. */
export function identitiesToRemember(identities: readonly string[]): {
  identities: string[];
  complete: boolean;
} {
  const kept: string[] = [];
  let used = 0;
  for (const arn of identities) {
    if (used + arn.length > LEDGER_IDENTITY_BUDGET) return { identities: kept, complete: false };
    kept.push(arn);
    used += arn.length;
  }
  return { identities: kept, complete: true };
}

export interface EscalationPolicy {
  readonly suppressForMs: number;
  /** The request count must reach this multiple of the last alert's. */
  readonly countFactor: number;
  /** A maximum must reach this multiple of the last alert's. */
  readonly maxFactor: number;
}

export type AlertDecision =
  | {
      readonly send: true;
      readonly kind: "first" | "escalated" | "suppression expired";
      readonly reason: string;
    }
  | {
      readonly send: false;
      readonly kind: "already sent for this window" | "suppressed";
      readonly reason: string;
    };

const n = (v: number) => v.toLocaleString("en-US");

/** The alert decision for a finding, given the principals behind it and the last alert. */
export function decideAlert(
  finding: Pick<
    Finding,
    | "requestCount"
    | "maxPromptTokens"
    | "maxRequestSize"
    | "maxCompletionTokens"
    | "detections"
    | "cachedInput"
    | "tokenVolume"
    | "anomaly"
  >,
  principals: readonly string[],
  last: LastAlert | null,
  windowEndMs: number,
  policy: EscalationPolicy,
): AlertDecision {
  if (!last) return { send: true, kind: "first", reason: "first alert for this account" };
  if (last.windowEndMs === windowEndMs) {
    return { send: false, kind: "already sent for this window", reason: "already alerted for this window" };
  }
  // A backfill of an older window, or a last alert older than the suppression period: a new incident.
  if (windowEndMs < last.windowEndMs || windowEndMs - last.windowEndMs >= policy.suppressForMs) {
    return {
      send: true,
      kind: "suppression expired",
      reason: `suppression expired (last alert for the window ending ${new Date(last.windowEndMs).toISOString()})`,
    };
  }
  const grew: string[] = [];
  const added = finding.detections.filter((d) => !last.detections.includes(d));
  if (added.length > 0) grew.push(`now also ${added.join(", ")}`);
  if (
    finding.requestCount !== null &&
    last.requestCount !== null &&
    finding.requestCount >= policy.countFactor * last.requestCount
  ) {
    grew.push(`requests ${n(last.requestCount)} → ${n(finding.requestCount)}`);
  }
  const cached = finding.cachedInput?.requestCount ?? null;
  if (
    cached !== null &&
    last.cachedInputRequests !== null &&
    cached >= policy.countFactor * last.cachedInputRequests
  ) {
    grew.push(`cached-input requests ${n(last.cachedInputRequests)} → ${n(cached)}`);
  }
  const volume = finding.tokenVolume?.totalTokens ?? null;
  if (volume !== null && last.volumeTokens !== null && volume >= policy.maxFactor * last.volumeTokens) {
    grew.push(`tokens in one hour ${n(last.volumeTokens)} → ${n(volume)}`);
  }
  const anomaly = finding.anomaly?.totalTokens ?? null;
  const lastAnomaly = last.anomalyTokens ?? null;
  if (anomaly !== null && lastAnomaly !== null && anomaly >= policy.maxFactor * lastAnomaly) {
    grew.push(`anomalous hour's tokens ${n(lastAnomaly)} → ${n(anomaly)}`);
  }
  for (const m of METRICS) {
    const field = METRIC_INFO[m].maxField;
    const now = finding[field];
    const before = last[field];
    if (now === null || (before === null && last.requestCount === null)) continue;
    if (before === null) grew.push(`max ${METRIC_INFO[m].label} none → ${n(now)}`);
    else if (now >= policy.maxFactor * before)
      grew.push(`max ${METRIC_INFO[m].label} ${n(before)} → ${n(now)}`);
  }
  const known = new Set(last.identities);
  // Only decidable against a complete list: a truncated one would make every unlisted principal look new.
  const fresh = last.identitiesComplete ? principals.filter((i) => !known.has(i)) : [];
  if (fresh.length > 0) {
    grew.push(
      // "identity": a principal is the identity without its session.
      `new ${fresh.length === 1 ? "identity" : `identities (${fresh.length})`} ${fresh.slice(0, 3).join(", ")}`,
    );
  }
  if (grew.length > 0) return { send: true, kind: "escalated", reason: `escalated: ${grew.join("; ")}` };
  return {
    send: false,
    kind: "suppressed",
    reason: `suppressed until ${new Date(last.windowEndMs + policy.suppressForMs).toISOString()} unless it escalates`,
  };
}
