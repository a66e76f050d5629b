/**
 * The detector's configuration and its environment variables: one schema that the handler validates at cold
 * start and that the CDK construct uses (through `toEnvironment`) to write them. Variable names live only here.
 */
import { z } from "zod";
import { ACCOUNT_ID } from "../core/insights-query.js";
import { DEFAULT_RULE, defineRule, HOUR_MS, MAX_WINDOW_MS, parseDuration, type Rule } from "../core/rule.js";

/** Environment variable names, by configuration key. */
export const ENV = {
  logGroupIdentifiers: "LOG_GROUP_IDENTIFIERS",
  alertTopicArn: "ALERT_TOPIC_ARN",
  promptTokensThreshold: "PROMPT_TOKENS_THRESHOLD",
  completionTokensThreshold: "COMPLETION_TOKENS_THRESHOLD",
  requestSizeThreshold: "REQUEST_SIZE_THRESHOLD",
  minRequests: "MIN_REQUESTS",
  lookback: "LOOKBACK",
  settleDelay: "SETTLE_DELAY",
  maxAlertsPerRun: "MAX_ALERTS_PER_RUN",
  dryRun: "DRY_RUN",
  excludedAccountIds: "EXCLUDED_ACCOUNT_IDS",
  excludedIdentityPatterns: "EXCLUDED_IDENTITY_PATTERNS",
  alertStateTable: "ALERT_STATE_TABLE",
  suppressFor: "SUPPRESS_FOR",
} as const;

export const DEFAULTS = {
  lookback: "24h",
  settleDelay: "5m",
  maxAlertsPerRun: 25,
  dryRun: false,
  suppressFor: "24h",
} as const;

/** Excluded account ids travel in the query text, which StartQuery caps at 10,000 characters. */
export const MAX_EXCLUDED_ACCOUNTS = 100;
/** Logs Insights accepts at most 50 log groups per query. */
export const MAX_LOG_GROUPS = 50;

export const LOG_GROUP_NAME = /^[\w\-/.#]{1,512}$/;
/** A log group ARN, with or without the console's `:*` suffix; groups `region`, `account`, `name`. */
export const LOG_GROUP_ARN =
  /^arn:aws[\w-]*:logs:(?<region>[a-z0-9-]+):(?<account>\d{12}):log-group:(?<name>[\w\-/.#]{1,512})(:\*)?$/;

/**
 * A log group identifier as StartQuery takes it: names as they are, ARNs without the `:*` suffix that the
 * console shows (StartQuery rejects ARNs ending in `*`).
 */
export const normalizeLogGroupIdentifier = (id: string): string => id.trim().replace(/:\*$/, "");
const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
const TABLE_NAME = /^[\w.-]{3,255}$/;
/** IAM/STS ARN glob: ARN characters plus `*`. */
const IDENTITY_PATTERN = /^arn:aws[\w-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@\-/*]+$/;

const list = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const optionalPositiveInt = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === "") return undefined;
    if (!/^\d+$/.test(v.trim()) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) {
      ctx.addIssue({ code: "custom", message: `must be a positive integer, got "${v}"` });
      return z.NEVER;
    }
    return Number(v);
  });

const duration = (fallback: string, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        const ms = parseDuration(v?.trim() || fallback, "value");
        if (ms > max) throw new Error(`must be at most ${max / HOUR_MS} hours`);
        return ms;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    });

/** The environment as the handler receives it. Keys are the variable names from ENV. */
const envSchema = z.object({
  [ENV.logGroupIdentifiers]: z
    .string({ error: "is required (comma-separated log group names or ARNs)" })
    .transform(list)
    .pipe(
      z
        .array(
          z.string().refine((s) => LOG_GROUP_NAME.test(s) || LOG_GROUP_ARN.test(s), {
            error: (i) => `"${String(i.input)}" is not a log group name or ARN`,
          }),
        )
        .min(1, { error: "needs at least one log group" })
        .max(MAX_LOG_GROUPS, { error: `takes at most ${MAX_LOG_GROUPS} log groups (a Logs Insights limit)` })
        .transform((ids) => ids.map(normalizeLogGroupIdentifier)),
    ),
  [ENV.alertTopicArn]: z
    .string({ error: "is required (the SNS topic ARN)" })
    .regex(TOPIC_ARN, { error: (i) => `"${String(i.input)}" is not an SNS topic ARN` }),
  [ENV.promptTokensThreshold]: optionalPositiveInt,
  [ENV.completionTokensThreshold]: optionalPositiveInt,
  [ENV.requestSizeThreshold]: optionalPositiveInt,
  [ENV.minRequests]: optionalPositiveInt,
  [ENV.lookback]: duration(DEFAULTS.lookback, MAX_WINDOW_MS),
  [ENV.settleDelay]: duration(DEFAULTS.settleDelay, 6 * HOUR_MS),
  [ENV.maxAlertsPerRun]: optionalPositiveInt.pipe(
    z.number().max(1000, { error: "must be at most 1000" }).optional(),
  ),
  [ENV.alertStateTable]: z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined)
    .pipe(
      z
        .string()
        .regex(TABLE_NAME, { error: (i) => `"${String(i.input)}" is not a DynamoDB table name` })
        .optional(),
    ),
  [ENV.suppressFor]: duration(DEFAULTS.suppressFor, MAX_WINDOW_MS),
  [ENV.dryRun]: z
    .enum(["true", "false", ""], { error: (i) => `must be true or false, got "${String(i.input)}"` })
    .optional(),
  [ENV.excludedAccountIds]: z
    .string()
    .optional()
    .transform(list)
    .pipe(
      z
        .array(
          z.string().regex(ACCOUNT_ID, { error: (i) => `"${String(i.input)}" is not a 12-digit account id` }),
        )
        .max(MAX_EXCLUDED_ACCOUNTS, { error: `takes at most ${MAX_EXCLUDED_ACCOUNTS} account ids` }),
    ),
  [ENV.excludedIdentityPatterns]: z
    .string()
    .optional()
    .transform(list)
    .pipe(
      z.array(
        z.string().regex(IDENTITY_PATTERN, {
          error: (i) =>
            `"${String(i.input)}" is not an IAM/STS ARN pattern (arn:aws:sts::123456789012:assumed-role/Name/*)`,
        }),
      ),
    ),
});

export interface DetectorConfig {
  readonly logGroupIdentifiers: readonly string[];
  readonly alertTopicArn: string;
  readonly rule: Rule;
  /** Scheduled windows end this long before the scheduled time, for late log delivery. */
  readonly settleDelayMs: number;
  readonly maxAlertsPerRun: number;
  readonly dryRun: boolean;
  /** Known heavy users: their requests are left out of the findings. */
  readonly excludedAccountIds: readonly string[];
  readonly excludedIdentityPatterns: readonly string[];
  /**
   * DynamoDB table remembering sent alerts: a retried run never re-sends, and an account already alerted is
   * not alerted again within `suppressForMs` unless its request count has doubled. Without it, every run
   * alerts on every flagged account.
   */
  readonly alertStateTable: string | undefined;
  readonly suppressForMs: number;
}

/** A configuration mistake; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): DetectorConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${String(i.path[0] ?? "environment")} ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  let rule: Rule;
  try {
    rule = defineRule({
      thresholds: {
        promptTokens: e[ENV.promptTokensThreshold],
        completionTokens: e[ENV.completionTokensThreshold],
        requestSize: e[ENV.requestSizeThreshold],
      },
      minRequests: e[ENV.minRequests],
      lookbackMs: e[ENV.lookback],
    });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  return {
    logGroupIdentifiers: e[ENV.logGroupIdentifiers],
    alertTopicArn: e[ENV.alertTopicArn],
    rule,
    settleDelayMs: e[ENV.settleDelay],
    maxAlertsPerRun: e[ENV.maxAlertsPerRun] ?? DEFAULTS.maxAlertsPerRun,
    dryRun: e[ENV.dryRun] === "true",
    excludedAccountIds: e[ENV.excludedAccountIds],
    excludedIdentityPatterns: e[ENV.excludedIdentityPatterns],
    alertStateTable: e[ENV.alertStateTable],
    suppressForMs: e[ENV.suppressFor],
  };
}

/**
 * Deploy-time settings as the CDK construct knows them (tokens allowed for ARNs); every field but the two
 * targets is optional and defaults as the handler does.
 */
export interface DetectorSettings {
  readonly logGroupIdentifiers: readonly string[];
  readonly alertTopicArn: string;
  readonly thresholds?: {
    readonly promptTokens?: number;
    readonly completionTokens?: number;
    readonly requestSize?: number;
  };
  readonly minRequests?: number;
  /** Duration such as `24h`. */
  readonly lookback?: string;
  /** Duration such as `5m`. */
  readonly settleDelay?: string;
  readonly maxAlertsPerRun?: number;
  readonly dryRun?: boolean;
  readonly excludedAccountIds?: readonly string[];
  readonly excludedIdentityPatterns?: readonly string[];
  /** Name of the alert-state table (see DetectorConfig.alertStateTable). */
  readonly alertStateTable?: string;
  /** Duration such as `24h`. */
  readonly suppressFor?: string;
}

/** The Lambda environment for these settings: the inverse of loadConfig. */
export function toEnvironment(s: DetectorSettings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.logGroupIdentifiers]: s.logGroupIdentifiers.map(normalizeLogGroupIdentifier).join(","),
    [ENV.alertTopicArn]: s.alertTopicArn,
    [ENV.lookback]: s.lookback ?? DEFAULTS.lookback,
    [ENV.settleDelay]: s.settleDelay ?? DEFAULTS.settleDelay,
    [ENV.maxAlertsPerRun]: String(s.maxAlertsPerRun ?? DEFAULTS.maxAlertsPerRun),
    [ENV.dryRun]: String(s.dryRun ?? DEFAULTS.dryRun),
    [ENV.promptTokensThreshold]: String(s.thresholds?.promptTokens ?? DEFAULT_RULE.thresholds.promptTokens),
    [ENV.completionTokensThreshold]: String(
      s.thresholds?.completionTokens ?? DEFAULT_RULE.thresholds.completionTokens,
    ),
    [ENV.requestSizeThreshold]: String(s.thresholds?.requestSize ?? DEFAULT_RULE.thresholds.requestSize),
    [ENV.minRequests]: String(s.minRequests ?? DEFAULT_RULE.minRequests),
    [ENV.suppressFor]: s.suppressFor ?? DEFAULTS.suppressFor,
  };
  if (s.alertStateTable) env[ENV.alertStateTable] = s.alertStateTable;
  if (s.excludedAccountIds?.length) env[ENV.excludedAccountIds] = s.excludedAccountIds.join(",");
  if (s.excludedIdentityPatterns?.length)
    env[ENV.excludedIdentityPatterns] = s.excludedIdentityPatterns.join(",");
  return env;
}

/** Converts an identity ARN glob (`*` = any run of characters) to an anchored regular expression. */
export function identityPatternToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}
