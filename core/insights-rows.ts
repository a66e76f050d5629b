/**
 * Logs Insights result rows (every value a string, any value possibly missing) to match groups, validated.
 * A row without an account, a request count or first/last seen cannot be merged and is rejected with a
 * reason. A maximum that is not an integer is only that value missing: the maxima come from text a caller can
 * shape, and one bad value must not hide the row's other values (or the row).
 */
import type { MatchGroup } from "./evaluator.js";
import { HUNT_NONE_MS, ROW, USAGE_ROW } from "./insights-query.js";
import { PRINCIPAL_ARN } from "./principal.js";
import { HOUR_MS, hourOf, type Window } from "./rule.js";
import type { HuntPart, UsageGroup } from "./usage.js";

export type Row = Readonly<Record<string, string | undefined>>;

export interface ParsedRows {
  readonly groups: MatchGroup[];
  readonly rejected: { readonly row: Row; readonly reason: string }[];
  /** Values dropped (made missing) from rows that were kept: the field name and why, never the value. */
  readonly rejectedValues: { readonly field: string; readonly reason: string }[];
}

const INTEGER = /^\d+(\.0+)?$/;
/** Insights prints timestamps as `2026-11-19 10:00:00.000` (UTC). ISO and epoch milliseconds are accepted too. */
const INSIGHTS_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(\.\d+)?)Z?$/;

function count(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const v = value.trim();
  if (!INTEGER.test(v)) return Number.NaN;
  const n = Number.parseInt(v, 10);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * A token sum (evidence for the cost estimate, not part of the rule): never a reason to reject a row, so a
 * value Insights prints unexpectedly (`1.2e+06`) is read if it is a non-negative number, else unknown (null);
 * absent when the row has no such column.
 */
function tokenSum(value: string | undefined): number | null | undefined {
  const v = value?.trim() ?? "";
  if (v === "") return undefined;
  if (!/^\d+(\.\d+)?(e\+?\d+)?$/i.test(v)) return null;
  const n = Math.round(Number(v));
  return Number.isSafeInteger(n) ? n : null;
}

function time(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  if (/^\d{10,}$/.test(value)) return Number(value);
  const m = INSIGHTS_TIME.exec(value.trim());
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** Shown instead of an identity value that is not a principal ARN (it may be text a body imitated). */
export const UNRECOGNISED_IDENTITY = "(unrecognised identity)";

const shown = (value: string) => (PRINCIPAL_ARN.test(value) ? value : UNRECOGNISED_IDENTITY);

/** Label for a record whose first and last identity ARNs differ (a body imitated the identity object). */
export const ambiguousIdentity = (first: string, last: string) =>
  `(ambiguous: ${shown(first)} or ${shown(last)})`;

/**
 * The identity of a row. Insights matches text, so the value may come from a body that imitates the identity
 * object: when the first and last occurrences differ the identity is ambiguous, and a value that is not a
 * principal ARN is never shown (it could be any text a caller wrote, such as a phishing link).
 */
export function identityOf(row: Row): string | null {
  const first = row[ROW.identityArn]?.trim() || null;
  const last = row[ROW.identityArnLast]?.trim() || null;
  if (first !== null && last !== null && first !== last) return ambiguousIdentity(first, last);
  const only = first ?? last;
  return only === null ? null : shown(only);
}

/** What every row needs to be merged: its account, a positive request count and first/last seen. */
type RowBasics =
  | {
      readonly accountId: string;
      readonly count: number;
      readonly firstSeenMs: number;
      readonly lastSeenMs: number;
    }
  | { readonly reason: string };

function rowBasics(
  row: Row,
  countField: string,
  countOf: (v: string | undefined) => number | null | undefined,
  minCount = 1,
): RowBasics {
  const accountId = row[ROW.accountId]?.trim();
  if (!accountId) return { reason: "no account id" };
  const n = countOf(row[countField]);
  if (n === null || n === undefined || Number.isNaN(n) || n < minCount) {
    return {
      reason: `request count "${row[countField] ?? ""}" is not ${minCount > 0 ? "a positive integer" : "a whole number"}`,
    };
  }
  const first = time(row[ROW.firstSeen]);
  const last = time(row[ROW.lastSeen]);
  if (first === null || last === null) return { reason: "first or last seen is not a timestamp" };
  return { accountId, count: n, firstSeenMs: Math.min(first, last), lastSeenMs: Math.max(first, last) };
}

/** Converts result rows of the hunt's shapes (`account`, `evidence`) into match groups. */
export function parseRows(rows: readonly Row[]): ParsedRows {
  const groups: MatchGroup[] = [];
  const rejected: ParsedRows["rejected"] = [];
  const rejectedValues: ParsedRows["rejectedValues"] = [];
  const maximum = (row: Row, field: string): number | null => {
    const v = count(row[field]);
    if (!Number.isNaN(v)) return v;
    rejectedValues.push({ field, reason: "not a safe integer" });
    return null;
  };
  for (const row of rows) {
    const basics = rowBasics(row, ROW.requestCount, count);
    if ("reason" in basics) {
      rejected.push({ row, reason: basics.reason });
      continue;
    }
    const { accountId, count: requestCount, firstSeenMs, lastSeenMs } = basics;
    const maxima = {
      maxPromptTokens: maximum(row, ROW.maxPromptTokens),
      maxRequestSize: maximum(row, ROW.maxRequestSize),
      maxCompletionTokens: maximum(row, ROW.maxCompletionTokens),
      maxCacheInclusiveInputTokens: maximum(row, ROW.maxCacheInclusiveInputTokens),
    };
    groups.push({
      accountId,
      identityArn: identityOf(row),
      modelId: row[ROW.modelId]?.trim() || null,
      requestCount,
      ...maxima,
      firstSeenMs,
      lastSeenMs,
      sumPromptTokens: tokenSum(row[ROW.sumPromptTokens]),
      sumCompletionTokens: tokenSum(row[ROW.sumCompletionTokens]),
    });
  }
  return { groups, rejected, rejectedValues };
}

export interface ParsedUsageRows {
  readonly groups: UsageGroup[];
  readonly rejected: { readonly row: Row; readonly reason: string }[];
  readonly rejectedValues: { readonly field: string; readonly reason: string }[];
}

/**
 * A count or a sum as Insights prints it: digits, possibly with a fraction of zeros or in exponent notation
 * (`1.2e+06`) once sums grow. Undefined when the row has no such value, NaN when it is not a whole number.
 */
function amount(value: string | undefined): number | undefined {
  const v = value?.trim() ?? "";
  if (v === "") return undefined;
  if (!/^\d+(\.\d+)?(e\+?\d+)?$/i.test(v)) return Number.NaN;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * Usage rows (the `usage` and `usage-account` shapes) to usage groups. A row without an account, a request
 * count or first/last seen is rejected with a reason; a value that is not a whole number is only that value
 * made missing (0 for sums and counts, null for maxima). Rows of `usage-account` have no identity, model or
 * hour: the hour is that of the row's first request (a period never spans two hours where they are used).
 * `window` is the queried window: the rows' times are relative to it.
 */
export function parseUsageRows(rows: readonly Row[], window: Window): ParsedUsageRows {
  const firstHour = hourOf(window.startMs);
  const groups: UsageGroup[] = [];
  const rejected: ParsedUsageRows["rejected"] = [];
  const rejectedValues: ParsedUsageRows["rejectedValues"] = [];
  const U = USAGE_ROW;
  const value = (row: Row, field: string): number | undefined => {
    const v = amount(row[field]);
    if (v === undefined || !Number.isNaN(v)) return v;
    rejectedValues.push({ field, reason: "not a whole number" });
    return undefined;
  };
  /** A maximum written as value + 1: 0 or missing means none. */
  const plus1 = (row: Row, field: string): number | null => {
    const v = value(row, field);
    return v === undefined || v === 0 ? null : v - 1;
  };
  for (const row of rows) {
    // An engine that counts each request once (Athena's SQL) may give a group no request of its own and only a
    // hunt match: a variant of a request counted in another group, as the scanner adds it (record-evaluator.ts).
    const huntOnly = (amount(row[U.huntRequests]) ?? 0) > 0;
    const basics = rowBasics(row, U.requests, amount, huntOnly ? 0 : 1);
    if ("reason" in basics) {
      rejected.push({ row, reason: basics.reason });
      continue;
    }
    const { accountId, count: requests, firstSeenMs, lastSeenMs } = basics;
    const huntRequests = value(row, U.huntRequests) ?? 0;
    let hunt: HuntPart | null = null;
    if (huntRequests > 0) {
      const maxPromptTokens = plus1(row, U.huntMaxPromptTokensPlus1);
      const maxCompletionTokens = plus1(row, U.huntMaxCompletionTokensPlus1);
      // Milliseconds since the window's start; without the columns, the group's own first and last seen.
      const first = value(row, U.huntFirstSeen);
      const last = value(row, U.huntLastSeen);
      let huntFirst = firstSeenMs;
      let huntLast = lastSeenMs;
      if (first !== undefined && last !== undefined) {
        if (first < HUNT_NONE_MS && last >= first) {
          huntFirst = window.startMs + first;
          huntLast = window.startMs + last;
        } else rejectedValues.push({ field: U.huntFirstSeen, reason: "not the time of a matching request" });
      }
      hunt = {
        requestCount: huntRequests,
        maxPromptTokens,
        maxRequestSize: plus1(row, U.huntMaxRequestSizePlus1),
        maxCompletionTokens,
        maxCacheInclusiveInputTokens: plus1(row, U.huntMaxCachedInputTokensPlus1),
        firstSeenMs: huntFirst,
        lastSeenMs: huntLast,
        // Null when no matching request had the count (then the sum only adds zeros).
        sumPromptTokens: maxPromptTokens === null ? null : (value(row, U.huntSumPromptTokens) ?? null),
        sumCompletionTokens:
          maxCompletionTokens === null ? null : (value(row, U.huntSumCompletionTokens) ?? null),
      };
    }
    const hour = value(row, U.hour);
    const maxCached = value(row, U.maxCachedInputTokens);
    groups.push({
      accountId,
      identityArn: identityOf(row),
      modelId: row[U.modelId]?.trim() || null,
      hourMs: hour !== undefined ? firstHour + hour * HOUR_MS : hourOf(firstSeenMs),
      requests,
      firstSeenMs,
      lastSeenMs,
      inputTokens: value(row, U.inputTokens) ?? 0,
      cacheReadTokens: value(row, U.cacheReadTokens) ?? 0,
      cacheWriteTokens: value(row, U.cacheWriteTokens) ?? 0,
      outputTokens: value(row, U.outputTokens) ?? 0,
      cachedInputRequests: value(row, U.cachedInputRequests) ?? 0,
      cachedInputTokens: value(row, U.cachedInputTokens) ?? 0,
      maxCachedInputTokens: maxCached ?? null,
      hunt,
    });
  }
  return { groups, rejected, rejectedValues };
}
