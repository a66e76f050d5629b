/**
 * Logs Insights result rows (every value a string, any value possibly missing) to match groups, validated.
 * A row without an account, a request count or first/last seen cannot be merged and is rejected with a
 * reason. A maximum that is not an integer is only that value missing: the maxima come from text a caller can
 * shape, and one bad value must not hide the row's other values (or the row).
 */
import type { MatchGroup } from "./evaluator.js";
import { ROW } from "./insights-query.js";

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

/** IAM and STS principal ARNs: the only identity values an alert shows as they are. */
const PRINCIPAL_ARN = /^arn:aws[\w-]*:(iam|sts)::\d+:[\w+=,.@/-]{1,512}$/;
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
function identityOf(row: Row): string | null {
  const first = row[ROW.identityArn]?.trim() || null;
  const last = row[ROW.identityArnLast]?.trim() || null;
  if (first !== null && last !== null && first !== last) return ambiguousIdentity(first, last);
  const only = first ?? last;
  return only === null ? null : shown(only);
}

/** Converts result rows (field name to value) into match groups. */
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
    const accountId = row[ROW.accountId]?.trim();
    if (!accountId) {
      rejected.push({ row, reason: "no account id" });
      continue;
    }
    const requestCount = count(row[ROW.requestCount]);
    if (requestCount === null || Number.isNaN(requestCount) || requestCount < 1) {
      rejected.push({
        row,
        reason: `request count "${row[ROW.requestCount] ?? ""}" is not a positive integer`,
      });
      continue;
    }
    const first = time(row[ROW.firstSeen]);
    const last = time(row[ROW.lastSeen]);
    if (first === null || last === null) {
      rejected.push({ row, reason: "first or last seen is not a timestamp" });
      continue;
    }
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
      firstSeenMs: Math.min(first, last),
      lastSeenMs: Math.max(first, last),
      sumPromptTokens: tokenSum(row[ROW.sumPromptTokens]),
      sumCompletionTokens: tokenSum(row[ROW.sumCompletionTokens]),
    });
  }
  return { groups, rejected, rejectedValues };
}
