/**
 * What the engines report per flagged account: the hunt's fields (exactly as the hunt computes them, null where
 * the hunt did not fire), the detections that fired and each one's evidence. Types only.
 */

/** The detections, in the order a finding lists them. */
export const DETECTION_NAMES = ["heavy-requests", "cached-input", "token-volume", "anomaly"] as const;
export type DetectionName = (typeof DETECTION_NAMES)[number];

/** The hunt's finding for an account; for an account the hunt did not flag, its numbers are null. */
export interface HuntFinding {
  accountId: string;
  maxPromptTokens: number | null;
  maxRequestSize: number | null;
  maxCompletionTokens: number | null;
  /** Matching requests (null: the hunt did not flag the account). */
  requestCount: number | null;
  /** First and last matching request; for an account the hunt did not flag, its first and last request. */
  firstSeen: string;
  lastSeen: string;
  maxCacheInclusiveInputTokens: number | null;
  /**
   * Identities (sessions as logged) and models behind the matching requests, or, for an account the hunt did
   * not flag, behind all its requests in the window; the same holds for the sums and counts below.
   */
  topIdentities: { identityArn: string; requestCount: number }[];
  /** With the model's token sums (the cost estimate's input). */
  topModels: {
    modelId: string;
    requestCount: number;
    sumPromptTokens: number | null;
    sumCompletionTokens: number | null;
  }[];
  /** Prompt and completion tokens of the requests above (null: never logged). */
  sumPromptTokens: number | null;
  sumCompletionTokens: number | null;
  /** Distinct identities and models behind those requests (the top lists may be shorter). */
  identityCount: number;
  modelCount: number;
  /** What the numbers may not say exactly (set by engines that could not apply the whole rule). */
  caveats?: string[];
}

export interface CachedInputEvidence {
  /** Requests whose cached input tokens (input + cache read + cache write) were above the threshold. */
  readonly requestCount: number;
  /** Their cached input tokens, summed. */
  readonly sumCachedInputTokens: number;
  readonly maxCachedInputTokens: number;
  /** Principals behind those requests, most requests first. */
  readonly topPrincipals: readonly { readonly principal: string; readonly requestCount: number }[];
}

export interface TokenVolumeEvidence {
  /** The principal and hour with the most total tokens among those over a limit. */
  readonly principal: string;
  /** The hour cut to the window, `[hourStart, hourEnd)`. */
  readonly hourStart: string;
  readonly hourEnd: string;
  readonly totalTokens: number;
  readonly requests: number;
  /** Which limits that hour crossed. */
  readonly exceeded: readonly ("tokens" | "requests")[];
  /** Principal-hours over a limit in the window, this one included, and the principals they belong to. */
  readonly hoursOver: number;
  readonly principalsOver: number;
  /** The principal's sessions (identity ARNs as logged) in that hour, most requests first. */
  readonly topSessions: readonly { readonly identityArn: string; readonly requestCount: number }[];
}

export interface AnomalyEvidence {
  /** The principal and hour with the most total tokens among those over their threshold. */
  readonly principal: string;
  /** The hour cut to the window, `[hourStart, hourEnd)`. */
  readonly hourStart: string;
  readonly hourEnd: string;
  readonly totalTokens: number;
  readonly requests: number;
  /** The principal's usual busiest hour: its second-largest hourly total over the baseline days before. */
  readonly baselineTokens: number;
  /** What the hour was compared with: `max(anomalyFactor x baselineTokens, anomalyFloorTokens)`. */
  readonly thresholdTokens: number;
  /** Hours of history the engine had for that hour, of `baselineHours` asked (fewer: history was short). */
  readonly historyHours: number;
  readonly baselineHours: number;
  /** Hours of that history in which the principal had requests; 0: no history (compared with the floor alone). */
  readonly activeHours: number;
  /** The principal's history could not be read (too many principals over the floor in one run). */
  readonly historyUnread: boolean;
  /** Principal-hours over their threshold in the window, this one included, and the principals they belong to. */
  readonly hoursOver: number;
  readonly principalsOver: number;
  /** The principal's sessions (identity ARNs as logged) in that hour, most requests first. */
  readonly topSessions: readonly { readonly identityArn: string; readonly requestCount: number }[];
}

export interface Finding extends HuntFinding {
  /** The detections that fired for the account, in DETECTION_NAMES order. */
  detections: DetectionName[];
  /** `cached-input`'s numbers; null when it did not fire. */
  cachedInput: CachedInputEvidence | null;
  /** `token-volume`'s heaviest principal-hour over a limit; null when it did not fire. */
  tokenVolume: TokenVolumeEvidence | null;
  /** `anomaly`'s heaviest principal-hour over its baseline; null when it did not fire. */
  anomaly: AnomalyEvidence | null;
  /** The account's largest total tokens from one principal in one clock hour of the window. */
  peakHourTokens: number;
}
