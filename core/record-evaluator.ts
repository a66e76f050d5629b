/**
 * The in-process engine: every detection over records, streaming. Records in the window are counted once
 * (a copy delivered to both S3 and CloudWatch is recognised by account and requestId), grouped into usage
 * groups (core/usage.ts), and evaluated like the Lambda's stored periods (core/detections.ts). Records in the
 * `baselineDays` before the window count only as `anomaly`'s history: tokens per principal and clock hour.
 */
import { type History, HourlyTotals } from "./anomaly.js";
import { evaluateUsage, type WindowEvaluation } from "./detections.js";
import { type Aggregates, type Finding, fresh, groupOf, inWindow, matcherOf } from "./evaluator.js";
import { type ExclusionTest, exclusionsOf, keptPrincipalOf } from "./exclusions.js";
import type { InvocationRecord } from "./record-reader.js";
import { DAY_MS, hourOf, type Rule, type Window } from "./rule.js";
import { type HuntPart, type UsageGroup, UsageTable, usageOfRecord } from "./usage.js";

export interface EvaluationStats {
  /** Every record read, copies included. */
  recordsRead: number;
  /** Records in the window, copies included. */
  recordsInWindow: number;
  /** Records in the baseline days before the window (anomaly's history only), copies included. */
  recordsInHistory: number;
  /** Records in the window that match the hunt, each counted once, excluded ones included. */
  recordsMatched: number;
  /** Matching records left out by the rule's exclusions. */
  recordsExcluded: number;
  /** Records in the window left out by the rule's exclusions, matching or not, each request once. */
  excludedRecords: number;
  /** Matching records skipped as copies of a matching one already counted (same account and requestId). */
  duplicates: number;
  /**
   * Records in the window skipped by the other detections as copies of one already counted (same account
   * and requestId, matching or not): they count every request once.
   */
  copies: number;
}

/** Value of a lower-case hex digit's char code (Bedrock writes its UUIDs so); -1 for any other code. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;
const hexAt = (s: string, i: number): number => {
  const c = s.charCodeAt(i);
  return c < 128 ? (HEX[c] as number) : -1;
};
const DASH = 45;
const bytes: number[] = new Array(16).fill(0);

/**
 * A UUID (`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`) as the 16-character string of its
 * bytes (a flat string: built from char codes); null for any other id. Read character by character: this runs
 * for every record in the window.
 */
export function packUuid(id: string): string | null {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== DASH ||
    id.charCodeAt(13) !== DASH ||
    id.charCodeAt(18) !== DASH ||
    id.charCodeAt(23) !== DASH
  )
    return null;
  for (let k = 0, i = 0; k < 16; k++, i += 2) {
    // The groups have even lengths: a byte never straddles a dash.
    if (i === 8 || i === 13 || i === 18 || i === 23) i++;
    const hi = hexAt(id, i);
    const lo = hexAt(id, i + 1);
    if (hi < 0 || lo < 0) return null;
    bytes[k] = hi * 16 + lo;
  }
  return String.fromCharCode.apply(null, bytes);
}

type IdSets = Map<string, { uuids: Set<string>; others: Set<string> }>;

/** Remembers the account's id; true when it was already there. */
function seenBefore(sets: IdSets, accountId: string, requestId: string): boolean {
  let ids = sets.get(accountId);
  if (!ids) {
    ids = { uuids: new Set(), others: new Set() };
    sets.set(fresh(accountId), ids);
  }
  // Kept as fresh compact strings: the reader's strings are slices that would keep each whole record alive.
  const uuid = packUuid(requestId);
  const set = uuid === null ? ids.others : ids.uuids;
  const key = uuid ?? JSON.stringify(requestId);
  if (set.has(key)) return true;
  set.add(key);
  return false;
}

/** A group that adds only its hunt part (its requests were counted already). */
const huntOnly = (g: UsageGroup): UsageGroup => ({
  ...g,
  requests: 0,
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  cachedInputRequests: 0,
  cachedInputTokens: 0,
  maxCachedInputTokens: null,
});

/** The hunt's part of one matching record. */
function huntPartOf(r: InvocationRecord): HuntPart {
  const { accountId: _a, identityArn: _i, modelId: _m, ...part } = groupOf(r);
  return part;
}

/** The span before a window whose records are `anomaly`'s history: `baselineDays` before its first clock hour. */
export const historyWindowOf = (rule: Pick<Rule, "baselineDays">, window: Window): Window => ({
  startMs: hourOf(window.startMs) - rule.baselineDays * DAY_MS,
  endMs: window.startMs,
});

/** Total tokens of a record: its cached input plus output (a missing count adds 0). */
export const totalTokensOfRecord = (r: InvocationRecord): number =>
  (r.promptTokens ?? 0) + (r.cacheReadTokens ?? 0) + (r.cacheWriteTokens ?? 0) + (r.completionTokens ?? 0);

/**
 * Streaming evaluation: feed records one at a time. Memory grows with the usage groups (account, identity,
 * model, hour) and with the ids of the records in the window (Bedrock's UUIDs packed into 16 characters), kept
 * to count a record delivered twice, to S3 and to CloudWatch, once.
 */
export class RuleEvaluator {
  readonly usage = new UsageTable();
  readonly stats: EvaluationStats = {
    recordsRead: 0,
    recordsInWindow: 0,
    recordsInHistory: 0,
    recordsMatched: 0,
    recordsExcluded: 0,
    excludedRecords: 0,
    duplicates: 0,
    copies: 0,
  };
  private readonly excluded: ExclusionTest;
  private readonly matches: (r: InvocationRecord) => boolean;
  /**
   * Per account (a log reusing an id cannot hide another account's request): the ids of matching records (the
   * hunt's copies, exactly as before the other detections), and of every record (their copies).
   */
  private readonly matchedIds: IdSets = new Map();
  private readonly seenIds: IdSets = new Map();
  /** anomaly's history: tokens per principal and clock hour before the window (memory: principals x hours). */
  private readonly historyTotals = new HourlyTotals();
  /** Sessions rotate: the principal cache is dropped now and then rather than growing with them. */
  private readonly historyPrincipal: (accountId: string, identityArn: string | null) => string | null;
  private readonly historyAccounts = new Map<string, string>();
  /** The earliest record read, window or not: how far back the history found reaches. */
  private firstMs = Number.POSITIVE_INFINITY;
  readonly historyWindow: Window;

  constructor(
    readonly rule: Rule,
    readonly window: Window,
  ) {
    this.excluded = exclusionsOf(rule);
    this.matches = matcherOf(rule);
    this.historyWindow = historyWindowOf(rule, window);
    this.historyPrincipal = keptPrincipalOf(rule, { copy: fresh, maxCached: 10_000 });
  }

  add(record: InvocationRecord): void {
    this.stats.recordsRead++;
    const t = record.timestampMs;
    if (t < this.firstMs) this.firstMs = t;
    if (inWindow(t, this.window)) {
      this.stats.recordsInWindow++;
      this.addInWindow(record);
    } else if (inWindow(t, this.historyWindow)) {
      this.stats.recordsInHistory++;
      this.addHistory(record.accountId, record.identityArn, hourOf(t), totalTokensOfRecord(record));
    }
  }

  /**
   * Counts records read and filtered elsewhere (the scanner's worker threads): `read` records, `inWindow` of
   * them in the window (passed to addInWindow in the order they were read), `inHistory` in the history span
   * (passed to addHistory), the earliest at `firstMs`.
   */
  countFiltered(read: number, inWindow: number, inHistory = 0, firstMs = Number.POSITIVE_INFINITY): void {
    this.stats.recordsRead += read;
    this.stats.recordsInWindow += inWindow;
    this.stats.recordsInHistory += inHistory;
    if (firstMs < this.firstMs) this.firstMs = firstMs;
  }

  /**
   * History tokens of an identity in one clock hour before the window (any number of records summed). Not
   * deduplicated: keeping every history record's id would make memory grow with records, not principals x hours;
   * a copy delivered twice raises the baseline, which only makes `anomaly` quieter.
   */
  addHistory(accountId: string, identityArn: string | null, hourMs: number, tokens: number): void {
    const principal = this.historyPrincipal(accountId, identityArn);
    if (principal === null) return;
    let account = this.historyAccounts.get(accountId);
    if (account === undefined) {
      account = fresh(accountId);
      this.historyAccounts.set(account, account);
    }
    this.historyTotals.add(account, principal, hourMs, tokens);
  }

  /** What the records read say of the time before the window. */
  history(): History {
    const firstHour = hourOf(this.window.startMs);
    const known = Number.isFinite(this.firstMs) ? hourOf(this.firstMs) : firstHour;
    return {
      totals: this.historyTotals,
      knownFromMs: Math.min(firstHour, Math.max(this.historyWindow.startMs, known)),
    };
  }

  /**
   * A record in the window (already counted by add or countFiltered). A copy is a record whose account and
   * requestId came before; a record without a requestId cannot be told from another and is never one. The
   * hunt skips matching copies of a matching record (Elastic's test data reuses ids for variants of a call,
   * so a matching variant after a light one still counts, as it always has); the other detections skip every
   * copy. For the copies Bedrock delivers twice (S3 and CloudWatch, the same record) both agree.
   */
  addInWindow(record: InvocationRecord): void {
    const id = record.requestId;
    const matching = this.matches(record);
    const huntCopy = matching && id !== null && seenBefore(this.matchedIds, record.accountId, id);
    const copy = id !== null && seenBefore(this.seenIds, record.accountId, id);
    if (huntCopy) this.stats.duplicates++;
    if (copy) this.stats.copies++;
    const hunt = matching && !huntCopy;
    if (hunt) this.stats.recordsMatched++;
    if (!hunt && copy) return;
    if (this.excluded(record.accountId, record.identityArn)) {
      if (hunt) this.stats.recordsExcluded++;
      this.stats.excludedRecords++;
      return;
    }
    const group = usageOfRecord(record, hunt ? huntPartOf(record) : null, this.rule.cachedInputTokens);
    // A variant whose id came before: the hunt's part only.
    this.usage.add(copy ? huntOnly(group) : group);
  }

  /** The hunt's per-account aggregates so far (after exclusions). */
  get aggregates(): Aggregates {
    return this.evaluate().aggregates;
  }

  /** Every detection over the records so far. */
  evaluate(topEvidence?: number): WindowEvaluation {
    return evaluateUsage(this.usage.values(), this.rule, this.window, topEvidence, this.history());
  }

  findings(topEvidence?: number): Finding[] {
    return this.evaluate(topEvidence).findings;
  }
}
