/**
 * The detection rule: one typed source of truth for its thresholds, grouping and order.
 *
 * Mirrors Elastic's hunt "AWS Bedrock LLM Denial-of-Service or Resource Exhaustion" under the contract in
 * docs (README "The rule"): a record matches when any present metric is strictly above its threshold;
 * matches are grouped per `accountId`; accounts with at least `minRequests` matches are findings, heaviest
 * first. No AWS imports here: both engines (Logs Insights query text, in-process evaluator) derive from it.
 */
import { z } from "zod";

/** The three metrics, in the order findings are sorted by (all descending, nulls last). */
export const METRICS = ["promptTokens", "requestSize", "completionTokens"] as const;
export type Metric = (typeof METRICS)[number];

/** Per-metric facts that the engines, the CLI and the alerts derive their names and texts from. */
export const METRIC_INFO: Record<
  Metric,
  { readonly label: string; readonly maxField: MaxField; readonly source: string; readonly cliFlag: string }
> = {
  promptTokens: {
    label: "prompt tokens",
    maxField: "maxPromptTokens",
    source: "input.inputTokenCount",
    cliFlag: "prompt-tokens",
  },
  requestSize: {
    label: "request size",
    maxField: "maxRequestSize",
    source: "code points of input.inputBodyJson, compact",
    cliFlag: "request-size",
  },
  completionTokens: {
    label: "completion tokens",
    maxField: "maxCompletionTokens",
    source: "output.outputTokenCount",
    cliFlag: "completion-tokens",
  },
};

export type MaxField = "maxPromptTokens" | "maxRequestSize" | "maxCompletionTokens";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Longest window any engine accepts: longer hunts belong in a batch job, not a rolling rule. */
export const MAX_WINDOW_MS = 31 * DAY_MS;

export interface Rule {
  /** A record matches when any present metric is strictly greater than its threshold. */
  readonly thresholds: Readonly<Record<Metric, number>>;
  /** An account is a finding when it has at least this many matching records (the hunt's `> 1`). */
  readonly minRequests: number;
  /** Default window length when only the end is given. */
  readonly lookbackMs: number;
}

export const DEFAULT_RULE: Rule = Object.freeze({
  thresholds: Object.freeze({ promptTokens: 8000, requestSize: 8000, completionTokens: 8000 }),
  minRequests: 2,
  lookbackMs: DAY_MS,
});

/** A user or configuration mistake: reported as one line, never as a stack trace. */
export class RuleConfigError extends Error {
  override name = "RuleConfigError";
}

const positiveInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .positive({ error: `${what} must be greater than 0` })
    .max(Number.MAX_SAFE_INTEGER, { error: `${what} is too large` });

const ruleOverridesSchema = z.strictObject({
  thresholds: z
    .strictObject({
      promptTokens: positiveInt("prompt-tokens threshold").optional(),
      requestSize: positiveInt("request-size threshold").optional(),
      completionTokens: positiveInt("completion-tokens threshold").optional(),
    })
    .optional(),
  minRequests: positiveInt("min-requests").optional(),
  lookbackMs: positiveInt("lookback")
    .max(MAX_WINDOW_MS, { error: `lookback must be at most ${MAX_WINDOW_MS / DAY_MS} days` })
    .optional(),
});

export type RuleOverrides = z.input<typeof ruleOverridesSchema>;

/** Builds a rule from the defaults and validated overrides; throws RuleConfigError naming the bad value. */
export function defineRule(overrides: RuleOverrides = {}): Rule {
  const parsed = ruleOverridesSchema.safeParse(overrides);
  if (!parsed.success) {
    throw new RuleConfigError(parsed.error.issues.map((i) => i.message).join("; "));
  }
  const o = parsed.data;
  return Object.freeze({
    thresholds: Object.freeze({
      promptTokens: o.thresholds?.promptTokens ?? DEFAULT_RULE.thresholds.promptTokens,
      requestSize: o.thresholds?.requestSize ?? DEFAULT_RULE.thresholds.requestSize,
      completionTokens: o.thresholds?.completionTokens ?? DEFAULT_RULE.thresholds.completionTokens,
    }),
    minRequests: o.minRequests ?? DEFAULT_RULE.minRequests,
    lookbackMs: o.lookbackMs ?? DEFAULT_RULE.lookbackMs,
  });
}

/** Half-open time window `[startMs, endMs)` on the record's own `timestamp`. */
export interface Window {
  readonly startMs: number;
  readonly endMs: number;
}

/** Validates a window: start before end, not longer than `maxMs` (default MAX_WINDOW_MS). */
export function checkWindow(window: Window, maxMs = MAX_WINDOW_MS): Window {
  const { startMs, endMs } = window;
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs))
    throw new RuleConfigError("window is not a valid time range");
  if (startMs >= endMs) {
    throw new RuleConfigError(
      `window start ${new Date(startMs).toISOString()} must be before its end ${new Date(endMs).toISOString()}`,
    );
  }
  if (endMs - startMs > maxMs) {
    throw new RuleConfigError(`window is longer than ${maxMs / DAY_MS} days`);
  }
  return window;
}

/**
 * The window `[startMs, endMs)`: the end defaults to now, the start to the end minus the rule's lookback.
 * `maxMs` caps its length (the offline scanner has no cost reason to cap explicit bounds).
 */
export function resolveWindow(
  rule: Rule,
  opts: { startMs?: number; endMs?: number; nowMs: number; maxMs?: number },
): Window {
  const endMs = opts.endMs ?? opts.nowMs;
  const startMs = opts.startMs ?? endMs - rule.lookbackMs;
  return checkWindow({ startMs, endMs }, opts.maxMs);
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };

/** Parses `90m`, `24h`, `7d`, `3600s` into milliseconds. */
export function parseDuration(text: string, what = "duration"): number {
  const m = DURATION.exec(text.trim());
  const unit = m?.[2];
  if (!m || unit === undefined) {
    throw new RuleConfigError(`${what} "${text}" is not a duration like 90m, 24h or 7d`);
  }
  const ms = Number(m[1]) * (UNIT_MS[unit] ?? Number.NaN);
  if (ms <= 0) throw new RuleConfigError(`${what} "${text}" must be greater than 0`);
  if (!Number.isSafeInteger(ms)) throw new RuleConfigError(`${what} "${text}" is too large`);
  return ms;
}

const ISO_UTC =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Parses an ISO-8601 timestamp with an explicit zone (`Z` or `+hh:mm`); null if it is not one or not a real date. */
export function parseIsoTimestamp(text: string): number | null {
  const m = ISO_UTC.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second, zoneHours, zoneMinutes] = m
    .slice(1)
    .map((v) => Number(v ?? 0));
  // Date.parse rolls 2026-02-31 over to March: check every field is in range for its calendar month.
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  if (
    (month ?? 0) < 1 ||
    (month ?? 0) > 12 ||
    (day ?? 0) < 1 ||
    (day ?? 0) > daysInMonth ||
    (hour ?? 0) > 23 ||
    (minute ?? 0) > 59 ||
    (second ?? 0) > 59 ||
    (zoneHours ?? 0) > 23 ||
    (zoneMinutes ?? 0) > 59
  ) {
    return null;
  }
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Like parseIsoTimestamp, for user input: a date alone (`2026-11-19`) is midnight UTC. Throws a
 * RuleConfigError naming the option, and saying so when the text has the right form but no such date exists.
 */
export function parseIsoOption(text: string, what: string): number {
  const full = DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text;
  const ms = parseIsoTimestamp(full);
  if (ms !== null) return ms;
  const m = ISO_UTC.exec(full);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const why =
      month < 1 || month > 12
        ? `there is no month ${month}`
        : day < 1 || day > days
          ? `${m[1]}-${m[2]} has ${days} days`
          : "an hour, minute, second or zone is out of range";
    throw new RuleConfigError(`${what} "${text}" is not a real date: ${why}`);
  }
  throw new RuleConfigError(
    `${what} "${text}" is not an ISO-8601 date or time with a zone, e.g. 2026-11-20 or 2026-11-20T00:00:00Z`,
  );
}
