/**
 * Usage groups: every request in a window, grouped by account, identity, model and clock hour, with what each
 * detection needs (request count, token sums, cached input over its threshold, the hunt's numbers over the
 * matching requests only). One record is a group of one; one Logs Insights result row is one group; groups
 * with the same key merge exactly (counts and sums add, maxima and first/last seen combine), so periods,
 * files, worker threads and query rows combine freely and every engine ends in the same evaluation.
 */
import { cachedInputOf, fresh, type MatchGroup, maxOf, sumOf } from "./evaluator.js";
import type { InvocationRecord } from "./record-reader.js";
import { hourOf } from "./rule.js";

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

/** Total tokens of a group: cached input plus output. */
export const totalTokensOf = (g: UsageGroup): number =>
  g.inputTokens + g.cacheReadTokens + g.cacheWriteTokens + g.outputTokens;

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

/** The hunt's match group of a usage group, or null when none of its requests matched. */
export function matchGroupOf(g: UsageGroup): MatchGroup | null {
  return g.hunt === null
    ? null
    : { accountId: g.accountId, identityArn: g.identityArn, modelId: g.modelId, ...g.hunt };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Adds `from`'s numbers into `into` (same key), in place. */
function absorb(into: Mutable<UsageGroup>, from: UsageGroup): void {
  into.requests += from.requests;
  if (from.firstSeenMs < into.firstSeenMs) into.firstSeenMs = from.firstSeenMs;
  if (from.lastSeenMs > into.lastSeenMs) into.lastSeenMs = from.lastSeenMs;
  into.inputTokens += from.inputTokens;
  into.cacheReadTokens += from.cacheReadTokens;
  into.cacheWriteTokens += from.cacheWriteTokens;
  into.outputTokens += from.outputTokens;
  into.cachedInputRequests += from.cachedInputRequests;
  into.cachedInputTokens += from.cachedInputTokens;
  into.maxCachedInputTokens = maxOf(into.maxCachedInputTokens, from.maxCachedInputTokens);
  if (from.hunt !== null) into.hunt = mergeHunt(into.hunt, from.hunt);
}

/**
 * Usage groups merged by key, as records or rows come (one per record is the scanner's hot path: a lookup and
 * a few additions, no allocation for a key it has). Account, identity and model strings are kept as flat
 * copies, one per distinct value: the reader's strings are slices that would keep a whole record alive.
 */
export class UsageTable {
  /** account -> identity -> model -> hour -> group (a missing identity or model is the key null). */
  private readonly byAccount = new Map<
    string,
    Map<string | null, Map<string | null, Map<number, Mutable<UsageGroup>>>>
  >();
  private readonly strings = new Map<string, string>();

  private intern(s: string): string {
    let kept = this.strings.get(s);
    if (kept === undefined) {
      kept = fresh(s);
      this.strings.set(kept, kept);
    }
    return kept;
  }

  add(g: UsageGroup): void {
    let identities = this.byAccount.get(g.accountId);
    if (!identities) {
      identities = new Map();
      this.byAccount.set(this.intern(g.accountId), identities);
    }
    let models = identities.get(g.identityArn);
    if (!models) {
      models = new Map();
      identities.set(g.identityArn === null ? null : this.intern(g.identityArn), models);
    }
    let hours = models.get(g.modelId);
    if (!hours) {
      hours = new Map();
      models.set(g.modelId === null ? null : this.intern(g.modelId), hours);
    }
    const before = hours.get(g.hourMs);
    if (before) {
      absorb(before, g);
      return;
    }
    hours.set(g.hourMs, {
      ...g,
      accountId: this.intern(g.accountId),
      identityArn: g.identityArn === null ? null : this.intern(g.identityArn),
      modelId: g.modelId === null ? null : this.intern(g.modelId),
      hunt: g.hunt === null ? null : { ...g.hunt },
    });
  }

  *values(): IterableIterator<UsageGroup> {
    for (const identities of this.byAccount.values())
      for (const models of identities.values()) for (const hours of models.values()) yield* hours.values();
  }
}
