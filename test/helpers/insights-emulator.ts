/**
 * Logs Insights emulated at the SDK boundary (aws-sdk-client-mock): each StartQuery is answered from in-memory
 * records with the rows the real query computes for its text (the exact ms window, account filters, shape).
 * Records are read by the scanner's reader; test/insights-query.test.ts checks the query's regexes agree with it.
 */
import { GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import type { AwsStub } from "aws-sdk-client-mock";
import { groupOf, matches } from "../../core/evaluator.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import type { Rule, Window } from "../../core/rule.js";
import { resultRows } from "./aws.js";

/** Insights' timestamp format in result rows. */
const insightsTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

/** The window `[start, end)` a query text filters on. */
export function queryWindow(query: string): Window {
  const m = /toMillis\(@timestamp\) >= (\d+) and toMillis\(@timestamp\) < (\d+)/.exec(query);
  if (!m) throw new Error("query has no window filter");
  return { startMs: Number(m[1]), endMs: Number(m[2]) };
}

/** The rows the rule's query (evidence or account shape) returns for these records. */
export function rowsFor(
  records: readonly InvocationRecord[],
  rule: Rule,
  query: string,
): Record<string, string>[] {
  const window = queryWindow(query);
  const ids = (re: RegExp) => new Set(re.exec(query)?.[1]?.match(/\d{12}/g) ?? []);
  const excluded = ids(/filter account not in \[([^\]]*)\]/);
  const only = ids(/filter account in \[([^\]]*)\]/);
  const byAccount = / by account\n/.test(query);
  const rows = new Map<string, Record<string, string>>();
  const sorted = [...records].sort((a, b) => a.timestampMs - b.timestampMs);
  for (const r of sorted) {
    if (r.timestampMs < window.startMs || r.timestampMs >= window.endMs || !matches(r, rule)) continue;
    if (excluded.has(r.accountId) || (only.size > 0 && !only.has(r.accountId))) continue;
    const g = groupOf(r);
    const key = byAccount ? g.accountId : JSON.stringify([g.accountId, g.identityArn, g.modelId]);
    const max = (a: string | undefined, b: number | null) =>
      b === null ? (a ?? "") : a === undefined || a === "" ? String(b) : String(Math.max(Number(a), b));
    const row = rows.get(key);
    rows.set(key, {
      account: g.accountId,
      ...(byAccount
        ? {}
        : { identityArn: g.identityArn ?? "", identityArnLast: g.identityArn ?? "", model: g.modelId ?? "" }),
      requestCount: String(Number(row?.requestCount ?? 0) + 1),
      maxPromptTokens: max(row?.maxPromptTokens, g.maxPromptTokens),
      maxRequestSize: max(row?.maxRequestSize, g.maxRequestSize),
      maxCompletionTokens: max(row?.maxCompletionTokens, g.maxCompletionTokens),
      maxCacheInclusiveInputTokens: max(row?.maxCacheInclusiveInputTokens, g.maxCacheInclusiveInputTokens),
      firstSeen: row?.firstSeen ?? insightsTime(r.timestampMs),
      lastSeen: insightsTime(r.timestampMs),
    });
  }
  const all = [...rows.values()];
  const limit = Number(/\| limit (\d+)/.exec(query)?.[1] ?? 10_000);
  return all.slice(0, limit);
}

/**
 * Answers the mocked client's queries from `records()` (read at query time, so late events can arrive).
 * Returns the windows queried, in order, and bills 1 byte per record in each queried window.
 */
export function emulateInsights(
  // biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub type is generic over the client's commands
  insights: AwsStub<any, any, any>,
  records: () => readonly InvocationRecord[],
  rule: Rule,
): { queried: Window[] } {
  let n = 0;
  const queried: Window[] = [];
  const byId = new Map<string, { rows: Record<string, string>[]; bytes: number }>();
  insights.on(StartQueryCommand).callsFake((input: { queryString: string }) => {
    const id = `q-${++n}`;
    const window = queryWindow(input.queryString);
    queried.push(window);
    const bytes = records().filter(
      (r) => r.timestampMs >= window.startMs && r.timestampMs < window.endMs,
    ).length;
    byId.set(id, { rows: rowsFor(records(), rule, input.queryString), bytes });
    return { queryId: id };
  });
  insights.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) => {
    const answer = byId.get(input.queryId);
    return {
      status: "Complete",
      results: resultRows(answer?.rows ?? []),
      statistics: { bytesScanned: answer?.bytes ?? 0, recordsScanned: answer?.bytes ?? 0, recordsMatched: 0 },
    };
  });
  return { queried };
}
