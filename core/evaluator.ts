/**
 * The hunt's aggregation: which records match (per-model thresholds included), and per-account partial
 * aggregates of matching requests that merge (max and count are associative and commutative), so time slices,
 * files or query rows combine freely. core/record-evaluator.ts runs every detection over records.
 */
import { exclusionsOf } from "./exclusions.js";
import type { HuntFinding } from "./finding.js";
import { thresholdsResolver } from "./model-thresholds.js";
import type { InvocationRecord } from "./record-reader.js";
import { METRICS, type Metric, type Rule, type Window } from "./rule.js";

export type { Finding, HuntFinding } from "./finding.js";

/** Key used for evidence when a record has no identity ARN or model id. */
export const UNKNOWN = "(unknown)";

/**
 * A group of matching requests that share account, identity and model: one record counts as a group of one,
 * and one Logs Insights result row is one group.
 */
export interface MatchGroup {
  readonly accountId: string;
  readonly identityArn: string | null;
  readonly modelId: string | null;
  readonly requestCount: number;
  readonly maxPromptTokens: number | null;
  readonly maxRequestSize: number | null;
  readonly maxCompletionTokens: number | null;
  /** Largest input including cache read and write tokens (evidence for prompt-caching abuse). */
  readonly maxCacheInclusiveInputTokens: number | null;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /**
   * Prompt and completion tokens summed over the group (for the cost estimate); requests without the count
   * add nothing. Null or absent: no request of the group had it.
   */
  readonly sumPromptTokens?: number | null;
  readonly sumCompletionTokens?: number | null;
}

/** Token sums (mergeable by addition; null: none of the requests had the count). */
export interface TokenSums {
  promptTokens: number | null;
  completionTokens: number | null;
}

/** Partial aggregate of one account's matching requests. Mergeable. */
export interface AccountAggregate {
  accountId: string;
  requestCount: number;
  maxPromptTokens: number | null;
  maxRequestSize: number | null;
  maxCompletionTokens: number | null;
  maxCacheInclusiveInputTokens: number | null;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Matching requests per identity ARN. */
  identities: Map<string, number>;
  /** Matching requests per model id. */
  models: Map<string, number>;
  /** Token sums per model id (same keys as `models`). */
  modelTokens: Map<string, TokenSums>;
}

export type Aggregates = Map<string, AccountAggregate>;

const metricValue = (r: InvocationRecord, m: Metric): number | null => r[m];

/**
 * The hunt's test for a rule: true when any present metric is strictly above its threshold (the record's
 * model's, with `modelThresholds`); missing metrics never match. Build it once per rule.
 */
export function matcherOf(rule: Rule): (record: InvocationRecord) => boolean {
  const thresholdsOf = thresholdsResolver(rule);
  return (record) => {
    const t = thresholdsOf(record.modelId);
    return METRICS.some((m) => {
      const v = metricValue(record, m);
      return v !== null && v > t[m];
    });
  };
}

/** matcherOf for one record. */
export const matches = (record: InvocationRecord, rule: Rule): boolean => matcherOf(rule)(record);

export function inWindow(timestampMs: number, window: Window): boolean {
  return timestampMs >= window.startMs && timestampMs < window.endMs;
}

/** The larger of two maxima; missing (null) loses. */
export const maxOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);
/** The sum of two sums; missing (null or absent) adds nothing, and both missing is null. */
export const sumOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : a + b;
const addSums = (a: TokenSums, b: TokenSums): TokenSums => ({
  promptTokens: sumOf(a.promptTokens, b.promptTokens),
  completionTokens: sumOf(a.completionTokens, b.completionTokens),
});

/**
 * Cached input tokens (docs/detections.md): input + cache read + cache write, a missing term 0; null when all
 * three are missing. The hunt reports it as evidence, `cached-input` counts on it.
 */
export function cachedInputOf(
  r: Pick<InvocationRecord, "promptTokens" | "cacheReadTokens" | "cacheWriteTokens">,
): number | null {
  if (r.promptTokens === null && r.cacheReadTokens === null && r.cacheWriteTokens === null) return null;
  return (r.promptTokens ?? 0) + (r.cacheReadTokens ?? 0) + (r.cacheWriteTokens ?? 0);
}

/** The group of one matching record. */
export function groupOf(r: InvocationRecord): MatchGroup {
  return {
    accountId: r.accountId,
    identityArn: r.identityArn,
    modelId: r.modelId,
    requestCount: 1,
    maxPromptTokens: r.promptTokens,
    maxRequestSize: r.requestSize,
    maxCompletionTokens: r.completionTokens,
    maxCacheInclusiveInputTokens: cachedInputOf(r),
    firstSeenMs: r.timestampMs,
    lastSeenMs: r.timestampMs,
    sumPromptTokens: r.promptTokens,
    sumCompletionTokens: r.completionTokens,
  };
}

const bump = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

function aggregateOf(g: MatchGroup): AccountAggregate {
  return {
    accountId: g.accountId,
    requestCount: g.requestCount,
    maxPromptTokens: g.maxPromptTokens,
    maxRequestSize: g.maxRequestSize,
    maxCompletionTokens: g.maxCompletionTokens,
    maxCacheInclusiveInputTokens: g.maxCacheInclusiveInputTokens,
    firstSeenMs: g.firstSeenMs,
    lastSeenMs: g.lastSeenMs,
    identities: new Map([[g.identityArn ?? UNKNOWN, g.requestCount]]),
    models: new Map([[g.modelId ?? UNKNOWN, g.requestCount]]),
    modelTokens: new Map([
      [
        g.modelId ?? UNKNOWN,
        { promptTokens: g.sumPromptTokens ?? null, completionTokens: g.sumCompletionTokens ?? null },
      ],
    ]),
  };
}

/** Folds `from` into `into` (same account). */
function absorb(into: AccountAggregate, from: AccountAggregate): void {
  into.requestCount += from.requestCount;
  into.maxPromptTokens = maxOf(into.maxPromptTokens, from.maxPromptTokens);
  into.maxRequestSize = maxOf(into.maxRequestSize, from.maxRequestSize);
  into.maxCompletionTokens = maxOf(into.maxCompletionTokens, from.maxCompletionTokens);
  into.maxCacheInclusiveInputTokens = maxOf(
    into.maxCacheInclusiveInputTokens,
    from.maxCacheInclusiveInputTokens,
  );
  into.firstSeenMs = Math.min(into.firstSeenMs, from.firstSeenMs);
  into.lastSeenMs = Math.max(into.lastSeenMs, from.lastSeenMs);
  for (const [k, n] of from.identities) bump(into.identities, k, n);
  for (const [k, n] of from.models) bump(into.models, k, n);
  for (const [k, t] of from.modelTokens) {
    const before = into.modelTokens.get(k);
    into.modelTokens.set(k, before ? addSums(before, t) : { ...t });
  }
}

/**
 * A flat copy of a string. The record reader's strings are slices of the record's text: kept as map keys,
 * each would keep a whole record (up to megabytes) alive.
 */
export const fresh = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

/** Adds a group of matching requests to the aggregates (mutates `into`). */
export function addGroup(into: Aggregates, group: MatchGroup): void {
  const g: MatchGroup = {
    ...group,
    accountId: fresh(group.accountId),
    identityArn: group.identityArn === null ? null : fresh(group.identityArn),
    modelId: group.modelId === null ? null : fresh(group.modelId),
  };
  const existing = into.get(g.accountId);
  if (existing) absorb(existing, aggregateOf(g));
  else into.set(g.accountId, aggregateOf(g));
}

/**
 * Aggregates groups under the rule's exclusions: excluded groups count towards nothing. Returns how many
 * matching requests were left out.
 */
export function aggregateGroups(
  groups: Iterable<MatchGroup>,
  rule: Rule,
  into: Aggregates = new Map(),
): { aggregates: Aggregates; excludedRequests: number } {
  const excluded = exclusionsOf(rule);
  let excludedRequests = 0;
  for (const g of groups) {
    if (excluded(g.accountId, g.identityArn)) excludedRequests += g.requestCount;
    else addGroup(into, g);
  }
  return { aggregates: into, excludedRequests };
}

/** Merges two partial aggregates into a new one; neither input is changed. */
export function mergeAggregates(x: Aggregates, y: Aggregates): Aggregates {
  const out: Aggregates = new Map();
  for (const a of [...x.values(), ...y.values()]) {
    const existing = out.get(a.accountId);
    if (existing) absorb(existing, a);
    else
      out.set(a.accountId, {
        ...a,
        identities: new Map(a.identities),
        models: new Map(a.models),
        modelTokens: new Map([...a.modelTokens].map(([k, t]) => [k, { ...t }])),
      });
  }
  return out;
}

/** Descending with nulls last. */
const desc = (a: number | null, b: number | null): number => {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return b - a;
};

/** The contract's order: the three maxima descending (nulls last), then accountId ascending. */
export function compareFindings(
  a: Pick<HuntFinding, "accountId" | "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens">,
  b: Pick<HuntFinding, "accountId" | "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens">,
): number {
  return (
    desc(a.maxPromptTokens, b.maxPromptTokens) ||
    desc(a.maxRequestSize, b.maxRequestSize) ||
    desc(a.maxCompletionTokens, b.maxCompletionTokens) ||
    (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)
  );
}

/** Most frequent first, ties by key, at most `limit`. */
function top(map: Map<string, number>, limit: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit);
}

export const DEFAULT_TOP_EVIDENCE = 5;

function totalTokens(
  perModel: Map<string, TokenSums>,
): Pick<HuntFinding, "sumPromptTokens" | "sumCompletionTokens"> {
  let sum: TokenSums = { promptTokens: null, completionTokens: null };
  for (const t of perModel.values()) sum = addSums(sum, t);
  return { sumPromptTokens: sum.promptTokens, sumCompletionTokens: sum.completionTokens };
}

/** Applies `minRequests` and the contract's order to aggregates and shapes the findings. */
export function toFindings(
  aggregates: Aggregates,
  rule: Rule,
  topEvidence = DEFAULT_TOP_EVIDENCE,
): HuntFinding[] {
  return [...aggregates.values()]
    .filter((a) => a.requestCount >= rule.minRequests)
    .map(
      (a): HuntFinding => ({
        accountId: a.accountId,
        maxPromptTokens: a.maxPromptTokens,
        maxRequestSize: a.maxRequestSize,
        maxCompletionTokens: a.maxCompletionTokens,
        requestCount: a.requestCount,
        firstSeen: new Date(a.firstSeenMs).toISOString(),
        lastSeen: new Date(a.lastSeenMs).toISOString(),
        maxCacheInclusiveInputTokens: a.maxCacheInclusiveInputTokens,
        topIdentities: top(a.identities, topEvidence).map(([identityArn, requestCount]) => ({
          identityArn,
          requestCount,
        })),
        topModels: top(a.models, topEvidence).map(([modelId, requestCount]) => {
          const t = a.modelTokens.get(modelId);
          return {
            modelId,
            requestCount,
            sumPromptTokens: t?.promptTokens ?? null,
            sumCompletionTokens: t?.completionTokens ?? null,
          };
        }),
        identityCount: a.identities.size,
        modelCount: a.models.size,
        ...totalTokens(a.modelTokens),
      }),
    )
    .sort(compareFindings);
}
