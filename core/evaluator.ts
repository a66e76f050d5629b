/**
 * The in-process engine: the rule over records, streaming, with per-account partial aggregates that merge
 * (max and count are associative and commutative), so time slices, files or query rows combine freely.
 */
import { type ExclusionTest, exclusionsOf } from "./exclusions.js";
import type { InvocationRecord } from "./record-reader.js";
import { METRICS, type Metric, type Rule, type Window } from "./rule.js";

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

export interface Finding {
  accountId: string;
  maxPromptTokens: number | null;
  maxRequestSize: number | null;
  maxCompletionTokens: number | null;
  requestCount: number;
  firstSeen: string;
  lastSeen: string;
  maxCacheInclusiveInputTokens: number | null;
  topIdentities: { identityArn: string; requestCount: number }[];
  /** With the model's token sums over the matching requests (the cost estimate's input). */
  topModels: {
    modelId: string;
    requestCount: number;
    sumPromptTokens: number | null;
    sumCompletionTokens: number | null;
  }[];
  /** Prompt and completion tokens of all the account's matching requests (null: never logged). */
  sumPromptTokens: number | null;
  sumCompletionTokens: number | null;
  /** Distinct identities and models behind the account's matches (the top lists may be shorter). */
  identityCount: number;
  modelCount: number;
  /** What the numbers may not say exactly (set by engines that could not apply the whole rule). */
  caveats?: string[];
}

const metricValue = (r: InvocationRecord, m: Metric): number | null => r[m];

/** True when any present metric is strictly above its threshold (missing metrics never match). */
export function matches(record: InvocationRecord, rule: Rule): boolean {
  return METRICS.some((m) => {
    const v = metricValue(record, m);
    return v !== null && v > rule.thresholds[m];
  });
}

export function inWindow(timestampMs: number, window: Window): boolean {
  return timestampMs >= window.startMs && timestampMs < window.endMs;
}

const maxOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);
const sumOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : a + b;
const addSums = (a: TokenSums, b: TokenSums): TokenSums => ({
  promptTokens: sumOf(a.promptTokens, b.promptTokens),
  completionTokens: sumOf(a.completionTokens, b.completionTokens),
});

function cacheInclusiveInput(r: InvocationRecord): number | null {
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
    maxCacheInclusiveInputTokens: cacheInclusiveInput(r),
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
const fresh = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

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
  a: Pick<Finding, "accountId" | "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens">,
  b: Pick<Finding, "accountId" | "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens">,
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
): Pick<Finding, "sumPromptTokens" | "sumCompletionTokens"> {
  let sum: TokenSums = { promptTokens: null, completionTokens: null };
  for (const t of perModel.values()) sum = addSums(sum, t);
  return { sumPromptTokens: sum.promptTokens, sumCompletionTokens: sum.completionTokens };
}

/** Applies `minRequests` and the contract's order to aggregates and shapes the findings. */
export function toFindings(
  aggregates: Aggregates,
  rule: Rule,
  topEvidence = DEFAULT_TOP_EVIDENCE,
): Finding[] {
  return [...aggregates.values()]
    .filter((a) => a.requestCount >= rule.minRequests)
    .map(
      (a): Finding => ({
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

export interface EvaluationStats {
  /** Every record read, copies included. */
  recordsRead: number;
  /** Records in the window, copies included (only matching copies are recognised). */
  recordsInWindow: number;
  /** Matching records, each counted once, excluded ones included. */
  recordsMatched: number;
  /** Matching records left out by the rule's exclusions. */
  recordsExcluded: number;
  /** Matching records skipped as copies of one already counted (same account and requestId). */
  duplicates: number;
}

const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

/** 32 hex digits as a 16-character string of their bytes (a flat string: built from char codes). */
function packHex(hex: string): string {
  const codes: number[] = [];
  for (let i = 0; i < hex.length; i += 2) codes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return String.fromCharCode(...codes);
}

/**
 * Streaming evaluation: feed records one at a time. Memory grows with accounts and with the matching
 * records' ids (kept to count a record delivered twice, to S3 and to CloudWatch, once), not with all records.
 */
export class RuleEvaluator {
  readonly aggregates: Aggregates = new Map();
  readonly stats: EvaluationStats = {
    recordsRead: 0,
    recordsInWindow: 0,
    recordsMatched: 0,
    recordsExcluded: 0,
    duplicates: 0,
  };
  private readonly excluded: ExclusionTest;
  /** Per account (a log reusing an id cannot hide another account's request): the matching ids seen. */
  private readonly matchedIds = new Map<string, { uuids: Set<string>; others: Set<string> }>();

  constructor(
    readonly rule: Rule,
    readonly window: Window,
  ) {
    this.excluded = exclusionsOf(rule);
  }

  add(record: InvocationRecord): void {
    this.stats.recordsRead++;
    if (!inWindow(record.timestampMs, this.window)) return;
    this.stats.recordsInWindow++;
    if (!matches(record, this.rule)) return;
    this.addMatching(record);
  }

  /**
   * Counts records read and filtered elsewhere (the scanner's worker threads): `read` records, `inWindow` of
   * them in the window; those that match are passed to addMatching, in the order they were read.
   */
  countFiltered(read: number, inWindow: number): void {
    this.stats.recordsRead += read;
    this.stats.recordsInWindow += inWindow;
  }

  /** A record in the window that matches the rule (already counted by add or countFiltered). */
  addMatching(record: InvocationRecord): void {
    // A record without a requestId cannot be told from another: never treated as a copy.
    if (record.requestId !== null && this.seenBefore(record.accountId, record.requestId)) {
      this.stats.duplicates++;
      return;
    }
    this.stats.recordsMatched++;
    if (this.excluded(record.accountId, record.identityArn)) {
      this.stats.recordsExcluded++;
      return;
    }
    addGroup(this.aggregates, groupOf(record));
  }

  /** Remembers the id; true when it was already there. */
  private seenBefore(accountId: string, requestId: string): boolean {
    let ids = this.matchedIds.get(accountId);
    if (!ids) {
      ids = { uuids: new Set(), others: new Set() };
      this.matchedIds.set(fresh(accountId), ids);
    }
    // Kept as fresh compact strings: the reader's strings are slices that would keep each whole record alive.
    const uuid = UUID.exec(requestId);
    const [set, key] = uuid
      ? [ids.uuids, packHex(uuid.slice(1).join(""))]
      : [ids.others, JSON.stringify(requestId)];
    if (set.has(key)) return true;
    set.add(key);
    return false;
  }

  findings(topEvidence?: number): Finding[] {
    return toFindings(this.aggregates, this.rule, topEvidence);
  }
}
