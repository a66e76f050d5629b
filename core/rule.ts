/**
 * The detection rule: one typed source of truth for its thresholds, grouping and order.
 *
 * Mirrors Elastic's hunt "AWS Bedrock LLM Denial-of-Service or Resource Exhaustion" under the contract in
 * docs/rule.md: a record matches when any present metric is strictly above its threshold;
 * matches are grouped per `accountId`; accounts with at least `minRequests` matches are findings, heaviest
 * first. No AWS imports here: both engines (Logs Insights query text, in-process evaluator) derive from it.
 * The rule's defaults and bounds are settings (config/settings.ts), like every other setting.
 */

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
/** The start of the UTC clock hour an instant falls in. */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
/** Longest window any engine accepts: longer hunts belong in a batch job, not a rolling rule. */
export const MAX_WINDOW_MS = 31 * DAY_MS;

/** The hunt's thresholds for the models whose key starts with `prefix` (core/model-thresholds.ts). */
export interface ModelThreshold {
  /** Matched against the model key (core/model-key.ts). */
  readonly prefix: string;
  readonly thresholds: Readonly<Record<Metric, number>>;
}

export interface Rule {
  /** A record matches when any present metric is strictly greater than its threshold. */
  readonly thresholds: Readonly<Record<Metric, number>>;
  /** An account is a finding when it has at least this many matching records (the hunt's `> 1`). */
  readonly minRequests: number;
  /** Default window length when only the end is given. */
  readonly lookbackMs: number;
  /** Accounts whose requests count towards nothing (known heavy users). */
  readonly excludedAccountIds: readonly string[];
  /** Identity ARN patterns (`*` = any run of characters) whose requests count towards nothing. */
  readonly excludedIdentityPatterns: readonly string[];
  /** The hunt's thresholds per model (longest model-key prefix wins); none: the global thresholds only. */
  readonly modelThresholds: readonly ModelThreshold[];
  /** `cached-input`: a request counts when its cached input tokens are strictly above this. */
  readonly cachedInputTokens: number;
  /** `token-volume`: a principal's total tokens in one clock hour strictly above this flag its account. */
  readonly tokensPerHour: number;
  /** `token-volume`: a principal's requests in one clock hour strictly above this flag its account. */
  readonly requestsPerHour: number;
  /** `anomaly`: a principal-hour's total tokens strictly above this many times its baseline (and the floor). */
  readonly anomalyFactor: number;
  /** `anomaly`: the least a principal-hour's total tokens must exceed; all a principal without history is compared with. */
  readonly anomalyFloorTokens: number;
  /** `anomaly`: the baseline is taken over the `baselineDays` x 24 clock hours before each hour. */
  readonly baselineDays: number;
}

/** A user or configuration mistake: reported as one line, never as a stack trace. */
export class RuleConfigError extends Error {
  override name = "RuleConfigError";
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
  opts: { startMs?: number; endMs?: number; lookbackGiven?: boolean; nowMs: number; maxMs?: number },
): Window {
  const { startMs: start, endMs: end, lookbackGiven = false } = opts;
  if (start !== undefined && end !== undefined && lookbackGiven) {
    throw new RuleConfigError("give at most two of start, end and lookback: the third follows from them");
  }
  // A start with a lookback given is a window of that length from the start; a start alone runs to now.
  const endMs = end ?? (start !== undefined && lookbackGiven ? start + rule.lookbackMs : opts.nowMs);
  const startMs = start ?? endMs - rule.lookbackMs;
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

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** An instant as whole milliseconds (floor) and whether digits below the millisecond are non-zero. */
export interface Instant {
  readonly ms: number;
  readonly subMs: boolean;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), exact for any year. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|+hh:mm|-hh:mm)` exactly: a real calendar date, a fraction of any
 * length, the offset applied. No Date.parse: it accepts other shapes and stops at milliseconds. `ms` is the
 * floor, so comparing it with a whole-millisecond bound is exact (t >= b iff floor(t) >= b for integer b).
 */
export function parseInstant(text: string, opts: { requireSeconds?: boolean } = {}): Instant | null {
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  if (opts.requireSeconds && m[6] === undefined) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zoneHours = Number(m[9] ?? 0);
  const zoneMinutes = Number(m[10] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || zoneHours > 23 || zoneMinutes > 59) return null;
  const fraction = m[7] ?? "";
  const offsetMs = (m[8] === "-" ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
  const ms =
    daysFromCivil(year, month, day) * DAY_MS +
    ((hour * 60 + minute) * 60 + second) * 1000 +
    Number(fraction.slice(0, 3).padEnd(3, "0")) -
    offsetMs;
  return { ms, subMs: /[1-9]/.test(fraction.slice(3)) };
}

/**
 * A record's `timestamp` per the contract (seconds required, any fraction, an explicit zone), as the floor in
 * milliseconds: exact against the whole-millisecond window bounds. Null if it is not one.
 */
export function parseRecordTimestamp(text: string): number | null {
  return utcWithSeconds(text) ?? parseInstant(text, { requireSeconds: true })?.ms ?? null;
}

const digit = (text: string, i: number): number => {
  const d = text.charCodeAt(i) - 0x30;
  return d >= 0 && d <= 9 ? d : Number.NaN;
};

/**
 * Bedrock's own form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read by char codes: every record has one, and the
 * regex costs more than reading the rest of the record. Null when the text is not in this form or not a real
 * time: parseInstant then decides (it gives the same value wherever this gives one).
 */
function utcWithSeconds(text: string): number | null {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 0x5a || text.charCodeAt(10) !== 0x54) return null;
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d) return null;
  if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return null;
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3);
  const month = digit(text, 5) * 10 + digit(text, 6);
  const day = digit(text, 8) * 10 + digit(text, 9);
  const hour = digit(text, 11) * 10 + digit(text, 12);
  const minute = digit(text, 14) * 10 + digit(text, 15);
  const second = digit(text, 17) * 10 + digit(text, 18);
  let ms = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 0x2e || n === 21) return null;
    for (let i = 20; i < n - 1; i++) {
      const d = digit(text, i);
      if (Number.isNaN(d)) return null;
      if (i < 23) ms = ms * 10 + d;
    }
    for (let i = n - 1; i < 23; i++) ms *= 10;
  }
  // NaN (a non-digit) fails every comparison below.
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return null;
  if (!(hour <= 23 && minute <= 59 && second <= 59 && year >= 0)) return null;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}

/**
 * Parses an ISO-8601 time with an explicit zone (`Z` or `+hh:mm`) for a window bound; null if it is not one,
 * not a real date, or finer than a millisecond (bounds are whole milliseconds, so they compare exactly).
 */
export function parseIsoTimestamp(text: string): number | null {
  const instant = parseInstant(text);
  return instant === null || instant.subMs ? null : instant.ms;
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
  if (parseInstant(full)?.subMs) {
    throw new RuleConfigError(
      `${what} "${text}" is finer than a millisecond: window bounds are whole milliseconds`,
    );
  }
  const m = ISO_TIME.exec(full);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const why =
      month < 1 || month > 12
        ? `there is no month ${month}`
        : day < 1 || day > daysInMonth(year, month)
          ? `${m[1]}-${m[2]} has ${daysInMonth(year, month)} days`
          : "an hour, minute, second or zone is out of range";
    throw new RuleConfigError(`${what} "${text}" is not a real date: ${why}`);
  }
  throw new RuleConfigError(
    `${what} "${text}" is not an ISO-8601 date or time with a zone, e.g. 2026-11-20 or 2026-11-20T00:00:00Z`,
  );
}
