/**
 * Usage groups: every request in a window, grouped by account, identity, model and clock hour, with what each
 * detection needs (request count, token sums, cached input over its threshold, the hunt's numbers over the
 * matching requests only). One record is a group of one; one Logs Insights result row is one group; groups
 * with the same key merge exactly (counts and sums add, maxima and first/last seen combine), so periods,
 * files, worker threads and query rows combine freely and every engine ends in the same evaluation.
 */
import { fresh, type MatchGroup } from "./evaluator.js";
import type { InvocationRecord } from "./record-reader.js";
import { HOUR_MS } from "./rule.js";

/** The hunt's numbers over a group's matching requests: a match group without its keys. */
export type HuntPart = Omit<MatchGroup, "accountId" | "identityArn" | "modelId">;

export interface UsageGroup {
  readonly accountId: string;
  /** The identity ARN as logged (sessions included): the principal is derived from it (core/principal.ts). */
  readonly identityArn: string | null;
  readonly modelId: string | null;
  /** Start of the UTC clock hour the group's requests fall in. */
  readonly hourMs: number;
  /** Every request of the group. */
  readonly requests: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Token sums over every request (a missing count adds 0). */
  readonly inputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly outputTokens: number;
  /** Requests whose cached input tokens are above the rule's `cachedInputTokens`. */
  readonly cachedInputRequests: number;
  /** Cached input tokens summed over those requests. */
  readonly cachedInputTokens: number;
  /** The largest cached input tokens of any request of the group; null when no request had an input count. */
  readonly maxCachedInputTokens: number | null;
  /** The hunt over the group's matching requests; null when none matched. */
  readonly hunt: HuntPart | null;
}

/** Cached input tokens (input + cache read + cache write; a missing term is 0); null when all three are missing. */
export function cachedInputOf(
  r: Pick<InvocationRecord, "promptTokens" | "cacheReadTokens" | "cacheWriteTokens">,
): number | null {
  if (r.promptTokens === null && r.cacheReadTokens === null && r.cacheWriteTokens === null) return null;
  return (r.promptTokens ?? 0) + (r.cacheReadTokens ?? 0) + (r.cacheWriteTokens ?? 0);
}

/** Total tokens of a group: cached input plus output. */
export const totalTokensOf = (g: UsageGroup): number =>
  g.inputTokens + g.cacheReadTokens + g.cacheWriteTokens + g.outputTokens;

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The group's key: equal keys merge. */
export const usageKey = (g: Pick<UsageGroup, "accountId" | "identityArn" | "modelId" | "hourMs">): string =>
  `${g.accountId}\u0000${g.identityArn ?? "\u0001"}\u0000${g.modelId ?? "\u0001"}\u0000${g.hourMs}`;

/**
 * The group of one record. `hunt`: the record's hunt part when it matches the hunt, else null;
 * `cachedInputThreshold`: the rule's `cachedInputTokens`.
 */
export function usageOfRecord(
  r: InvocationRecord,
  hunt: HuntPart | null,
  cachedInputThreshold: number,
): UsageGroup {
  const cached = cachedInputOf(r);
  const over = cached !== null && cached > cachedInputThreshold;
  return {
    accountId: r.accountId,
    identityArn: r.identityArn,
    modelId: r.modelId,
    hourMs: hourOf(r.timestampMs),
    requests: 1,
    firstSeenMs: r.timestampMs,
    lastSeenMs: r.timestampMs,
    inputTokens: r.promptTokens ?? 0,
    cacheReadTokens: r.cacheReadTokens ?? 0,
    cacheWriteTokens: r.cacheWriteTokens ?? 0,
    outputTokens: r.completionTokens ?? 0,
    cachedInputRequests: over ? 1 : 0,
    cachedInputTokens: over ? cached : 0,
    maxCachedInputTokens: cached,
    hunt,
  };
}

const maxOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);
const sumOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null ? (b ?? null) : b == null ? a : a + b;

/** Two hunt parts of the same key merged. */
export function mergeHunt(a: HuntPart | null, b: HuntPart | null): HuntPart | null {
  if (a === null) return b;
  if (b === null) return a;
  return {
    requestCount: a.requestCount + b.requestCount,
    maxPromptTokens: maxOf(a.maxPromptTokens, b.maxPromptTokens),
    maxRequestSize: maxOf(a.maxRequestSize, b.maxRequestSize),
    maxCompletionTokens: maxOf(a.maxCompletionTokens, b.maxCompletionTokens),
    maxCacheInclusiveInputTokens: maxOf(a.maxCacheInclusiveInputTokens, b.maxCacheInclusiveInputTokens),
    firstSeenMs: Math.min(a.firstSeenMs, b.firstSeenMs),
    lastSeenMs: Math.max(a.lastSeenMs, b.lastSeenMs),
    sumPromptTokens: sumOf(a.sumPromptTokens, b.sumPromptTokens),
    sumCompletionTokens: sumOf(a.sumCompletionTokens, b.sumCompletionTokens),
  };
}

/** Two groups of the same key merged into a new one. */
export function mergeUsage(a: UsageGroup, b: UsageGroup): UsageGroup {
  return {
    accountId: a.accountId,
    identityArn: a.identityArn,
    modelId: a.modelId,
    hourMs: a.hourMs,
    requests: a.requests + b.requests,
    firstSeenMs: Math.min(a.firstSeenMs, b.firstSeenMs),
    lastSeenMs: Math.max(a.lastSeenMs, b.lastSeenMs),
    inputTokens: a.inputTokens + b.inputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputRequests: a.cachedInputRequests + b.cachedInputRequests,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    maxCachedInputTokens: maxOf(a.maxCachedInputTokens, b.maxCachedInputTokens),
    hunt: mergeHunt(a.hunt, b.hunt),
  };
}

/** The hunt's match group of a usage group, or null when none of its requests matched. */
export function matchGroupOf(g: UsageGroup): MatchGroup | null {
  return g.hunt === null
    ? null
    : { accountId: g.accountId, identityArn: g.identityArn, modelId: g.modelId, ...g.hunt };
}

/** Usage groups merged by key, as records or rows come. */
export class UsageTable {
  private readonly groups = new Map<string, UsageGroup>();

  add(g: UsageGroup): void {
    const key = usageKey(g);
    const before = this.groups.get(key);
    if (before) {
      this.groups.set(key, mergeUsage(before, g));
      return;
    }
    this.groups.set(fresh(key), {
      ...g,
      accountId: fresh(g.accountId),
      identityArn: g.identityArn === null ? null : fresh(g.identityArn),
      modelId: g.modelId === null ? null : fresh(g.modelId),
    });
  }

  addAll(groups: Iterable<UsageGroup>): this {
    for (const g of groups) this.add(g);
    return this;
  }

  get size(): number {
    return this.groups.size;
  }

  values(): IterableIterator<UsageGroup> {
    return this.groups.values();
  }
}
