/**
 * The detections as Athena (Trino) SQL over the S3 delivery archive (athena-table.ts: one string column `line`
 * per raw line, partitions `account`, `region`, `datehour`). Like Logs Insights, Athena reads records as raw
 * text: every field is taken from the line with the same regular expressions as the Insights query
 * (RECORD_PATTERNS), and the usage query returns exactly the rows of Insights' `usage` shape (USAGE_ROW, same
 * names and encodings), so that parseUsageRows and evaluateUsage give the findings: one logic for every engine.
 * Unlike Insights, SQL counts a request once per account and requestId, as the scanner does.
 *
 * Only validated values go into the text: integers, 12-digit account ids, hour folders, identifiers matching
 * IDENTIFIER, model-key prefixes and identity patterns of restricted characters. No configuration string can
 * change a query's meaning. The SQL keeps to what Trino and DuckDB (the tests' stand-in) read alike; the few
 * names that differ are listed in docs/athena.md. Regular expressions keep to the common subset of Java (joni)
 * and RE2: no lookaround, no backreferences.
 */
import { type History, HourlyTotals } from "./anomaly.js";
import { ARCHIVE_COLUMNS, datehourRange } from "./athena-table.js";
import { IDENTITY_PATTERN, identityPatternToRegExp, keptPrincipalOf } from "./exclusions.js";
import {
  ACCOUNT_ID,
  HUNT_NONE_MS,
  RECORD_FIELDS,
  RECORD_PATTERNS,
  ROW,
  USAGE_ROW,
} from "./insights-query.js";
import { identityOf, type Row } from "./insights-rows.js";
import { CROSS_REGION_PREFIXES } from "./model-key.js";
import { MAX_MODEL_THRESHOLDS, MODEL_THRESHOLD_ENTRY } from "./model-thresholds.js";
import { ASSUMED_ROLE_SESSION, PRINCIPAL_ARN, UNKNOWN_PRINCIPAL } from "./principal.js";
import { historyWindowOf } from "./record-evaluator.js";
import { DAY_MS, HOUR_MS, hourOf, METRICS, type Metric, type Rule, type Window } from "./rule.js";

/** StartQueryExecution takes a query string of at most 262,144 bytes (the queries here are about 10-30 KB). */
export const MAX_ATHENA_QUERY_BYTES = 262_144;

function checkedLength(sql: string): string {
  const bytes = new TextEncoder().encode(sql).length;
  if (bytes > MAX_ATHENA_QUERY_BYTES)
    throw new RangeError(`query is ${bytes} bytes, over Athena's ${MAX_ATHENA_QUERY_BYTES}`);
  return sql;
}

/** Database and table names: lower-case letters, digits and underscores only (Glue lower-cases them anyway). */
export const IDENTIFIER = /^[a-z0-9_]{1,255}$/;

export interface AthenaTable {
  readonly database: string;
  readonly table: string;
}

export interface AthenaQueryOptions {
  /** Account ids to leave out (12 digits; validated). Default: the rule's excluded accounts. */
  readonly excludeAccountIds?: readonly string[];
  /** Only these account ids (12 digits; validated). */
  readonly onlyAccountIds?: readonly string[];
}

/** Hour folders as hourFolder() writes them: the only `datehour` values that go into query text. */
const DATEHOUR = /^\d{4}\/\d{2}\/\d{2}\/\d{2}$/;

function assertInt(value: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new RangeError(`${what} must be an integer >= ${min}`);
}

/** A string literal of text already checked to hold no quote (the checks above): never an escape hatch. */
function literal(text: string): string {
  if (text.includes("'")) throw new RangeError("a query literal may not hold a quote");
  return `'${text}'`;
}

function tableRef(t: AthenaTable): string {
  for (const [what, name] of [
    ["database", t.database],
    ["table", t.table],
  ] as const) {
    if (!IDENTIFIER.test(name))
      throw new RangeError(`${what} name ${JSON.stringify(name)} must match ${IDENTIFIER.source}`);
  }
  return `"${t.database}"."${t.table}"`;
}

function accountIds(ids: readonly string[]): string {
  for (const id of ids) {
    if (!ACCOUNT_ID.test(id)) throw new RangeError(`account id ${JSON.stringify(id)} is not 12 digits`);
  }
  return ids.map(literal).join(", ");
}

function datehourLiteral(folder: string): string {
  if (!DATEHOUR.test(folder)) throw new RangeError(`datehour ${JSON.stringify(folder)} is not YYYY/MM/DD/HH`);
  return literal(folder);
}

function checkWindowBounds(window: Window): void {
  assertInt(window.startMs, "window start");
  assertInt(window.endMs, "window end");
  if (window.endMs <= window.startMs) throw new RangeError("window end must be after its start");
}

/** Any character, in every engine (a prompt may hold raw U+2028, U+0085 or CR, which `.` may not match). */
const ANY = "[\\s\\S]";
/** `\d` and `\w` as the ASCII ranges they are in JavaScript and RE2 (joni may read them as Unicode classes). */
const ASCII_CLASSES: Readonly<Record<string, string>> = { d: "0-9", w: "A-Za-z0-9_" };

/** A JavaScript pattern of the common subset as Trino and RE2 read it alike (see positional). */
const portable = (pattern: string): string => positional(pattern).pattern;

/**
 * A named-group pattern (RECORD_PATTERNS) as Trino reads it alike with RE2: `(?<name>` becomes `(` (each name
 * its group number, for regexp_extract(string, pattern, group)); `\d` and `\w` become their ASCII ranges; and a pattern that starts with `[\s\S]*` (the last occurrence of a key) is anchored with
 * `^`, which matches the same but keeps a backtracking engine linear when the key is absent.
 */
function positional(pattern: string): { pattern: string; groups: Map<string, number> } {
  const groups = new Map<string, number>();
  let out = pattern.startsWith(`${ANY}*`) ? "^" : "";
  let n = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const ascii = c === "\\" ? ASCII_CLASSES[pattern[i + 1] ?? ""] : undefined;
    if (ascii !== undefined) {
      out += inClass ? ascii : `[${ascii}]`;
      i++;
    } else if (c === "\\") {
      out += pattern.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === "]") inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "(" && pattern.startsWith("(?<", i) && !/^\(\?<[=!]/.test(pattern.slice(i, i + 4))) {
      const close = pattern.indexOf(">", i);
      groups.set(pattern.slice(i + 3, close), ++n);
      out += "(";
      i = close;
    } else {
      if (c === "(" && pattern[i + 1] !== "?") n++;
      out += c;
    }
  }
  return { pattern: out, groups };
}

const EXTRACTIONS = Object.values(RECORD_PATTERNS).map(positional);

/**
 * `regexp_extract` of one named field of RECORD_PATTERNS from `column`, NULL when absent. Wrapped in nullif:
 * Trino gives NULL when the pattern does not match or the group does not take part, DuckDB gives '' for both;
 * an empty capture is a missing value for every field (the reader drops an empty requestId, accountId or count
 * the same way), so both engines read alike.
 */
function extract(column: string, field: string): string {
  for (const e of EXTRACTIONS) {
    const group = e.groups.get(field);
    if (group !== undefined) return `nullif(regexp_extract(${column}, ${literal(e.pattern)}, ${group}), '')`;
  }
  throw new Error(`no record pattern captures ${field}`);
}

const F = RECORD_FIELDS;
/** JSON's insignificant whitespace (`\s` reads more in Java than in RE2: a vertical tab). */
const WS = "[ \\t\\n\\r]";
/**
 * A line that can be a record: one JSON object, `{` to `}`. A raw-text engine cannot check all of JSON; this
 * keeps out truncated lines (most end elsewhere) and lines with text after the object.
 */
const OBJECT_LINE = `^${WS}*\\{${ANY}*\\}${WS}*$`;
/**
 * The record's own `timestamp` value: its first occurrence (timestamp comes before every body in the key orders
 * Bedrock writes), whatever the value is, so a body's look-alike never stands in for a bad own value.
 */
const TIMESTAMP_VALUE = `"timestamp":${WS}*([^,}]*)`;
/** The contract's timestamp (detection-rule.md "Timestamp"), quotes included: seconds, any fraction, a zone. */
const TIMESTAMP_TEXT = `^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"${WS}*$`;
/** The requestId: comes before the bodies in every key order, like accountId. */
const REQUEST_ID = `"requestId":${WS}*"([^"]*)"`;

/** Column names of the per-record CTE (lower case: SQL identifiers, not result columns). */
const C = {
  line: ARCHIVE_COLUMNS.line,
  ms: "record_ms",
  account: "account_id",
  requestId: "request_id",
  identity: "identity_arn",
  identityLast: "identity_arn_last",
  model: "model_id",
  prompt: "prompt_tokens",
  completion: "completion_tokens",
  size: "request_size",
  cacheRead: "cache_read_tokens",
  cacheWrite: "cache_write_tokens",
  cached: "cached_input_tokens",
  total: "total_tokens",
} as const;

/**
 * The CTEs every query starts with, ending in `records`: one row per line of the partitions read that is a
 * record (an object with the contract's timestamp and a non-empty accountId), with its fields as the Insights
 * query reads them and its exact instant in epoch milliseconds (the floor; an offset applied).
 */
function recordCtes(table: AthenaTable, datehourFrom: string, datehourTo: string): string[] {
  const line = C.line;
  const x = (field: string) => extract(line, field);
  // try_cast: a captured count is ASCII digits, so this never fails; a query must not fail on one line anyway.
  const n = (text: string) => `try_cast(${text} AS bigint)`;
  const part = (from: number, length: number) => `CAST(substr(ts, ${from}, ${length}) AS bigint)`;
  return [
    `archive_lines AS (
  SELECT ${line} FROM ${tableRef(table)}
  WHERE ${ARCHIVE_COLUMNS.datehour} BETWEEN ${datehourFrom} AND ${datehourTo}
    AND regexp_like(${line}, ${literal(OBJECT_LINE)})
)`,
    `texts AS (
  SELECT ${line},
    nullif(regexp_extract(${line}, ${literal(TIMESTAMP_VALUE)}, 1), '') AS ts_value,
    ${x(F.account)} AS ${C.account},
    nullif(regexp_extract(${line}, ${literal(REQUEST_ID)}, 1), '') AS ${C.requestId},
    ${x(F.identity)} AS ${C.identity},
    ${x(F.identityLast)} AS ${C.identityLast},
    ${x(F.model)} AS ${C.model},
    ${n(x(F.promptAfterBody))} AS prompt_after_body,
    ${n(x(F.promptFirst))} AS prompt_first,
    ${n(x(F.promptNoBody))} AS prompt_no_body,
    ${n(x(F.completionTokens))} AS ${C.completion},
    length(coalesce(${x(F.body)}, ${x(F.bodyBeforeOutput)}, ${x(F.bodyBeforeError)}, ${x(F.bodyAtEnd)})) AS ${C.size},
    ${n(`coalesce(${x(F.cacheReadAfterBody)}, ${x(F.cacheReadNoBody)})`)} AS ${C.cacheRead},
    ${n(`coalesce(${x(F.cacheWriteAfterBody)}, ${x(F.cacheWriteNoBody)})`)} AS ${C.cacheWrite}
  FROM archive_lines
)`,
    // The timestamp's parts: fixed positions once its text is the contract's.
    `stamps AS (
  SELECT texts.*,
    CASE WHEN regexp_like(ts_value, ${literal(TIMESTAMP_TEXT)}) THEN ts_value END AS ts
  FROM texts
)`,
    `stamp_parts AS (
  SELECT stamps.*,
    ${part(2, 4)} AS ts_year, ${part(7, 2)} AS ts_month, ${part(10, 2)} AS ts_day,
    ${part(13, 2)} AS ts_hour, ${part(16, 2)} AS ts_minute, ${part(19, 2)} AS ts_second,
    -- The fraction's first three digits: the floor in milliseconds, exact against whole-millisecond bounds.
    CAST(substr(coalesce(nullif(regexp_extract(ts, '^"[^.]*\\.([0-9]+)', 1), ''), '') || '000', 1, 3) AS bigint) AS ts_millis,
    CASE WHEN regexp_like(ts, '[+-][0-9]{2}:[0-9]{2}"') THEN
      (CASE WHEN regexp_like(ts, '-[0-9]{2}:[0-9]{2}"') THEN -1 ELSE 1 END)
      * (CAST(nullif(regexp_extract(ts, '([0-9]{2}):[0-9]{2}"', 1), '') AS bigint) * 60
         + CAST(nullif(regexp_extract(ts, '[0-9]{2}:([0-9]{2})"', 1), '') AS bigint))
    ELSE 0 END AS ts_offset_minutes,
    CASE WHEN regexp_like(ts, '[+-][0-9]{2}:[0-9]{2}"') THEN
      CAST(nullif(regexp_extract(ts, '([0-9]{2}):[0-9]{2}"', 1), '') AS bigint) <= 23
      AND CAST(nullif(regexp_extract(ts, '[0-9]{2}:([0-9]{2})"', 1), '') AS bigint) <= 59
    ELSE true END AS ts_zone_ok
  FROM stamps
)`,
    // Days since 1970-01-01 (H. Hinnant's days_from_civil, as rule.ts computes it), with the year moved 400
    // years (146,097 days) up so that every division is of non-negative integers: Trino truncates, DuckDB too.
    `stamp_days AS (
  SELECT stamp_parts.*,
    ts_year - CASE WHEN ts_month <= 2 THEN 1 ELSE 0 END + 400 AS civil_year,
    CASE WHEN ts_month = 2 THEN
      CASE WHEN (ts_year % 4 = 0 AND ts_year % 100 <> 0) OR ts_year % 400 = 0 THEN 29 ELSE 28 END
    WHEN ts_month IN (4, 6, 9, 11) THEN 30 ELSE 31 END AS month_days
  FROM stamp_parts
)`,
    `parsed AS (
  SELECT stamp_days.*,
    CASE WHEN ts IS NOT NULL AND ts_zone_ok AND ts_month BETWEEN 1 AND 12 AND ts_day BETWEEN 1 AND month_days
      AND ts_hour <= 23 AND ts_minute <= 59 AND ts_second <= 59 THEN
      ((civil_year / 400) * 146097
        + (civil_year - (civil_year / 400) * 400) * 365
        + (civil_year - (civil_year / 400) * 400) / 4
        - (civil_year - (civil_year / 400) * 400) / 100
        + (153 * ((ts_month + 9) % 12) + 2) / 5 + ts_day - 1
        - 719468 - 146097) * ${DAY_MS}
      + ((ts_hour * 60 + ts_minute) * 60 + ts_second) * 1000 + ts_millis
      - ts_offset_minutes * 60000
    END AS ${C.ms},
    -- The Insights query's promptTokens: the larger of the two readings when both exist.
    CASE WHEN prompt_after_body IS NOT NULL AND prompt_first IS NOT NULL
      THEN greatest(prompt_after_body, prompt_first)
      ELSE coalesce(prompt_after_body, prompt_first, prompt_no_body) END AS ${C.prompt}
  FROM stamp_days
)`,
    `records AS (
  SELECT ${line}, ${C.ms}, ${C.account}, ${C.requestId}, ${C.identity}, ${C.identityLast}, ${C.model},
    ${C.prompt}, ${C.completion}, ${C.size}, ${C.cacheRead}, ${C.cacheWrite},
    CASE WHEN ${C.prompt} IS NULL AND ${C.cacheRead} IS NULL AND ${C.cacheWrite} IS NULL THEN NULL
      ELSE coalesce(${C.prompt}, 0) + coalesce(${C.cacheRead}, 0) + coalesce(${C.cacheWrite}, 0) END AS ${C.cached},
    coalesce(${C.prompt}, 0) + coalesce(${C.cacheRead}, 0) + coalesce(${C.cacheWrite}, 0) + coalesce(${C.completion}, 0) AS ${C.total}
  FROM parsed
  WHERE ${C.ms} IS NOT NULL AND ${C.account} IS NOT NULL
)`,
  ];
}

/**
 * The hunt's threshold of metric `m` for the record's model: the longest matching model-key prefix's, else the
 * global one. The model key is the model id after its last `/`, without a cross-region prefix (model-key.ts).
 */
function thresholdSql(rule: Rule, m: Metric): string {
  const entries = rule.modelThresholds;
  if (entries.length === 0) return `${rule.thresholds[m]}`;
  if (entries.length > MAX_MODEL_THRESHOLDS)
    throw new RangeError(`at most ${MAX_MODEL_THRESHOLDS} model thresholds fit in one query`);
  const key = `nullif(regexp_extract(${C.model}, ${literal(`^(?:${ANY}*/)?(?:(?:${CROSS_REGION_PREFIXES.join("|")})\\.)?(${ANY}*)$`)}, 1), '')`;
  // Longest first: the first prefix that matches is the longest (equal prefixes: the first given, as modelThresholdFor).
  const ordered = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => b.e.prefix.length - a.e.prefix.length || a.i - b.i);
  const whens = ordered.map(({ e }) => {
    // The rule's own check of an entry (model-id characters only: no quote).
    if (!MODEL_THRESHOLD_ENTRY.test(`${e.prefix}=1/1/1`))
      throw new RangeError(`model threshold prefix ${JSON.stringify(e.prefix)} is not a model key prefix`);
    assertInt(e.thresholds[m], `${e.prefix} ${m} threshold`, 1);
    return `WHEN substr(${key}, 1, ${e.prefix.length}) = ${literal(e.prefix)} THEN ${e.thresholds[m]}`;
  });
  return `CASE ${whens.join(" ")} ELSE ${rule.thresholds[m]} END`;
}

/** 1 when the record matches the hunt (any present metric above its model's threshold), else 0. */
function huntSql(rule: Rule): string {
  for (const m of METRICS) assertInt(rule.thresholds[m], `${m} threshold`, 1);
  const column: Record<Metric, string> = {
    promptTokens: C.prompt,
    requestSize: C.size,
    completionTokens: C.completion,
  };
  return `CASE WHEN ${METRICS.map((m) => `${column[m]} > ${thresholdSql(rule, m)}`).join(" OR ")} THEN 1 ELSE 0 END`;
}

function accountFilter(rule: Rule, options: AthenaQueryOptions): string {
  const excluded = options.excludeAccountIds ?? rule.excludedAccountIds;
  const only = options.onlyAccountIds ?? [];
  return [
    ...(excluded.length > 0 ? [`AND ${C.account} NOT IN (${accountIds(excluded)})`] : []),
    ...(only.length > 0 ? [`AND ${C.account} IN (${accountIds(only)})`] : []),
  ].join(" ");
}

/** A sum that cannot overflow (Trino's bigint sum fails on overflow; 38 digits hold any sum of 15-digit counts). */
const total = (expr: string) => `sum(CAST(${expr} AS decimal(38, 0)))`;
/** Result columns are text, as Athena returns every value: both engines then give the same strings. */
const out = (expr: string, name: string) => `CAST(${expr} AS varchar) AS "${name}"`;
/**
 * Epoch milliseconds as at least 13 digits: parseUsageRows reads 10 or more digits as epoch milliseconds. lpad
 * cuts longer text to the size in both engines, so it pads only what is shorter.
 */
const epochText = (expr: string) =>
  `CASE WHEN ${expr} < 1000000000000 THEN lpad(CAST(${expr} AS varchar), 13, '0') ELSE CAST(${expr} AS varchar) END`;

/**
 * The rule's usage rows for `window`: exactly the rows of the Insights `usage` shape (USAGE_ROW), one per
 * account, identity (first and last), model and clock hour, over the records whose own timestamp is in the
 * window; give them to parseUsageRows(rows, window), then evaluateUsage. Each request counts once per account and
 * requestId, as in the scanner: the first copy (by timestamp, then line) counts for every detection, and the
 * first copy that matches the hunt counts for the hunt (a variant whose id came before adds its hunt part only,
 * with no request of its own). Reads the window's hour folders and the delivery slack either side.
 */
export function buildAthenaUsageQuery(
  rule: Rule,
  window: Window,
  table: AthenaTable,
  options: AthenaQueryOptions = {},
): string {
  checkWindowBounds(window);
  assertInt(rule.cachedInputTokens, "cachedInputTokens", 1);
  const { from, to } = datehourRange(window);
  const U = USAGE_ROW;
  const firstHour = hourOf(window.startMs);
  const counted = "counted";
  const hunted = "hunt_counted";
  const kept = (expr: string) => `CASE WHEN ${counted} = 1 THEN ${expr} END`;
  const huntOnly = (expr: string) => `CASE WHEN ${hunted} = 1 THEN ${expr} END`;
  const ctes = [
    ...recordCtes(table, datehourLiteral(from), datehourLiteral(to)),
    `in_window AS (
  SELECT records.*, ${huntSql(rule)} AS hunt,
    CASE WHEN ${C.cached} > ${rule.cachedInputTokens} THEN 1 ELSE 0 END AS cached_hit,
    ${C.ms} - ${window.startMs} AS window_ms,
    (${C.ms} - ${firstHour}) / ${HOUR_MS} AS hour_index
  FROM records
  WHERE ${C.ms} >= ${window.startMs} AND ${C.ms} < ${window.endMs} ${accountFilter(rule, options)}
)`,
    // The copy order: by time, then by the line's text (copies Bedrock delivers twice are the same line).
    `numbered AS (
  SELECT in_window.*,
    row_number() OVER (PARTITION BY ${C.account}, ${C.requestId} ORDER BY ${C.ms}, ${C.line}) AS copy_number,
    row_number() OVER (PARTITION BY ${C.account}, ${C.requestId}, hunt ORDER BY ${C.ms}, ${C.line}) AS match_number
  FROM in_window
)`,
    // A record without a requestId cannot be told from another and is never a copy.
    `marked AS (
  SELECT numbered.*,
    CASE WHEN ${C.requestId} IS NULL OR copy_number = 1 THEN 1 ELSE 0 END AS ${counted},
    CASE WHEN hunt = 1 AND (${C.requestId} IS NULL OR match_number = 1) THEN 1 ELSE 0 END AS ${hunted}
  FROM numbered
)`,
  ];
  const columns = [
    out(C.account, U.accountId),
    out(C.identity, U.identityArn),
    out(C.identityLast, U.identityArnLast),
    out(C.model, U.modelId),
    out("hour_index", U.hour),
    out(`sum(${counted})`, U.requests),
    out(epochText(`min(${C.ms})`), U.firstSeen),
    out(epochText(`max(${C.ms})`), U.lastSeen),
    out(total(kept(`coalesce(${C.prompt}, 0)`)), U.inputTokens),
    out(total(kept(`coalesce(${C.cacheRead}, 0)`)), U.cacheReadTokens),
    out(total(kept(`coalesce(${C.cacheWrite}, 0)`)), U.cacheWriteTokens),
    out(total(kept(`coalesce(${C.completion}, 0)`)), U.outputTokens),
    out(`sum(${kept("cached_hit")})`, U.cachedInputRequests),
    out(total(kept(`cached_hit * coalesce(${C.cached}, 0)`)), U.cachedInputTokens),
    out(`max(${kept(C.cached)})`, U.maxCachedInputTokens),
    out(`sum(${hunted})`, U.huntRequests),
    // The Insights encodings: a maximum plus one (0 or missing: no matching request had it), first seen of a
    // group without a matching request pushed past HUNT_NONE_MS.
    out(`max(CASE WHEN ${hunted} = 1 THEN ${C.prompt} + 1 ELSE 0 END)`, U.huntMaxPromptTokensPlus1),
    out(`max(CASE WHEN ${hunted} = 1 THEN ${C.size} + 1 ELSE 0 END)`, U.huntMaxRequestSizePlus1),
    out(`max(CASE WHEN ${hunted} = 1 THEN ${C.completion} + 1 ELSE 0 END)`, U.huntMaxCompletionTokensPlus1),
    out(`max(CASE WHEN ${hunted} = 1 THEN ${C.cached} + 1 ELSE 0 END)`, U.huntMaxCachedInputTokensPlus1),
    out(total(huntOnly(`coalesce(${C.prompt}, 0)`)), U.huntSumPromptTokens),
    out(total(huntOnly(`coalesce(${C.completion}, 0)`)), U.huntSumCompletionTokens),
    out(`min(window_ms + CASE WHEN ${hunted} = 1 THEN 0 ELSE ${HUNT_NONE_MS} END)`, U.huntFirstSeen),
    out(`max(${hunted} * window_ms)`, U.huntLastSeen),
  ];
  return checkedLength(`WITH ${ctes.join(",\n")}
SELECT ${columns.join(",\n  ")}
FROM marked
WHERE ${counted} = 1 OR ${hunted} = 1
GROUP BY ${C.account}, ${C.identity}, ${C.identityLast}, ${C.model}, hour_index
ORDER BY ${C.account}, hour_index`);
}

/** Result columns of the history query. */
export const HISTORY_ROW = {
  accountId: ROW.accountId,
  identityArn: ROW.identityArn,
  identityArnLast: ROW.identityArnLast,
  /** Clock hours since the history span's start (historyWindowOf(rule, window).startMs). */
  hour: "historyHour",
  /** Total tokens (cached input plus output) of the group's records. */
  tokens: "totalTokens",
  records: "records",
  /**
   * The group's earliest record (epoch ms). The records read outside the span make one row without account:
   * the earliest over all rows is the earliest record read.
   */
  earliest: "earliestRecordMs",
} as const;

/**
 * anomaly's history for `window`: total tokens per account, identity and clock hour of the records in the
 * `baselineDays` before the window's first clock hour, up to its start (historyWindowOf), as the scanner
 * reads them: every record, copies included. Exclusions of accounts as in the usage query. Give the rows to
 * anomalyHistoryFromAthenaRows. Reads the span's hour folders and the delivery slack either side.
 */
export function buildAthenaHistoryQuery(
  rule: Rule,
  window: Window,
  table: AthenaTable,
  options: AthenaQueryOptions = {},
): string {
  checkWindowBounds(window);
  assertInt(rule.baselineDays, "baselineDays");
  const span = historyWindowOf(rule, window);
  assertInt(span.startMs, "history start");
  const { from, to } = datehourRange(span);
  const H = HISTORY_ROW;
  const inSpan = (expr: string) => `CASE WHEN in_span THEN ${expr} END`;
  const ctes = [
    ...recordCtes(table, datehourLiteral(from), datehourLiteral(to)),
    // One pass over the records (a second reference would scan the table again, and Athena bills each scan):
    // those in the span by account, identity and hour; every other record (before the span, in the window,
    // excluded) in one row without keys, which still tells how far back the records read reach.
    `spanned AS (
  SELECT records.*,
    ${C.ms} >= ${span.startMs} AND ${C.ms} < ${span.endMs} ${accountFilter(rule, options)} AS in_span
  FROM records
)`,
    `keyed AS (
  SELECT in_span, ${C.ms}, ${C.total},
    ${inSpan(C.account)} AS span_account, ${inSpan(C.identity)} AS span_identity,
    ${inSpan(C.identityLast)} AS span_identity_last, ${inSpan(`(${C.ms} - ${span.startMs}) / ${HOUR_MS}`)} AS history_hour
  FROM spanned
)`,
  ];
  const columns = [
    out("span_account", H.accountId),
    out("span_identity", H.identityArn),
    out("span_identity_last", H.identityArnLast),
    out("history_hour", H.hour),
    out(total(C.total), H.tokens),
    out("count(*)", H.records),
    out(`min(${C.ms})`, H.earliest),
  ];
  return checkedLength(`WITH ${ctes.join(",\n")}
SELECT ${columns.join(",\n  ")}
FROM keyed
GROUP BY in_span, span_account, span_identity, span_identity_last, history_hour
ORDER BY span_account, history_hour`);
}

export interface AthenaHistory {
  /** What evaluateUsage takes as anomaly's history. */
  readonly history: History;
  /** The span asked (historyWindowOf) and what was found, as the scanner reports it. */
  readonly asked: Window;
  readonly foundFromMs: number;
  /** Records read in the span, copies included. */
  readonly records: number;
  /** Rows that could not be read, with the reason (never a value). */
  readonly rejected: { readonly row: Row; readonly reason: string }[];
}

const WHOLE = /^\d+$/;
const whole = (v: string | undefined): number | null => {
  const t = v?.trim() ?? "";
  if (!WHOLE.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
};

/**
 * The history query's rows as anomaly's History, the way the scanner builds it (RuleEvaluator.history()):
 * tokens per principal and clock hour, exclusions applied (identities as parseUsageRows reads them, so an
 * ambiguous one is the unknown principal), known from the earliest record read (at most the span's start,
 * at least the window's first hour).
 */
export function anomalyHistoryFromAthenaRows(
  rows: readonly Row[],
  rule: Rule,
  window: Window,
): AthenaHistory {
  const asked = historyWindowOf(rule, window);
  const firstHour = hourOf(window.startMs);
  const kept = keptPrincipalOf(rule);
  const totals = new HourlyTotals();
  const rejected: AthenaHistory["rejected"] = [];
  const H = HISTORY_ROW;
  let records = 0;
  let earliest: number | null = null;
  for (const row of rows) {
    const reach = whole(row[H.earliest]);
    if (reach !== null) earliest = earliest === null ? reach : Math.min(earliest, reach);
    const accountId = row[H.accountId]?.trim();
    if (!accountId) continue;
    const hour = whole(row[H.hour]);
    const tokens = whole(row[H.tokens]);
    const count = whole(row[H.records]);
    if (hour === null || tokens === null || count === null) {
      rejected.push({ row, reason: "hour, tokens or records is not a whole number" });
      continue;
    }
    records += count;
    const principal = kept(accountId, identityOf(row));
    if (principal !== null) totals.add(accountId, principal, asked.startMs + hour * HOUR_MS, tokens);
  }
  const known = earliest === null ? firstHour : hourOf(earliest);
  const foundFromMs = Math.min(firstHour, Math.max(asked.startMs, known));
  return { history: { totals, knownFromMs: foundFromMs }, asked, foundFromMs, records, rejected };
}

// ---------------------------------------------------------------------------------------------------------
// Saved queries for the Athena console: each detection over the last 24 hours, per account, readable.

export interface SavedQuery {
  readonly name: string;
  readonly description: string;
  readonly queryString: string;
}

/** The console's window: the 24 hours before the query runs, as epoch milliseconds. */
const NOW_MS = "CAST(floor(to_unixtime(current_timestamp) * 1000) AS bigint)";
const SAVED_WINDOW_MS = DAY_MS;
/** The hour folder `hours` hours from now, as SQL (constant within a query: Athena prunes partitions with it). */
const folderFromNow = (hours: number) =>
  `date_format(current_timestamp AT TIME ZONE 'UTC' ${hours < 0 ? "-" : "+"} INTERVAL '${Math.abs(hours)}' HOUR, '%Y/%m/%d/%H')`;
/** An epoch-millisecond value as a UTC timestamp, for people. */
const isoText = (ms: string) => `from_unixtime(CAST(${ms} AS double) / 1000) AT TIME ZONE 'UTC'`;

/**
 * The principal of an identity as principal.ts works it out (its own patterns, made portable): the session off
 * an assumed-role ARN, any other principal ARN as it is, anything else (an ambiguous identity, whose first and
 * last occurrences differ, included) the unknown principal.
 */
function principalSql(identity: string, identityLast: string): string {
  return `CASE WHEN ${identity} IS NULL OR ${identity} <> coalesce(${identityLast}, ${identity})
    OR NOT regexp_like(${identity}, ${literal(portable(PRINCIPAL_ARN.source))}) THEN ${literal(UNKNOWN_PRINCIPAL)}
  WHEN regexp_like(${identity}, ${literal(portable(ASSUMED_ROLE_SESSION.source))})
    THEN regexp_extract(${identity}, ${literal(portable(ASSUMED_ROLE_SESSION.source))}, 1)
  ELSE ${identity} END`;
}

/** The rule's identity exclusions as SQL (exclusions.ts: `*` is any run of characters; anchored). */
function identityExclusionSql(rule: Rule): string {
  const tests = rule.excludedIdentityPatterns.map((p) => {
    if (!IDENTITY_PATTERN.test(p))
      throw new RangeError(`identity pattern ${JSON.stringify(p)} is not an ARN glob`);
    return `regexp_like(${C.identity}, ${literal(portable(identityPatternToRegExp(p).source))})`;
  });
  if (tests.length === 0) return "";
  // An ambiguous identity (first and last differ) is never matched by exclusions, as parseUsageRows reads it.
  return `AND NOT (${C.identity} IS NOT NULL AND ${C.identity} = coalesce(${C.identityLast}, ${C.identity}) AND (${tests.join(" OR ")}))`;
}

/**
 * The records of the last 24 hours (`in_window`, copies marked as in the usage query), and with `historyHours`,
 * every record from that many hours before the window's first clock hour (`recent`), after exclusions.
 */
function savedCtes(rule: Rule, table: AthenaTable, historyHours = 0): string[] {
  const windowHours = SAVED_WINDOW_MS / HOUR_MS;
  const start = `(${NOW_MS} - ${SAVED_WINDOW_MS})`;
  const from = folderFromNow(-(windowHours + historyHours + 1));
  const to = folderFromNow(1);
  return [
    ...recordCtes(table, from, to),
    `kept AS (
  SELECT records.*, ${principalSql(C.identity, C.identityLast)} AS principal,
    ${huntSql(rule)} AS hunt,
    ${C.ms} >= ${start} AND ${C.ms} < ${NOW_MS} AS in_window
  FROM records
  WHERE ${C.ms} < ${NOW_MS} AND ${C.ms} >= (${start} / ${HOUR_MS}) * ${HOUR_MS} - ${historyHours * HOUR_MS}
    ${accountFilter(rule, {})} ${identityExclusionSql(rule)}
)`,
    `numbered AS (
  SELECT kept.*,
    row_number() OVER (PARTITION BY in_window, ${C.account}, ${C.requestId} ORDER BY ${C.ms}, ${C.line}) AS copy_number,
    row_number() OVER (PARTITION BY in_window, ${C.account}, ${C.requestId}, hunt ORDER BY ${C.ms}, ${C.line}) AS match_number
  FROM kept
)`,
    `marked AS (
  SELECT numbered.*,
    CASE WHEN ${C.requestId} IS NULL OR copy_number = 1 THEN 1 ELSE 0 END AS counted,
    CASE WHEN hunt = 1 AND (${C.requestId} IS NULL OR match_number = 1) THEN 1 ELSE 0 END AS hunt_counted,
    (${C.ms} / ${HOUR_MS}) * ${HOUR_MS} AS hour_ms
  FROM numbered
)`,
  ];
}

const savedQuery = (ctes: string[], select: string) => checkedLength(`WITH ${ctes.join(",\n")}\n${select}`);

function checkSavedRule(rule: Rule): void {
  assertInt(rule.minRequests, "minRequests", 1);
  assertInt(rule.cachedInputTokens, "cachedInputTokens", 1);
  assertInt(rule.tokensPerHour, "tokensPerHour");
  assertInt(rule.requestsPerHour, "requestsPerHour");
  assertInt(rule.anomalyFloorTokens, "anomalyFloorTokens");
  assertInt(rule.baselineDays, "baselineDays");
  if (!Number.isFinite(rule.anomalyFactor) || rule.anomalyFactor < 1 || rule.anomalyFactor > 1000)
    throw new RangeError("anomalyFactor must be a number from 1 to 1000");
}

/**
 * One saved query per detection for the Athena console, over the 24 hours before it runs (the window computed
 * from current_timestamp; the partitions constrained to it): per account, its numbers, heaviest first.
 */
export function athenaSavedQueries(rule: Rule, table: AthenaTable): SavedQuery[] {
  checkSavedRule(rule);
  const t = rule.thresholds;
  const heavy = savedQuery(
    savedCtes(rule, table),
    `SELECT ${C.account} AS account, count(*) AS matching_requests,
  max(${C.prompt}) AS max_prompt_tokens, max(${C.size}) AS max_request_size, max(${C.completion}) AS max_completion_tokens,
  ${isoText(`min(${C.ms})`)} AS first_seen, ${isoText(`max(${C.ms})`)} AS last_seen,
  count(DISTINCT principal) AS principals
FROM marked
WHERE in_window AND hunt_counted = 1
GROUP BY ${C.account}
HAVING count(*) >= ${rule.minRequests}
ORDER BY max_prompt_tokens DESC NULLS LAST, max_request_size DESC NULLS LAST, max_completion_tokens DESC NULLS LAST, account`,
  );
  const cached = savedQuery(
    savedCtes(rule, table),
    `SELECT ${C.account} AS account, count(*) AS cached_input_requests,
  ${total(C.cached)} AS cached_input_tokens, max(${C.cached}) AS max_cached_input_tokens,
  ${isoText(`min(${C.ms})`)} AS first_seen, ${isoText(`max(${C.ms})`)} AS last_seen,
  count(DISTINCT principal) AS principals
FROM marked
WHERE in_window AND counted = 1 AND ${C.cached} > ${rule.cachedInputTokens}
GROUP BY ${C.account}
HAVING count(*) >= ${rule.minRequests}
ORDER BY max_cached_input_tokens DESC, account`,
  );
  const hourlyCtes = (historyHours: number) => [
    ...savedCtes(rule, table, historyHours),
    `principal_hours AS (
  SELECT ${C.account}, principal, hour_ms, ${total(C.total)} AS tokens, count(*) AS requests
  FROM marked WHERE in_window AND counted = 1
  GROUP BY ${C.account}, principal, hour_ms
)`,
  ];
  const volume = savedQuery(
    [
      ...hourlyCtes(0),
      `over_limit AS (
  SELECT * FROM principal_hours WHERE tokens > ${rule.tokensPerHour} OR requests > ${rule.requestsPerHour}
)`,
    ],
    `SELECT ${C.account} AS account, count(*) AS hours_over, count(DISTINCT principal) AS principals_over,
  max_by(principal, tokens) AS worst_principal, ${isoText("max_by(hour_ms, tokens)")} AS worst_hour,
  max(tokens) AS worst_hour_tokens, max_by(requests, tokens) AS worst_hour_requests
FROM over_limit
GROUP BY ${C.account}
ORDER BY worst_hour_tokens DESC, account`,
  );
  const baselineHours = rule.baselineDays * 24;
  // Over the principal's hours in the baselineDays before each hour.
  const past = (aggregate: string) =>
    `${aggregate} OVER (PARTITION BY ${C.account}, principal ORDER BY hour_ms RANGE BETWEEN ${baselineHours * HOUR_MS} PRECEDING AND 1 PRECEDING)`;
  // The baseline: the second-largest of those hours with tokens (max(x, 2): the two largest, in any order); 0
  // without two such hours, or without baseline days.
  const pastColumns =
    baselineHours === 0
      ? "0 AS baseline_tokens, 0 AS active_hours"
      : `CASE WHEN cardinality(${past("max(CASE WHEN whole_hour_tokens > 0 THEN whole_hour_tokens END, 2)")}) = 2
      THEN array_min(${past("max(CASE WHEN whole_hour_tokens > 0 THEN whole_hour_tokens END, 2)")}) ELSE 0 END AS baseline_tokens,
    ${past("count(CASE WHEN whole_hour_tokens > 0 THEN 1 END)")} AS active_hours`;
  const anomaly = savedQuery(
    [
      ...savedCtes(rule, table, baselineHours),
      // One pass (a self-join would scan the table twice, and Athena bills each scan): per principal and clock
      // hour, the window's tokens and requests (each request once), and the whole hour's tokens as the
      // scanner's history counts them (history records as they are, the window's once).
      `hours AS (
  SELECT ${C.account}, principal, hour_ms,
    ${total(`CASE WHEN in_window AND counted = 1 THEN ${C.total} ELSE 0 END`)} AS tokens,
    sum(CASE WHEN in_window AND counted = 1 THEN 1 ELSE 0 END) AS requests,
    ${total(`CASE WHEN NOT in_window OR counted = 1 THEN ${C.total} ELSE 0 END`)} AS whole_hour_tokens
  FROM marked
  GROUP BY ${C.account}, principal, hour_ms
)`,
      `compared AS (
  SELECT hours.*, ${pastColumns}
  FROM hours
)`,
    ],
    `SELECT ${C.account} AS account, count(*) AS hours_over, count(DISTINCT principal) AS principals_over,
  max_by(principal, tokens) AS worst_principal, ${isoText("max_by(hour_ms, tokens)")} AS worst_hour,
  max(tokens) AS worst_hour_tokens, max_by(baseline_tokens, tokens) AS baseline_tokens,
  max_by(active_hours, tokens) AS active_history_hours
FROM compared
WHERE requests > 0 AND tokens > ${rule.anomalyFloorTokens}
  AND tokens > greatest(CAST(${rule.anomalyFactor} AS double) * CAST(baseline_tokens AS double), CAST(${rule.anomalyFloorTokens} AS double))
GROUP BY ${C.account}
ORDER BY worst_hour_tokens DESC, account`,
  );
  const metrics = `${t.promptTokens}/${t.requestSize}/${t.completionTokens}`;
  return [
    {
      name: "heavy-requests",
      description: `Accounts with at least ${rule.minRequests} requests over the hunt's thresholds (prompt/size/completion ${metrics}) in the last 24 hours.`,
      queryString: heavy,
    },
    {
      name: "cached-input",
      description: `Accounts with at least ${rule.minRequests} requests of more than ${rule.cachedInputTokens} cached input tokens in the last 24 hours.`,
      queryString: cached,
    },
    {
      name: "token-volume",
      description: `Accounts with a principal over ${rule.tokensPerHour} tokens or ${rule.requestsPerHour} requests in one clock hour of the last 24 hours.`,
      queryString: volume,
    },
    {
      name: "anomaly",
      description: `Accounts with a principal-hour of the last 24 hours over ${rule.anomalyFactor} x its baseline (second-largest hour of the ${rule.baselineDays} days before) and over ${rule.anomalyFloorTokens} tokens.`,
      queryString: anomaly,
    },
  ];
}
