/**
 * Logs Insights emulated at the SDK boundary (aws-sdk-client-mock): each StartQuery is answered from in-memory
 * records by interpreting the query text itself (test/helpers/insights-interpreter.ts: its window, filters,
 * fields and stats), with the `parse @message` captures taken from the records as the scanner's reader read them.
 */
import { GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import type { AwsStub } from "aws-sdk-client-mock";
import type { InvocationRecord } from "../../core/record-reader.js";
import type { Window } from "../../core/rule.js";
import { resultRows } from "./aws.js";
import { type Event, interpret } from "./insights-interpreter.js";

/** The window `[start, end)` a query text filters on. */
export function queryWindow(query: string): Window {
  const m = /toMillis\(@timestamp\) >= (\d+) and toMillis\(@timestamp\) < (\d+)/.exec(query);
  if (!m) throw new Error("query has no window filter");
  return { startMs: Number(m[1]), endMs: Number(m[2]) };
}

/**
 * What the query's `parse @message` commands capture from a record, taken from the record as the reader read
 * it (test/core/insights-query.test.ts and test/core/usage-query.differential.test.ts check that the regexes capture
 * the same from the raw text). The body stands in as its length.
 */
export function capturesOf(r: InvocationRecord): Event {
  return {
    "@timestamp": r.timestampMs,
    account: r.accountId,
    model: r.modelId,
    identityArn: r.identityArn,
    identityArnLast: r.identityArn,
    promptTokensAfterBody: r.promptTokens,
    promptTokensFirst: r.promptTokens,
    inputBody: r.requestSize === null ? null : { codePoints: r.requestSize },
    completionTokens: r.completionTokens,
    cacheReadAfterBody: r.cacheReadTokens,
    cacheWriteAfterBody: r.cacheWriteTokens,
  };
}

/** The rows the query text returns for these records: the query's own commands, interpreted. */
export function rowsFor(records: readonly InvocationRecord[], query: string): Record<string, string>[] {
  // Only the window's records (the query's first command keeps no other): the interpreter copies each event.
  const window = queryWindow(query);
  const inside = records.filter((r) => r.timestampMs >= window.startMs && r.timestampMs < window.endMs);
  const sorted = inside.sort((a, b) => a.timestampMs - b.timestampMs);
  return interpret(query, sorted.map(capturesOf), () => ({}));
}

/**
 * Answers the mocked client's queries from `records()` (read at query time, so late events can arrive).
 * Returns the windows queried, in order, and the two answers (for tests that put failures before them); bills 1
 * byte per record in each queried window.
 */
export function emulateInsights(
  // biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub type is generic over the client's commands
  insights: AwsStub<any, any, any>,
  records: () => readonly InvocationRecord[],
): {
  queried: Window[];
  startQuery: (input: { queryString: string }) => { queryId: string };
  getQueryResults: (input: { queryId: string }) => unknown;
} {
  let n = 0;
  const queried: Window[] = [];
  const byId = new Map<string, { rows: Record<string, string>[]; bytes: number }>();
  const startQuery = (input: { queryString: string }) => {
    const id = `q-${++n}`;
    const window = queryWindow(input.queryString);
    queried.push(window);
    const bytes = records().filter(
      (r) => r.timestampMs >= window.startMs && r.timestampMs < window.endMs,
    ).length;
    byId.set(id, { rows: rowsFor(records(), input.queryString), bytes });
    return { queryId: id };
  };
  const getQueryResults = (input: { queryId: string }) => {
    const answer = byId.get(input.queryId);
    return {
      status: "Complete",
      results: resultRows(answer?.rows ?? []),
      statistics: { bytesScanned: answer?.bytes ?? 0, recordsScanned: answer?.bytes ?? 0, recordsMatched: 0 },
    };
  };
  insights.on(StartQueryCommand).callsFake(startQuery);
  insights.on(GetQueryResultsCommand).callsFake(getQueryResults);
  return { queried, startQuery, getQueryResults };
}
