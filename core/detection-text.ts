/**
 * The detections in plain words, one source for every surface (the scanner's table and CSV, email, Slack,
 * EventBridge, Security Hub): "6 requests read 1.08 M cached prompt tokens", "47.4 M tokens in one hour from
 * arn:aws:iam::123456789012:user/scraper". Counts, ARNs and times only: never request text.
 */
import type {
  AnomalyEvidence,
  CachedInputEvidence,
  DetectionName,
  Finding,
  TokenVolumeEvidence,
} from "./finding.js";
import { formatModelThreshold } from "./model-thresholds.js";
import type { Rule } from "./rule.js";

const grouped = (n: number) => n.toLocaleString("en-US");

/** 1,080,036 as `1.08 M`, 47,400,000 as `47.4 M`, 2.1e9 as `2.1 G`; below a million with separators. */
export function compactNumber(n: number): string {
  if (n < 1_000_000) return grouped(n);
  const [scaled, unit] = n < 1e9 ? [n / 1e6, "M"] : n < 1e12 ? [n / 1e9, "G"] : [n / 1e12, "T"];
  return `${Number(scaled.toPrecision(3))} ${unit}`;
}

const plural = (n: number, one: string, many: string) => `${grouped(n)} ${n === 1 ? one : many}`;

/** `18:00-19:00 UTC on 2026-11-19` for an hour (cut to the window). */
function hourText(e: Pick<TokenVolumeEvidence, "hourStart" | "hourEnd">): string {
  const hm = (iso: string) => iso.slice(11, 16);
  const endClock =
    hm(e.hourEnd) === "00:00" && e.hourEnd.slice(0, 10) !== e.hourStart.slice(0, 10)
      ? "24:00"
      : hm(e.hourEnd);
  return `${hm(e.hourStart)}-${endClock} UTC on ${e.hourStart.slice(0, 10)}`;
}

/** `6 requests read 1.08 M cached prompt tokens (up to 180,006 each; over 80,000 counts)`. */
export function cachedInputText(e: CachedInputEvidence, rule: Pick<Rule, "cachedInputTokens">): string {
  return (
    `${plural(e.requestCount, "request", "requests")} read ${compactNumber(e.sumCachedInputTokens)} cached prompt tokens ` +
    `(up to ${grouped(e.maxCachedInputTokens)} each; over ${grouped(rule.cachedInputTokens)} counts)`
  );
}

/** `47.4 M tokens in one hour from arn:...:user/scraper (3,000 requests, 10:00-11:00 UTC on 2026-11-19; ...)`. */
export function tokenVolumeText(
  e: TokenVolumeEvidence,
  rule: Pick<Rule, "tokensPerHour" | "requestsPerHour">,
): string {
  const limits = e.exceeded
    .map((x) =>
      x === "tokens"
        ? `${compactNumber(rule.tokensPerHour)} tokens`
        : `${grouped(rule.requestsPerHour)} requests`,
    )
    .join(" and ");
  const more =
    e.hoursOver > 1
      ? `; ${plural(e.hoursOver, "hour", "hours")} over a limit from ${plural(e.principalsOver, "principal", "principals")}`
      : "";
  return (
    `${compactNumber(e.totalTokens)} tokens in one hour from ${e.principal} ` +
    `(${plural(e.requests, "request", "requests")}, ${hourText(e)}; over ${limits} an hour${more})`
  );
}

/** A ratio: `30x`, `4.5x`. */
const ratio = (x: number) => (x >= 10 ? `${Math.round(x)}x` : `${Number(x.toFixed(1))}x`);
/** Hourly tokens as compactNumber gives them, but in millions from 100,000 (`0.12 M`), so an hour and its baseline read alike. */
const tokens = (n: number) =>
  n >= 100_000 && n < 1_000_000 ? `${Number((n / 1e6).toPrecision(3))} M` : compactNumber(n);
/** `7 days`, `1 day`, `14 hours` (under two days). */
const span = (hours: number) =>
  hours < 48
    ? plural(hours, "hour", "hours")
    : hours === 24 * Math.round(hours / 24)
      ? plural(hours / 24, "day", "days")
      : `${Number((hours / 24).toFixed(1))} days`;

/**
 * `3.6 M tokens in 14:00-15:00 UTC on 2026-11-19 from arn:...:assumed-role/etl (60 requests), 30x its usual
 * busiest hour (0.12 M) over the last 7 days`; for a principal without history, that it had none and the floor it passed.
 */
export function anomalyText(e: AnomalyEvidence): string {
  const over =
    e.historyHours < e.baselineHours
      ? `the ${span(e.historyHours)} of history there was (${span(e.baselineHours)} asked)`
      : `the last ${span(e.baselineHours)}`;
  const floor = `over the floor of ${tokens(e.thresholdTokens)}`;
  const comparison = e.historyUnread
    ? `its history not read (too many principals over the floor in one run); ${floor}`
    : e.historyHours === 0
      ? `no history yet; ${floor}`
      : e.activeHours === 0
        ? `a principal with no requests in ${over}; ${floor}`
        : e.baselineTokens === 0
          ? `only one earlier hour with requests in ${over}; ${floor}`
          : `${ratio(e.totalTokens / e.baselineTokens)} its usual busiest hour (${tokens(e.baselineTokens)}) over ${over}`;
  const more =
    e.hoursOver > 1
      ? `; ${plural(e.hoursOver, "hour", "hours")} over from ${plural(e.principalsOver, "principal", "principals")}`
      : "";
  return (
    `${tokens(e.totalTokens)} tokens in ${hourText(e)} from ${e.principal} ` +
    `(${plural(e.requests, "request", "requests")}), ${comparison}${more}`
  );
}

/** The hunt's line: `42 requests over a threshold (max prompt tokens 169,522)`. */
export function heavyRequestsText(
  f: Pick<Finding, "requestCount" | "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens">,
): string {
  const maxima = [
    f.maxPromptTokens === null ? null : `max prompt tokens ${grouped(f.maxPromptTokens)}`,
    f.maxRequestSize === null ? null : `max request size ${grouped(f.maxRequestSize)}`,
    f.maxCompletionTokens === null ? null : `max completion tokens ${grouped(f.maxCompletionTokens)}`,
  ].filter((x) => x !== null);
  return `${plural(f.requestCount ?? 0, "request", "requests")} over a threshold (${maxima.join(", ")})`;
}

/** Each detection that fired for the finding, in plain words, in DETECTION_NAMES order. */
export function detectionTexts(f: Finding, rule: Rule): { name: DetectionName; text: string }[] {
  return f.detections.map((name) => ({
    name,
    text:
      name === "heavy-requests"
        ? heavyRequestsText(f)
        : name === "cached-input" && f.cachedInput
          ? cachedInputText(f.cachedInput, rule)
          : name === "token-volume" && f.tokenVolume
            ? tokenVolumeText(f.tokenVolume, rule)
            : name === "anomaly" && f.anomaly
              ? anomalyText(f.anomaly)
              : name,
  }));
}

/**
 * The detections beyond the hunt that say something the hunt's own lines do not, in plain words: cached-input
 * is left out where the hunt fired and its largest cached input is no more than the hunt's max prompt tokens
 * (plain large prompts, which the hunt already shows; the finding's `detections` still names it).
 */
export function addedDetectionTexts(f: Finding, rule: Rule): { name: DetectionName; text: string }[] {
  return detectionTexts(f, rule).filter(
    (d) =>
      d.name !== "heavy-requests" &&
      !(
        d.name === "cached-input" &&
        f.requestCount !== null &&
        (f.cachedInput?.maxCachedInputTokens ?? 0) <= (f.maxPromptTokens ?? 0)
      ),
  );
}

/** A short headline for subjects: the first detection that fired, in a few words. */
export function headline(f: Finding): string {
  if (f.requestCount !== null) return `${grouped(f.requestCount)} heavy requests`;
  if (f.cachedInput) return `${compactNumber(f.cachedInput.sumCachedInputTokens)} cached tokens`;
  if (f.tokenVolume) return `${compactNumber(f.tokenVolume.totalTokens)} tokens in one hour`;
  if (f.anomaly)
    return f.anomaly.baselineTokens > 0 && !f.anomaly.historyUnread
      ? `${ratio(f.anomaly.totalTokens / f.anomaly.baselineTokens)} its usual hour`
      : `${tokens(f.anomaly.totalTokens)} tokens in one hour, no history`;
  return "flagged";
}

/** The hunt's settings as reports, events and alerts show them (`modelThresholds` only when set). */
export function ruleSummary(rule: Rule) {
  return {
    thresholds: { ...rule.thresholds },
    minRequests: rule.minRequests,
    ...(rule.modelThresholds.length > 0
      ? { modelThresholds: rule.modelThresholds.map(formatModelThreshold) }
      : {}),
  };
}

/** The settings of the detections beyond the hunt, as reports and events show them. */
export function detectionSettings(rule: Rule) {
  return {
    cachedInputTokens: rule.cachedInputTokens,
    tokensPerHour: rule.tokensPerHour,
    requestsPerHour: rule.requestsPerHour,
    anomalyFactor: rule.anomalyFactor,
    anomalyFloorTokens: rule.anomalyFloorTokens,
    baselineDays: rule.baselineDays,
  };
}
