/**
 * The rule as CloudWatch Logs Insights query text. Result rows carry the fields named in ROW, as strings;
 * `firstSeen`/`lastSeen` in Insights' `YYYY-MM-DD HH:MM:SS.mmm` UTC format.
 *
 * Why every field is parsed from `@message` instead of using auto-discovered JSON fields: Insights extracts at
 * most 200 fields per event, and Bedrock records with large or streamed bodies flatten to far more, with the
 * token counts after the bodies, so `input.inputTokenCount` is silently missing for exactly the heavy requests
 * this rule exists for. The regexes are anchored on `"key":`; inside a JSON string quotes are escaped
 * (`\"inputTokenCount\":`), so prompt text cannot fake them.
 *
 * Only validated numbers are interpolated (the rule's thresholds, the window, the row limit, and account ids
 * checked against a digits-only pattern): no configuration string can change the query's meaning.
 */
import { CROSS_REGION_PREFIXES } from "./model-key.js";
import { MAX_MODEL_THRESHOLDS } from "./model-thresholds.js";
import { HOUR_MS, hourOf, METRIC_INFO, METRICS, type Metric, type Rule, type Window } from "./rule.js";

/** The characters a model-threshold prefix may hold: it goes into the query's regular expression. */
const MODEL_THRESHOLD_PREFIX = /^[\w.:-]{1,200}$/;

/** Result-row field names, shared by the query and the code that parses its rows. */
export const ROW = {
  accountId: "account",
  identityArn: "identityArn",
  /** The last `"identity":{"arn":…}` in the record; differs from identityArn only when a body imitates it. */
  identityArnLast: "identityArnLast",
  modelId: "model",
  requestCount: "requestCount",
  maxPromptTokens: METRIC_INFO.promptTokens.maxField,
  maxRequestSize: METRIC_INFO.requestSize.maxField,
  maxCompletionTokens: METRIC_INFO.completionTokens.maxField,
  maxCacheInclusiveInputTokens: "maxCacheInclusiveInputTokens",
  sumPromptTokens: "sumPromptTokens",
  sumCompletionTokens: "sumCompletionTokens",
  firstSeen: "firstSeen",
  lastSeen: "lastSeen",
} as const;

/**
 * Result-row fields of the usage shapes (every request of the window, per group): the columns a usage group
 * (core/usage.ts) is read from. The hunt's numbers are conditional aggregates over the matching requests,
 * written so that "none" can be told apart: a maximum is the value plus one (0: no matching request had it),
 * first seen is pushed past HUNT_NONE_MS for requests that do not match. Times are relative to the window
 * (milliseconds since its start, hours since the clock hour it starts in), so no value needs more than about
 * ten digits.
 */
export const USAGE_ROW = {
  accountId: ROW.accountId,
  identityArn: ROW.identityArn,
  identityArnLast: ROW.identityArnLast,
  modelId: ROW.modelId,
  /** Clock hours since the hour the window starts in (`hourOf(window.startMs)`). */
  hour: "hourIndex",
  requests: "requests",
  firstSeen: ROW.firstSeen,
  lastSeen: ROW.lastSeen,
  inputTokens: "sumInputTokens",
  cacheReadTokens: "sumCacheReadTokens",
  cacheWriteTokens: "sumCacheWriteTokens",
  outputTokens: "sumOutputTokens",
  cachedInputRequests: "cachedInputRequests",
  cachedInputTokens: "cachedInputTokens",
  maxCachedInputTokens: "maxCachedInputTokens",
  huntRequests: "huntRequests",
  huntMaxPromptTokensPlus1: "huntMaxPromptTokensPlus1",
  huntMaxRequestSizePlus1: "huntMaxRequestSizePlus1",
  huntMaxCompletionTokensPlus1: "huntMaxCompletionTokensPlus1",
  huntMaxCachedInputTokensPlus1: "huntMaxCachedInputTokensPlus1",
  huntSumPromptTokens: "huntSumPromptTokens",
  huntSumCompletionTokens: "huntSumCompletionTokens",
  huntFirstSeen: "huntFirstSeenMs",
  huntLastSeen: "huntLastSeenMs",
} as const;

/** Added to the time of a request that does not match, so that the minimum over a group is a matching one. */
export const HUNT_NONE_MS = 100_000_000_000_000;

/** Per-record fields the query extracts (names chosen not to collide with auto-discovered ones). */
export const RECORD_FIELDS = {
  account: ROW.accountId,
  identity: ROW.identityArn,
  identityLast: ROW.identityArnLast,
  model: ROW.modelId,
  body: "inputBody",
  bodyBeforeOutput: "inputBodyBeforeOutput",
  bodyBeforeError: "inputBodyBeforeError",
  bodyAtEnd: "inputBodyAtEnd",
  promptAfterBody: "promptTokensAfterBody",
  promptFirst: "promptTokensFirst",
  promptNoBody: "promptTokensNoBody",
  promptTokens: "promptTokens",
  completionTokens: "completionTokens",
  requestSize: "requestSize",
  cacheReadAfterBody: "cacheReadAfterBody",
  cacheWriteAfterBody: "cacheWriteAfterBody",
  cacheReadNoBody: "cacheReadNoBody",
  cacheWriteNoBody: "cacheWriteNoBody",
  cacheRead: "cacheReadTokens",
  cacheWrite: "cacheWriteTokens",
  modelKey: "modelKey",
  thresholdPrompt: "thresholdPromptTokens",
  thresholdSize: "thresholdRequestSize",
  thresholdCompletion: "thresholdCompletionTokens",
  hunt: "huntMatch",
  cachedInput: "cachedInput",
  cachedHit: "cachedInputHit",
  millis: "millis",
} as const;
const F = RECORD_FIELDS;

/**
 * A count value: captured only when it is an integer literal of at most 15 digits (the contract's counts);
 * any other value (`"9500"`, `9e3`, a 16-digit literal) is matched but not captured, so it is missing.
 */
const count = (name: string) => `(?:(?<${name}>\\d{1,15})|[^,}]*)`;
/** The input object's own counts after its body or S3 path, in the order Bedrock writes them, then its `}`. */
const inputCounts = (prompt: string, cacheRead: string, cacheWrite: string) =>
  `"inputTokenCount":\\s*${count(prompt)}\\s*(?:,\\s*"cacheReadInputTokenCount":\\s*${count(cacheRead)}\\s*)?` +
  `(?:,\\s*"cacheWriteInputTokenCount":\\s*${count(cacheWrite)}\\s*)?\\}`;

/**
 * The regular expressions that read a record's fields from its raw text, each with named groups (the fields
 * of F): one source of truth for every raw-text engine (this query's `parse` commands, Athena's SQL in
 * athena-query.ts). Each is anchored on `"key":`; inside a JSON string quotes are escaped (`\"inputTokenCount\":`),
 * so prompt text cannot fake them. They keep to what JavaScript, Java (Trino's joni) and RE2 read alike: no
 * lookaround, no backreferences; `[\s\S]` rather than `.`, since a prompt may hold raw U+2028, U+0085 or CR,
 * which `.` does not match, and a caller must not be able to switch the patterns off with one character.
 */
export const RECORD_PATTERNS = {
  // accountId and modelId come before the bodies in every Bedrock key order: the first match is theirs.
  account: `"accountId":\\s*"(?<${F.account}>[^"]*)"`,
  model: `"modelId":\\s*"(?<${F.model}>[^"]*)"`,
  // identity comes before the bodies in older records and after them in newer ones, and a free-form JSON
  // object in a body (tool input, tool schema) could imitate it. Take the first and the last occurrence:
  // when they differ the identity is ambiguous (reported as such, never matched by exclusions).
  identity: `"identity":\\s*\\{\\s*"arn":\\s*"(?<${F.identity}>[^"]*)"`,
  identityLast: `[\\s\\S]*"identity":\\s*\\{\\s*"arn":\\s*"(?<${F.identityLast}>[^"]*)"`,
  // A body never starts with `n`: `"inputBodyJson":null` is no body, as for the reader.
  // The inline request body and the input's own counts after it. Greedy: the body runs to the last place
  // that looks like the end of the input object (`,"inputTokenCount":…}`), which is the record's own unless
  // a model-written object in the response imitates it (then the body only looks longer).
  body: `"inputBodyJson":\\s*(?<${F.body}>[^n\\s][\\s\\S]*),\\s*${inputCounts(F.promptAfterBody, F.cacheReadAfterBody, F.cacheWriteAfterBody)}`,
  // The first integer count after the body starts: the record's own unless a caller-written object in the
  // request imitates it. With the greedy one above, hiding the real count needs imitations on both sides.
  promptFirst: `"inputBodyJson":[\\s\\S]*?,\\s*"inputTokenCount":\\s*(?<${F.promptFirst}>\\d{1,15})\\s*[,}]`,
  // A body with no count after it (a failed call): it ends where the input object does, before the member
  // Bedrock writes next: the output object (which starts with outputContentType, or is empty, `{}`, and then
  // followed by identity, errorCode or the record's end; a tool schema's "output" property does not end the
  // body), else errorCode, else identity or the end of the record. Greedy: text in the request body cannot
  // shorten it except by imitating `},"output":{…` and what follows it.
  bodyBeforeOutput: `"inputBodyJson":\\s*(?<${F.bodyBeforeOutput}>[^n\\s][\\s\\S]*)\\}\\s*,\\s*"output"\\s*:\\s*\\{\\s*(?:"outputContentType"|\\}\\s*(?:,\\s*"(?:identity|errorCode)"\\s*:|\\}\\s*$))`,
  bodyBeforeError: `"inputBodyJson":\\s*(?<${F.bodyBeforeError}>[^n\\s][\\s\\S]*)\\}\\s*,\\s*"errorCode"\\s*:`,
  bodyAtEnd: `"inputBodyJson":\\s*(?<${F.bodyAtEnd}>[^n\\s][\\s\\S]*)\\}\\s*(?:,\\s*"identity"\\s*:|\\}\\s*$)`,
  // No inline body (offloaded to S3, text delivery off, null): the counts follow the input's first members.
  noBody: `"input":\\s*\\{\\s*(?:"inputContentType":\\s*"[^"]*"\\s*,\\s*)?(?:"inputBodyS3Path":\\s*"[^"]*"\\s*,\\s*|"inputBodyJson":\\s*null\\s*,\\s*)?${inputCounts(F.promptNoBody, F.cacheReadNoBody, F.cacheWriteNoBody)}`,
  // outputTokenCount closes the output object, after the response body: the last occurrence of the key is
  // its own, whatever its value (a value that is not a count leaves it missing, never a streamed look-alike).
  completion: `[\\s\\S]*"outputTokenCount":\\s*(?:(?<${F.completionTokens}>\\d{1,15})\\s*[,}])?`,
} as const;

/**
 * The hunt alone: `account`, one row per account, mirroring Elastic's query; `evidence`, one row per account,
 * identity and model; `records`, the matching records themselves (metrics and ids, never bodies), newest
 * first, for investigation. Every detection: `usage`, one row per account, identity, model and clock hour over
 * every request of the window (what the stored periods keep); `usage-account`, the same per account only (the
 * fallback when `usage` rows reach the row limit; principals and hours are then unknown).
 */
export type QueryShape = "account" | "evidence" | "records" | "usage" | "usage-account";

export interface QueryOptions {
  readonly shape: QueryShape;
  /** Row limit (`limit` command); Insights returns 10,000 rows by default. */
  readonly limit?: number;
  /** Account ids to leave out (12-digit ids only; validated). */
  readonly excludeAccountIds?: readonly string[];
  /** Only these account ids (12-digit ids only; validated). */
  readonly onlyAccountIds?: readonly string[];
}

export const DEFAULT_ROW_LIMIT = 10_000;
/** StartQuery accepts query strings of at most 10,000 characters. */
export const MAX_QUERY_CHARS = 10_000;
/** Account ids one query can filter on and stay well inside MAX_QUERY_CHARS. */
export const MAX_FILTER_ACCOUNT_IDS = 400;
export const MAX_ROW_LIMIT = 10_000;
/** AWS account ids: 12 digits (the only account values that may go into query text). */
export const ACCOUNT_ID = /^\d{12}$/;

function assertInt(value: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new RangeError(`${what} must be an integer >= ${min}`);
}

/** `x > threshold` as 1 or 0 for an integer count `x` (missing: 0), with Insights arithmetic only. */
const above = (x: string, threshold: string) => `least(greatest(coalesce(${x}, -1) - (${threshold}), 0), 1)`;

/** Regex text matching `prefix` literally (model-threshold prefixes hold only `[\w.:-]`). */
const literal = (prefix: string) => prefix.replace(/[.]/g, "\\.");

/**
 * The `fields` lines that give each record the hunt's thresholds of its model (`modelThresholds`): one `parse`
 * per entry over the model key, an indicator per entry that is 1 only for the longest matching prefix, and
 * each threshold as the global one plus the chosen entry's difference. Null without entries: the thresholds
 * are the numbers themselves.
 */
function thresholdLines(rule: Rule): { lines: string[]; of: Record<Metric, string> } {
  const t = rule.thresholds;
  const entries = rule.modelThresholds;
  if (entries.length === 0) {
    return {
      lines: [],
      of: {
        promptTokens: `${t.promptTokens}`,
        requestSize: `${t.requestSize}`,
        completionTokens: `${t.completionTokens}`,
      },
    };
  }
  if (entries.length > MAX_MODEL_THRESHOLDS)
    throw new RangeError(`at most ${MAX_MODEL_THRESHOLDS} model thresholds fit in one query`);
  for (const e of entries) {
    if (!MODEL_THRESHOLD_PREFIX.test(e.prefix))
      throw new RangeError(`model threshold prefix ${JSON.stringify(e.prefix)} is not a model key prefix`);
    for (const m of METRICS) assertInt(e.thresholds[m], `${e.prefix} ${m} threshold`, 1);
  }
  const hit = (i: number) => `modelThresholdHit${i}`;
  const use = (i: number) => `modelThresholdUse${i}`;
  const lines = [
    // The model key: the model id after its last `/` (an ARN), without a cross-region prefix.
    `| parse ${F.model} /^(?:[\\s\\S]*\\/)?(?:(?:${CROSS_REGION_PREFIXES.join("|")})\\.)?(?<${F.modelKey}>[\\s\\S]*)$/`,
    ...entries.map((e, i) => `| parse ${F.modelKey} /^(?<modelThresholdPrefix${i}>${literal(e.prefix)})/`),
    `| fields ${entries.map((_, i) => `least(coalesce(strlen(modelThresholdPrefix${i}), 0), 1) as ${hit(i)}`).join(", ")}`,
    // An entry applies when it matches and no longer matching entry does (those start with its prefix).
    `| fields ${entries
      .map((e, i) => {
        const longer = entries.flatMap((o, j) =>
          o.prefix.length > e.prefix.length && o.prefix.startsWith(e.prefix) ? [j] : [],
        );
        return `${[hit(i), ...longer.map((j) => `(1 - ${hit(j)})`)].join(" * ")} as ${use(i)}`;
      })
      .join(", ")}`,
  ];
  const of = {} as Record<Metric, string>;
  const names: Record<Metric, string> = {
    promptTokens: F.thresholdPrompt,
    requestSize: F.thresholdSize,
    completionTokens: F.thresholdCompletion,
  };
  lines.push(
    `| fields ${METRICS.map(
      (m) =>
        `${t[m]}${entries
          .map((e, i) => {
            const d = e.thresholds[m] - t[m];
            return ` ${d < 0 ? "-" : "+"} ${use(i)} * ${Math.abs(d)}`;
          })
          .join("")} as ${names[m]}`,
    ).join(", ")}`,
  );
  for (const m of METRICS) of[m] = names[m];
  return { lines, of };
}

/** The rule's query for a window and shape (see QueryShape). */
export function buildInsightsQuery(rule: Rule, window: Window, options: QueryOptions): string {
  const limit = options.limit ?? DEFAULT_ROW_LIMIT;
  assertInt(limit, "limit", 1);
  if (limit > MAX_ROW_LIMIT) throw new RangeError(`limit must be at most ${MAX_ROW_LIMIT}`);
  assertInt(window.startMs, "window start");
  assertInt(window.endMs, "window end");
  assertInt(rule.minRequests, "minRequests", 1);
  for (const m of METRICS) assertInt(rule.thresholds[m], `${m} threshold`, 1);
  const excluded = options.excludeAccountIds ?? [];
  const only = options.onlyAccountIds ?? [];
  if (excluded.length + only.length > MAX_FILTER_ACCOUNT_IDS) {
    throw new RangeError(`at most ${MAX_FILTER_ACCOUNT_IDS} account ids fit in one query`);
  }
  for (const id of [...excluded, ...only]) {
    if (!ACCOUNT_ID.test(id)) throw new RangeError(`account id ${JSON.stringify(id)} is not 12 digits`);
  }
  const idList = (ids: readonly string[]) => `[${ids.map((id) => `"${id}"`).join(", ")}]`;
  const usage = options.shape === "usage" || options.shape === "usage-account";
  if (usage) assertInt(rule.cachedInputTokens, "cachedInputTokens", 1);
  const thresholds = thresholdLines(rule);
  const th = thresholds.of;

  const P = RECORD_PATTERNS;
  const lines = [
    // The record's own timestamp is @timestamp; StartQuery's bounds are whole seconds and inclusive, so
    // the exact half-open window [start, end) is enforced here in milliseconds.
    `filter toMillis(@timestamp) >= ${window.startMs} and toMillis(@timestamp) < ${window.endMs}`,
    ...[
      P.account,
      P.model,
      P.identity,
      P.identityLast,
      P.body,
      P.promptFirst,
      P.bodyBeforeOutput,
      P.bodyBeforeError,
      P.bodyAtEnd,
      P.noBody,
      P.completion,
    ].map((pattern) => `| parse @message /${pattern}/`),
    `| fields coalesce(greatest(${F.promptAfterBody}, ${F.promptFirst}), ${F.promptAfterBody}, ${F.promptFirst}, ${F.promptNoBody}) as ${F.promptTokens}, ` +
      `strlen(coalesce(${F.body}, ${F.bodyBeforeOutput}, ${F.bodyBeforeError}, ${F.bodyAtEnd})) as ${F.requestSize}, ` +
      `coalesce(${F.cacheReadAfterBody}, ${F.cacheReadNoBody}) as ${F.cacheRead}, coalesce(${F.cacheWriteAfterBody}, ${F.cacheWriteNoBody}) as ${F.cacheWrite}`,
    ...thresholds.lines,
  ];
  const accountFilters = [
    ...(excluded.length > 0 ? [`| filter ${F.account} not in ${idList(excluded)}`] : []),
    ...(only.length > 0 ? [`| filter ${F.account} in ${idList(only)}`] : []),
  ];
  if (usage) {
    const groupBy =
      options.shape === "usage-account"
        ? [F.account]
        : [F.account, F.identity, F.identityLast, F.model, USAGE_ROW.hour];
    const U = USAGE_ROW;
    lines.push(
      ...accountFilters,
      // Every request counts; the hunt's numbers are aggregated over its matching requests only, with
      // arithmetic: huntMatch is 1 for a matching request and 0 otherwise.
      `| fields least(${above(F.promptTokens, th.promptTokens)} + ${above(F.completionTokens, th.completionTokens)} + ${above(F.requestSize, th.requestSize)}, 1) as ${F.hunt}, ` +
        // Missing when all three counts are (arithmetic with a missing value is missing).
        `coalesce(${F.promptTokens}, 0) + coalesce(${F.cacheRead}, 0) + coalesce(${F.cacheWrite}, 0) + 0 * coalesce(${F.promptTokens}, ${F.cacheRead}, ${F.cacheWrite}) as ${F.cachedInput}, ` +
        // Times relative to the window (small numbers, exact however Insights prints them): milliseconds since
        // its start, and clock hours since the hour it starts in.
        `toMillis(@timestamp) - ${window.startMs} as ${F.millis}, floor((toMillis(@timestamp) - ${hourOf(window.startMs)}) / ${HOUR_MS}) as ${U.hour}`,
      `| fields ${above(F.cachedInput, String(rule.cachedInputTokens))} as ${F.cachedHit}`,
      `| stats count(*) as ${U.requests}, min(@timestamp) as ${U.firstSeen}, max(@timestamp) as ${U.lastSeen}, ` +
        `sum(coalesce(${F.promptTokens}, 0)) as ${U.inputTokens}, sum(coalesce(${F.cacheRead}, 0)) as ${U.cacheReadTokens}, ` +
        `sum(coalesce(${F.cacheWrite}, 0)) as ${U.cacheWriteTokens}, sum(coalesce(${F.completionTokens}, 0)) as ${U.outputTokens}, ` +
        `sum(${F.cachedHit}) as ${U.cachedInputRequests}, sum(${F.cachedHit} * coalesce(${F.cachedInput}, 0)) as ${U.cachedInputTokens}, ` +
        `max(${F.cachedInput}) as ${U.maxCachedInputTokens}, sum(${F.hunt}) as ${U.huntRequests}, ` +
        `max(${F.hunt} * (${F.promptTokens} + 1)) as ${U.huntMaxPromptTokensPlus1}, max(${F.hunt} * (${F.requestSize} + 1)) as ${U.huntMaxRequestSizePlus1}, ` +
        `max(${F.hunt} * (${F.completionTokens} + 1)) as ${U.huntMaxCompletionTokensPlus1}, max(${F.hunt} * (${F.cachedInput} + 1)) as ${U.huntMaxCachedInputTokensPlus1}, ` +
        `sum(${F.hunt} * coalesce(${F.promptTokens}, 0)) as ${U.huntSumPromptTokens}, sum(${F.hunt} * coalesce(${F.completionTokens}, 0)) as ${U.huntSumCompletionTokens}, ` +
        `min(${F.millis} + (1 - ${F.hunt}) * ${HUNT_NONE_MS}) as ${U.huntFirstSeen}, max(${F.hunt} * ${F.millis}) as ${U.huntLastSeen} ` +
        `by ${groupBy.join(", ")}`,
      // At the row limit the busiest groups are the ones kept (the fallback then fetches the rest).
      `| sort ${USAGE_ROW.requests} desc`,
      `| limit ${limit}`,
    );
    return checkedLength(lines.join("\n"));
  }
  lines.push(
    // The rule: any metric strictly above its threshold; a missing metric never matches.
    `| filter ${F.promptTokens} > ${th.promptTokens} or ${F.completionTokens} > ${th.completionTokens} or ${F.requestSize} > ${th.requestSize}`,
    ...accountFilters,
  );
  if (options.shape === "records") {
    // Metrics and ids only: the body stays in Logs, never in results that may be forwarded.
    lines.push(
      `| fields @timestamp, ${F.account}, ${F.identity}, ${F.identityLast}, ${F.model}, ${F.promptTokens}, ${F.requestSize}, ${F.completionTokens}`,
      "| sort @timestamp desc",
      `| limit ${limit}`,
    );
    return checkedLength(lines.join("\n"));
  }
  const groupBy =
    options.shape === "account" ? [F.account] : [F.account, F.identity, F.identityLast, F.model];
  lines.push(
    `| stats count(*) as ${ROW.requestCount}, max(${F.promptTokens}) as ${ROW.maxPromptTokens}, ` +
      `max(${F.requestSize}) as ${ROW.maxRequestSize}, max(${F.completionTokens}) as ${ROW.maxCompletionTokens}, ` +
      `max(${F.promptTokens} + coalesce(${F.cacheRead}, 0) + coalesce(${F.cacheWrite}, 0)) as ${ROW.maxCacheInclusiveInputTokens}, ` +
      `min(@timestamp) as ${ROW.firstSeen}, max(@timestamp) as ${ROW.lastSeen}, ` +
      // Token sums for the alert's cost estimate (sums merge across rows like the counts).
      `sum(${F.promptTokens}) as ${ROW.sumPromptTokens}, sum(${F.completionTokens}) as ${ROW.sumCompletionTokens} by ${groupBy.join(", ")}`,
    // minRequests is per account: only the account-level shape can apply it in the query.
    ...(options.shape === "account" ? [`| filter ${ROW.requestCount} >= ${rule.minRequests}`] : []),
    // Insights documents one sort key; the code finishes the contract's full order.
    `| sort ${ROW.maxPromptTokens} desc`,
    `| limit ${limit}`,
  );
  return checkedLength(lines.join("\n"));
}

function checkedLength(query: string): string {
  if (query.length > MAX_QUERY_CHARS)
    throw new RangeError(`query is ${query.length} characters, over ${MAX_QUERY_CHARS}`);
  return query;
}
