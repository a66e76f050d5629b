/**
 * Findings for SOAR tools: the EventBridge event detail and the Security Hub finding (AWS Security Finding
 * Format) of an alerted finding. Only counts, sizes, ids and ARNs, never prompt or completion text. Pure.
 */
import type { AwsSecurityFinding } from "@aws-sdk/client-securityhub";
import {
  addedDetectionTexts,
  detectionSettings,
  detectionTexts,
  headline,
  ruleSummary,
} from "../core/detection-text.js";
import type { Finding } from "../core/evaluator.js";
import { BUILT_IN_PRICES, estimateCost } from "../core/pricing.js";
import type { AlertContext, AlertFinding } from "./alerts.js";
import { principalAdvice, principalOf, SEVERITY_SCORE, severityOf, topIdentityOf } from "./triage.js";

/** Version of the event detail's shape (docs/alerts-and-runbook.md "Findings for SOAR"). */
export const FINDING_EVENT_VERSION = "1";

/** Ids and ARNs longer than this are cut in events (EventBridge entries are at most 256 KB). */
const MAX_ID_CHARS = 2048;
const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 3)}...`);

/** The finding exactly as the scanner's JSON output writes it (ids cut to MAX_ID_CHARS). */
function scannerFinding({ alertReason: _, ...f }: AlertFinding): Finding {
  return {
    ...f,
    topIdentities: f.topIdentities.map((i) => ({ ...i, identityArn: cut(i.identityArn, MAX_ID_CHARS) })),
    topModels: f.topModels.map((m) => ({ ...m, modelId: cut(m.modelId, MAX_ID_CHARS) })),
  };
}

/** The `detail` of a finding event. */
export function findingEventDetail(f: AlertFinding, ctx: AlertContext) {
  const cost = estimateCost(f, ctx.prices ?? BUILT_IN_PRICES);
  return {
    version: FINDING_EVENT_VERSION,
    detector: ctx.detectorLabel,
    region: ctx.region,
    severity: severityOf(f, ctx.rule).severity,
    ...(f.alertReason ? { alertReason: f.alertReason } : {}),
    window: {
      start: new Date(ctx.window.startMs).toISOString(),
      end: new Date(ctx.window.endMs).toISOString(),
    },
    rule: ruleSummary(ctx.rule),
    detectionSettings: detectionSettings(ctx.rule),
    /** The detections that fired, each in plain words (the numbers are in `finding`). */
    detections: detectionTexts(f, ctx.rule),
    /** US dollars, on-demand list prices, priced models only; null when no model's price is known. */
    estimatedCostUsd: cost.pricedModels.length > 0 ? Math.round(cost.usd * 100) / 100 : null,
    finding: scannerFinding(f),
  };
}

/**
 * One Security Hub finding per detector, account and suppression period: a re-alert within the period
 * (escalation, retry) updates it instead of adding a duplicate, a later incident opens a new one.
 */
export function securityHubFindingId(
  f: Pick<Finding, "accountId">,
  ctx: AlertContext,
  periodMs: number,
): string {
  const periodStart = Math.floor(ctx.window.endMs / periodMs) * periodMs;
  return `bedrock-dos-detector/${ctx.detectorLabel}/${f.accountId}/${new Date(periodStart).toISOString()}`;
}

export function securityHubFinding(
  f: AlertFinding,
  ctx: AlertContext,
  opts: { productArn: string; nowMs: number; periodMs: number },
): AwsSecurityFinding {
  const [, partition = "aws", , , ownAccount = ""] = opts.productArn.split(":");
  const { severity } = severityOf(f, ctx.rule);
  const top = topIdentityOf(f);
  const principal = top ? principalOf(top.identityArn) : undefined;
  const remediation = [
    principal ? principalAdvice(principal, f.accountId) : "",
    principal?.exclusionPattern
      ? `Known heavy user: add ${principal.exclusionPattern} to excludedIdentityPatterns.`
      : `Known heavy account: add ${f.accountId} to excludedAccountIds.`,
  ]
    .filter(Boolean)
    .join(" ");
  const others = addedDetectionTexts(f, ctx.rule).map((d) => `${d.name}: ${d.text}.`);
  const maxima = `max prompt tokens ${f.maxPromptTokens ?? "not logged"}, max request size ${f.maxRequestSize ?? "not logged"}, max completion tokens ${f.maxCompletionTokens ?? "not logged"}`;
  return {
    SchemaVersion: "2018-10-08",
    Id: securityHubFindingId(f, ctx, opts.periodMs),
    ProductArn: opts.productArn,
    GeneratorId: `bedrock-dos-detector/${ctx.detectorLabel}`,
    // The product is this account's own: findings are filed under it, the flagged account is a resource.
    AwsAccountId: ownAccount,
    Types: ["TTPs/Impact", "Effects/Resource Consumption", "Effects/Denial of Service"],
    CreatedAt: f.firstSeen,
    UpdatedAt: new Date(opts.nowMs).toISOString(),
    FirstObservedAt: f.firstSeen,
    LastObservedAt: f.lastSeen,
    Severity: { Label: severity, Normalized: SEVERITY_SCORE[severity], Original: severity },
    Title: cut(`Bedrock resource exhaustion: account ${f.accountId}, ${headline(f)}`, 256),
    Description: cut(
      `${
        f.requestCount !== null
          ? `${f.requestCount} Amazon Bedrock requests over the detector's thresholds from account ${f.accountId} between ${f.firstSeen} and ${f.lastSeen} (${maxima})`
          : `Amazon Bedrock usage of account ${f.accountId} between ${f.firstSeen} and ${f.lastSeen}`
      }, seen by detector ${ctx.detectorLabel} in ${ctx.region}.${others.length > 0 ? ` ${others.join(" ")}` : ""}${f.alertReason ? ` Alerted: ${f.alertReason}.` : ""} MITRE ATLAS AML.T0034, OWASP LLM10.`,
      1024,
    ),
    Remediation: { Recommendation: { Text: cut(remediation, 512) } },
    ProductFields: {
      "bedrock-dos-detector/detector": ctx.detectorLabel,
      "bedrock-dos-detector/accountId": f.accountId,
      "bedrock-dos-detector/detections": f.detections.join(","),
      ...(f.requestCount !== null ? { "bedrock-dos-detector/requestCount": String(f.requestCount) } : {}),
      ...(f.cachedInput
        ? { "bedrock-dos-detector/cachedInputRequests": String(f.cachedInput.requestCount) }
        : {}),
      ...(f.tokenVolume
        ? {
            "bedrock-dos-detector/peakHourTokens": String(f.tokenVolume.totalTokens),
            "bedrock-dos-detector/peakHourPrincipal": cut(f.tokenVolume.principal, 2048),
          }
        : {}),
      ...(f.anomaly
        ? {
            "bedrock-dos-detector/anomalyTokens": String(f.anomaly.totalTokens),
            "bedrock-dos-detector/anomalyBaselineTokens": String(f.anomaly.baselineTokens),
            "bedrock-dos-detector/anomalyPrincipal": cut(f.anomaly.principal, 2048),
          }
        : {}),
      "bedrock-dos-detector/windowEnd": new Date(ctx.window.endMs).toISOString(),
      ...(top ? { "bedrock-dos-detector/topIdentity": cut(top.identityArn, 2048) } : {}),
      ...(f.topModels[0] ? { "bedrock-dos-detector/topModel": cut(f.topModels[0].modelId, 2048) } : {}),
    },
    Resources: [
      { Type: "AwsAccount", Id: `AWS::::Account:${f.accountId}`, Partition: partition, Region: ctx.region },
      ...f.topIdentities.map((i) => ({
        Type: principalOf(i.identityArn).resourceType,
        Id: cut(i.identityArn, 512),
        Partition: partition,
        Region: ctx.region,
      })),
    ].slice(0, 32) as AwsSecurityFinding["Resources"],
    RecordState: "ACTIVE",
  };
}
