/**
 * Runs the Logs Insights query's extraction in JavaScript: its `parse` regexes (first match per parse; a `.*`
 * prefix picks the last occurrence) and its `fields` line, so tests can compare it with the reader.
 */

import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { buildInsightsQuery } from "../../core/insights-query.js";
import { parseRows } from "../../core/insights-rows.js";

const QUERY = buildInsightsQuery(DEFAULT_RULE, { startMs: 0, endMs: 1 }, { shape: "evidence" });
export const QUERY_REGEXES = [...QUERY.matchAll(/parse @message \/(.*)\/$/gm)].map(
  (m) => new RegExp(m[1] ?? ""),
);

export interface Extracted {
  accountId: string | undefined;
  identityArn: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  requestSize: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
}

/** The raw fields every parse sets for one message. */
export function parseFields(message: string): Record<string, string | undefined> {
  const f: Record<string, string | undefined> = {};
  for (const re of QUERY_REGEXES) {
    const groups = re.exec(message)?.groups ?? {};
    for (const [k, v] of Object.entries(groups)) if (v !== undefined) f[k] = v;
  }
  return f;
}

const num = (v: string | undefined) => (v === undefined ? null : Number(v));
/** Insights' greatest(): null when an argument is. */
const greatest = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.max(a, b));
const coalesce = <T>(...xs: (T | null | undefined)[]): T | null => xs.find((x) => x != null) ?? null;

/** The per-record values the query computes (the `fields` line), as the reader's names. */
export function simulate(message: string): Extracted {
  const f = parseFields(message);
  const after = num(f.promptTokensAfterBody);
  const first = num(f.promptTokensFirst);
  const body = coalesce(f.inputBody, f.inputBodyBeforeOutput, f.inputBodyBeforeError, f.inputBodyAtEnd);
  return {
    accountId: f.account,
    identityArn:
      parseRows([
        {
          ...f,
          requestCount: "1",
          firstSeen: "2026-11-19 10:00:00.000",
          lastSeen: "2026-11-19 10:00:00.000",
        },
      ]).groups[0]?.identityArn ?? null,
    promptTokens: coalesce(greatest(after, first), after, first, num(f.promptTokensNoBody)),
    completionTokens: num(f.completionTokens),
    // strlen counts code points.
    requestSize: body === null ? null : [...body].length,
    cacheReadTokens: coalesce(num(f.cacheReadAfterBody), num(f.cacheReadNoBody)),
    cacheWriteTokens: coalesce(num(f.cacheWriteAfterBody), num(f.cacheWriteNoBody)),
  };
}
