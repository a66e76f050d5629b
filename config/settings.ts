/**
 * Every setting of the detector, defined once: its kind (type and bounds), its default, its documentation
 * and its name on each surface that takes it (construct prop, CDK context key, Lambda environment variable,
 * CLI flag). Construct props, `cdk.json`/`-c` context, the function's environment and the scanner's options
 * are views of this table; cross-field rules are checked wherever all their settings are in the view.
 * The rest of config/ works from this table: resolve-settings.ts (validation), cross-rules.ts, setting-problems.ts
 * (errors in the caller's words), rule-settings.ts (the rule) and environment.ts (the function's variables).
 *
 * Pure: the core only, no AWS SDK and no CDK, so the construct, the handler and the CLI all load it.
 */
import { IDENTITY_PATTERN } from "../core/exclusions.js";
import { ACCOUNT_ID } from "../core/insights-query.js";
import { MAX_MODEL_THRESHOLDS, MODEL_THRESHOLD_ENTRY } from "../core/model-thresholds.js";
import { DAY_MS, HOUR_MS, MAX_WINDOW_MS, type Metric } from "../core/rule.js";
import { boolean, decimal, duration, integer, type Kind, list, retentionDays, text } from "./kinds.js";

export type Surface = "prop" | "context" | "env" | "cli";

export const CONTEXT_PREFIX = "bedrockDosDetector:";
/** Where Bedrock model invocation logs go by default (and when the stack switches logging on). */
export const DEFAULT_INVOCATION_LOG_GROUP_NAME = "/aws/bedrock/model-invocations";

export const LOG_GROUP_NAME = /^[\w\-/.#]{1,512}$/;
/** A log group ARN, with or without the console's `:*` suffix; groups `region`, `account`, `name`. */
export const LOG_GROUP_ARN =
  /^arn:aws[\w-]*:logs:(?<region>[a-z0-9-]+):(?<account>\d{12}):log-group:(?<name>[\w\-/.#]{1,512})(:\*)?$/;
const LOG_GROUP = new RegExp(`${LOG_GROUP_NAME.source}|${LOG_GROUP_ARN.source}`);
const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;
const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
const TABLE_NAME = /^[\w.-]{3,255}$/;
/** An AWS Region name (`us-east-1`). */
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** ASCII (it goes into SNS subjects and alarm names), no leading or trailing space. */
export const DETECTOR_LABEL = /^[A-Za-z0-9](?:[\w .:-]{0,126}[\w.:-])?$/;
const EVENT_BUS = /^[\w.\-/]{1,256}$|^arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[\w.\-/]{1,256}$/;
/** `prefix=input/output`, US dollars per 1,000 tokens. */
export const MODEL_PRICE = /^[\w.:-]{1,200}=\d{1,6}(\.\d{1,9})?\/\d{1,6}(\.\d{1,9})?$/;
const SECURITY_HUB_PRODUCT_ARN = /^arn:aws[\w-]*:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/;

/** The longest window the scanner takes, by --lookback or by --start/--end (a retro-hunt over archives). */
export const MAX_SCAN_WINDOW_MS = 3660 * DAY_MS;
/** The longest anomaly baseline: four weeks of hours (672) read per principal over the floor. */
export const MAX_BASELINE_DAYS = 28;
/** Logs Insights accepts at most 50 log groups per query. */
export const MAX_LOG_GROUPS = 50;
/** Excluded account ids travel in the query text, which StartQuery caps at 10,000 characters. */
export const MAX_EXCLUDED_ACCOUNTS = 100;

/** Unresolved CDK tokens (`${Token[...]}`): known only at deploy time, so their format is not checked here. */
export const isToken = (s: string): boolean => s.includes("${Token[");

/**
 * A log group identifier as StartQuery takes it: names as they are, ARNs without the `:*` suffix that the
 * console shows (StartQuery rejects ARNs ending in `*`).
 */
export const normalizeLogGroupIdentifier = (id: string): string => id.trim().replace(/:\*$/, "");

interface Names {
  /** Construct prop (a dotted path for nested props). */
  readonly prop?: string;
  /** CDK context key, without CONTEXT_PREFIX. */
  readonly context?: string;
  /** Lambda environment variable. */
  readonly env?: string;
  /** Scanner flag, without the leading dashes. */
  readonly cli?: string;
}

interface Setting<T> extends Names {
  readonly kind: Kind<T>;
  /** `undefined`: optional, no value unless given. */
  readonly default: T | undefined;
  readonly doc: string;
}

/** Keeps each entry's own shape (which names it has, whether it has a default) for the view types. */
const setting = <T, const N extends Names, D extends T | undefined>(
  s: N & { readonly kind: Kind<T>; readonly default: D; readonly doc: string },
) => s;

/** The largest count the contract reads (15 digits); a higher threshold could never be exceeded. */
const MAX_COUNT = 999_999_999_999_999;

const threshold = <M extends Metric>(
  metric: M,
  envName: string,
  cli: string,
  what: string,
  verb: "is" | "are",
) =>
  setting({
    kind: integer(1, MAX_COUNT),
    default: 8000,
    prop: `thresholds.${metric}` as const,
    context: `${metric}Threshold`,
    env: envName,
    cli,
    doc: `a request matches when ${what} ${verb} above this`,
  });

/** The table. Keys are the settings' canonical names; the order is the documentation's order. */
export const SETTINGS = {
  // ---- The rule (both engines).
  promptTokensThreshold: threshold(
    "promptTokens",
    "PROMPT_TOKENS_THRESHOLD",
    "prompt-tokens",
    "its prompt tokens (input.inputTokenCount)",
    "are",
  ),
  completionTokensThreshold: threshold(
    "completionTokens",
    "COMPLETION_TOKENS_THRESHOLD",
    "completion-tokens",
    "its completion tokens (output.outputTokenCount)",
    "are",
  ),
  requestSizeThreshold: threshold(
    "requestSize",
    "REQUEST_SIZE_THRESHOLD",
    "request-size",
    "its request size (code points of the compact input.inputBodyJson)",
    "is",
  ),
  minRequests: setting({
    kind: integer(1, 1_000_000_000),
    default: 2,
    prop: "minRequests",
    context: "minRequests",
    env: "MIN_REQUESTS",
    cli: "min-requests",
    doc: "matching requests an account needs in one window to be a finding",
  }),
  lookback: setting({
    // The scanner hunts as far back as its files go; the scheduled detector is held to MAX_WINDOW_MS below.
    kind: duration({ min: 60_000, max: MAX_SCAN_WINDOW_MS }),
    default: DAY_MS,
    prop: "lookback",
    context: "lookback",
    env: "LOOKBACK",
    cli: "lookback",
    doc: "how far back the window reaches from its end",
  }),
  excludedAccountIds: setting({
    kind: list(ACCOUNT_ID, "a 12-digit account id", { max: MAX_EXCLUDED_ACCOUNTS, unique: (s) => s }),
    default: [],
    prop: "excludedAccountIds",
    context: "excludedAccountIds",
    env: "EXCLUDED_ACCOUNT_IDS",
    cli: "exclude-account",
    doc: "accounts whose requests count towards nothing (known heavy users)",
  }),
  excludedIdentityPatterns: setting({
    kind: list(
      IDENTITY_PATTERN,
      "an IAM/STS ARN pattern such as arn:aws:sts::123456789012:assumed-role/batch/*",
      {
        unique: (s) => s,
      },
    ),
    default: [],
    prop: "excludedIdentityPatterns",
    context: "excludedIdentityPatterns",
    env: "EXCLUDED_IDENTITY_PATTERNS",
    cli: "exclude-identity",
    doc: "identity ARN patterns (`*` = any characters) whose requests count towards nothing",
  }),

  modelThresholds: setting({
    kind: list(MODEL_THRESHOLD_ENTRY, "model-key-prefix=<prompt tokens>/<request size>/<completion tokens>", {
      max: MAX_MODEL_THRESHOLDS,
      unique: (s) => s.split("=")[0] ?? s,
      conflictsAreErrors: true,
    }),
    default: [],
    prop: "modelThresholds",
    context: "modelThresholds",
    env: "MODEL_THRESHOLDS",
    cli: "model-threshold",
    doc: "the hunt's thresholds for some models, e.g. `anthropic.claude-3-haiku=32000/32000/8000` (prompt tokens/request size/completion tokens); the longest matching prefix of the model key wins, other models keep the global thresholds",
  }),
  cachedInputTokensThreshold: setting({
    // Cost parity with the hunt: a cache read is billed at a tenth of an input token, so 80,000 cached input
    // tokens cost about what the hunt's 8,000 plain prompt tokens do. docs/detections.md gives the reasoning.
    kind: integer(1, MAX_COUNT),
    default: 80_000,
    prop: "cachedInputTokens",
    context: "cachedInputTokensThreshold",
    env: "CACHED_INPUT_TOKENS_THRESHOLD",
    cli: "cached-input-tokens",
    doc: "cached-input: a request counts when its input plus cache-read plus cache-write tokens are above this; as many such requests as the hunt needs (minRequests) flag the account",
  }),
  tokensPerHour: setting({
    // 20 times a steady service's 0.5 M tokens an hour; about $30-150 an hour at Claude Sonnet prices.
    kind: integer(1, MAX_COUNT),
    default: 10_000_000,
    prop: "tokensPerHour",
    context: "tokensPerHour",
    env: "TOKENS_PER_HOUR",
    cli: "tokens-per-hour",
    doc: "token-volume: one principal's total tokens (input, cache read and write, output) in one clock hour above this flag its account",
  }),
  requestsPerHour: setting({
    // A request every second all hour is 3,600; a flood of small requests is several a second, sustained.
    kind: integer(1, 1_000_000_000),
    default: 10_000,
    prop: "requestsPerHour",
    context: "requestsPerHour",
    env: "REQUESTS_PER_HOUR",
    cli: "requests-per-hour",
    doc: "token-volume: one principal's requests in one clock hour above this flag its account",
  }),
  anomalyFactor: setting({
    // An order of magnitude above the principal's usual busiest hour: daily and weekly swings (2-5x) and steady
    // growth stay quiet, an ETL role at 30x its usual hour does not. docs/detections.md gives the reasoning.
    kind: decimal(1, 1000),
    default: 10,
    prop: "anomalyFactor",
    context: "anomalyFactor",
    env: "ANOMALY_FACTOR",
    cli: "anomaly-factor",
    doc: "anomaly: one principal's total tokens in one clock hour above this many times its baseline (its second-largest hour over the baseline days before) flag its account, if also above the floor",
  }),
  anomalyFloorTokens: setting({
    // 4 times a steady 0.5 M-an-hour service (quiet even when new), half of a never-seen principal's 4 M tokens
    // in an hour (flagged), a fifth of tokensPerHour: about $6-30 an hour at Claude Sonnet prices.
    kind: integer(1, MAX_COUNT),
    default: 2_000_000,
    prop: "anomalyFloorTokens",
    context: "anomalyFloorTokens",
    env: "ANOMALY_FLOOR_TOKENS",
    cli: "anomaly-floor-tokens",
    doc: "anomaly: an hour is compared with its baseline only above this many total tokens; a principal without history is compared with this floor alone",
  }),
  baselineDays: setting({
    // A week: weekday and weekend cycles and a nightly batch are their own baseline; 168 hours read per principal.
    kind: integer(0, MAX_BASELINE_DAYS),
    default: 7,
    prop: "baselineDays",
    context: "baselineDays",
    env: "BASELINE_DAYS",
    cli: "baseline-days",
    doc: "anomaly: days of history before each hour that its baseline is taken from (the scanner reads them from the same paths; the scheduled detector keeps them in the state table); 0: every principal is compared with the floor alone",
  }),

  // ---- The scheduled detector.
  logGroups: setting({
    kind: list(LOG_GROUP, "a log group name or ARN", { opaque: isToken }),
    default: undefined,
    prop: "logGroupIdentifiers",
    context: "logGroups",
    doc: `existing log groups with Bedrock invocation logs, names (this account and region) or ARNs (other accounts through cross-account observability); at most ${MAX_LOG_GROUPS} with the created one (default: ${DEFAULT_INVOCATION_LOG_GROUP_NAME}, or none with enableInvocationLogging)`,
  }),
  settleDelay: setting({
    kind: duration({ min: 60_000, max: 6 * HOUR_MS, step: 60_000, stepName: "minutes" }),
    default: 5 * 60_000,
    prop: "settleDelay",
    context: "settleDelay",
    env: "SETTLE_DELAY",
    doc: "allowance for late log delivery: a scheduled run queries up to this long before its scheduled time (later events are missed by the live slices)",
  }),
  maxAlertsPerRun: setting({
    kind: integer(1, 1000),
    default: 25,
    prop: "maxAlertsPerRun",
    context: "maxAlertsPerRun",
    env: "MAX_ALERTS_PER_RUN",
    doc: "alerts published per run at most (one per flagged account, then one summary)",
  }),
  suppressFor: setting({
    kind: duration({ min: 1000, max: MAX_WINDOW_MS }),
    default: DAY_MS,
    prop: "suppressFor",
    context: "suppressFor",
    env: "SUPPRESS_FOR",
    doc: "an account already alerted on is not alerted again for this long unless it escalates",
  }),
  escalationCountFactor: setting({
    kind: decimal(1.01, 1000),
    default: 2,
    prop: "escalationCountFactor",
    context: "escalationCountFactor",
    env: "ESCALATION_COUNT_FACTOR",
    doc: "a suppressed account is alerted again when its request count reaches this multiple of the last alert's",
  }),
  escalationMaxFactor: setting({
    kind: decimal(1.01, 1000),
    default: 1.5,
    prop: "escalationMaxFactor",
    context: "escalationMaxFactor",
    env: "ESCALATION_MAX_FACTOR",
    doc: "... or a maximum reaches this multiple of the last alert's (a new principal, or a detection that had not fired, always escalates)",
  }),
  requeryPreviousSlice: setting({
    kind: boolean,
    default: false,
    prop: "requeryPreviousSlice",
    context: "requeryPreviousSlice",
    env: "REQUERY_PREVIOUS_SLICE",
    doc: "query each period a second time one run later, for events delivered later than settleDelay (doubles the query cost)",
  }),
  dryRun: setting({
    kind: boolean,
    default: false,
    prop: "dryRun",
    context: "dryRun",
    env: "DRY_RUN",
    doc: "evaluate and log findings without publishing alerts",
  }),
  schedule: setting({
    kind: duration({ min: 60_000, max: DAY_MS, step: 60_000, stepName: "minutes" }),
    default: 15 * 60_000,
    prop: "schedule",
    context: "schedule",
    env: "SCHEDULE",
    doc: "how often the detector runs, and the period each run queries: divides an hour or a day (5m, 15m, 1h, 6h, ...), at least functionTimeout",
  }),
  detectorLabel: setting({
    kind: text(DETECTOR_LABEL, "a label of letters, digits, spaces and . _ : - (at most 128 characters)"),
    default: undefined,
    prop: "detectorLabel",
    context: "detectorLabel",
    env: "DETECTOR_LABEL",
    doc: "names this detector in alert subjects, alarm names and the health metrics' `Detector` dimension (default: the stack name); unique per account and region",
  }),
  eventBusName: setting({
    kind: text(EVENT_BUS, "an EventBridge bus name or ARN"),
    default: "default",
    prop: "eventBusName",
    context: "eventBusName",
    env: "EVENT_BUS_NAME",
    doc: "EventBridge bus each alerted finding is also sent to (`PutEvents`, source `bedrock-dos-detector`)",
  }),
  securityHubImport: setting({
    kind: boolean,
    default: false,
    prop: "securityHubImport",
    context: "securityHubImport",
    doc: "also import each alerted finding into Security Hub (`BatchImportFindings`, ASFF); Security Hub must be enabled in the region",
  }),
  modelPrices: setting({
    kind: list(MODEL_PRICE, "model-id-prefix=<$ per 1k input tokens>/<$ per 1k output tokens>", {
      unique: (s) => s.split("=")[0] ?? s,
    }),
    default: [],
    prop: "modelPrices",
    context: "modelPrices",
    env: "MODEL_PRICES",
    doc: "on-demand prices for the alert's cost estimate, e.g. `anthropic.claude-3-5-sonnet=0.003/0.015`; the longest matching prefix wins over the built-in table",
  }),

  // ---- Deployment.
  stackName: setting({
    kind: text(
      /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
      "a stack name (letters, digits and hyphens, starting with a letter)",
    ),
    default: "BedrockDosDetector",
    context: "stackName",
    doc: "CloudFormation stack name (deploy several detectors with different names)",
  }),
  enableInvocationLogging: setting({
    kind: boolean,
    default: false,
    prop: "enableInvocationLogging",
    context: "enableInvocationLogging",
    doc: "create invocationLogGroupName and switch Bedrock model invocation logging (text) on into it; replaces the region's logging configuration, and deleting the stack switches logging off",
  }),
  invocationLogGroupName: setting({
    kind: text(LOG_GROUP_NAME, "a log group name", isToken),
    default: DEFAULT_INVOCATION_LOG_GROUP_NAME,
    prop: "invocationLogGroupName",
    context: "invocationLogGroupName",
    doc: "the log group enableInvocationLogging creates (only with it)",
  }),
  invocationLogRetentionDays: setting({
    kind: retentionDays,
    default: 90,
    prop: "invocationLogRetention",
    context: "invocationLogRetentionDays",
    doc: "retention of the log group enableInvocationLogging creates, in days (only with it; the group is kept when the stack is deleted)",
  }),
  alertEmails: setting({
    kind: list(EMAIL, "an email address", { opaque: isToken, unique: (s) => s.toLowerCase() }),
    default: [],
    prop: "alertEmails",
    context: "alertEmails",
    doc: "email addresses subscribed to the alert topic (each confirms once)",
  }),
  slackWorkspaceId: setting({
    kind: text(
      /^[0-9A-Z]{1,255}$/,
      "a Slack workspace id (upper-case letters and digits, e.g. T012AB3CD)",
      isToken,
    ),
    default: undefined,
    prop: "slackWorkspaceId",
    context: "slackWorkspaceId",
    doc: "Slack workspace authorised in the Amazon Q Developer console; with slackChannelId",
  }),
  slackChannelId: setting({
    kind: text(/^[A-Za-z0-9]{1,255}$/, "a Slack channel id (letters and digits, e.g. C0123ABCDEF)", isToken),
    default: undefined,
    prop: "slackChannelId",
    context: "slackChannelId",
    doc: "Slack channel (invite @Amazon Q to private channels); with slackWorkspaceId",
  }),
  functionTimeout: setting({
    kind: duration({ min: 60_000, max: 15 * 60_000 }),
    default: 10 * 60_000,
    prop: "timeout",
    context: "functionTimeout",
    doc: "Lambda timeout (Logs Insights queries over large windows take minutes)",
  }),
  functionMemorySize: setting({
    kind: integer(128, 10_240),
    default: 512,
    prop: "memorySize",
    context: "functionMemorySize",
    doc: "Lambda memory in MB",
  }),
  functionLogRetentionDays: setting({
    kind: retentionDays,
    default: 30,
    prop: "functionLogRetention",
    context: "functionLogRetentionDays",
    doc: "retention of the function's own log group, in days",
  }),
  heartbeatLogGroup: setting({
    kind: text(LOG_GROUP_NAME, "a log group name", isToken),
    default: undefined,
    prop: "heartbeatLogGroupName",
    context: "heartbeatLogGroup",
    doc: "log group (this account and region) whose incoming events the 'invocation logs stopped' alarm watches (default: the created group, else the first local one in logGroups)",
  }),
  maxLogSilence: setting({
    kind: duration({ min: HOUR_MS, max: 7 * DAY_MS, step: HOUR_MS, stepName: "hours" }),
    default: DAY_MS,
    prop: "maxLogSilence",
    context: "maxLogSilence",
    doc: "alarm when that log group receives nothing for this long; longer than your quietest Bedrock period",
  }),

  // ---- Written by the construct for the function only.
  logGroupIdentifiers: setting({
    kind: list(LOG_GROUP, "a log group name or ARN", { max: MAX_LOG_GROUPS }),
    default: undefined,
    env: "LOG_GROUP_IDENTIFIERS",
    doc: "every log group the function queries",
  }),
  alertTopicArn: setting({
    kind: text(TOPIC_ARN, "an SNS topic ARN"),
    default: undefined,
    env: "ALERT_TOPIC_ARN",
    doc: "the alert topic",
  }),
  stateTable: setting({
    kind: text(TABLE_NAME, "a DynamoDB table name"),
    default: undefined,
    env: "STATE_TABLE",
    doc: "the state table: alert ledger and stored slices (without it every run queries its whole window and alerts on every flagged account)",
  }),
  region: setting({
    kind: text(REGION, "an AWS region such as us-east-1"),
    default: undefined,
    env: "AWS_REGION",
    doc: "set by Lambda",
  }),
  securityHubProductArn: setting({
    kind: text(SECURITY_HUB_PRODUCT_ARN, "a Security Hub product ARN"),
    default: undefined,
    env: "SECURITY_HUB_PRODUCT_ARN",
    doc: "the account's own Security Hub product (`product/<account>/default`); set only with securityHubImport",
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** One setting's entry, widened: for code that looks settings up by key at run time. */
export const specOf = (key: SettingKey): Setting<unknown> => SETTINGS[key] as Setting<unknown>;
type ValueOf<K extends SettingKey> = (typeof SETTINGS)[K] extends { readonly kind: Kind<infer T> }
  ? T
  : never;
/** Settings present on a surface. */
export type KeysOn<S extends Surface> = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { readonly [P in S]: string } ? K : never;
}[SettingKey];
/** Canonical values, optional where a setting has no default. */
export type Settings<K extends SettingKey = SettingKey> = {
  readonly [P in K]: (typeof SETTINGS)[P]["default"] extends undefined ? ValueOf<P> | undefined : ValueOf<P>;
};

/** The settings each entry point reads. */
export const VIEWS = {
  /** The scanner: the rule. */
  cli: keysOn("cli"),
  /** The function: what its environment carries. */
  env: keysOn("env"),
  /** A CDK app or construct: everything but what the construct itself writes for the function. */
  deploy: [...new Set([...keysOn("prop"), ...keysOn("context")])] as SettingKey[],
} as const;

function keysOn(surface: Surface): SettingKey[] {
  return (Object.keys(SETTINGS) as SettingKey[]).filter((k) => specOf(k)[surface] !== undefined);
}

/** A setting's name on a surface (the canonical name where the surface has none). */
export function nameOf(key: SettingKey, surface: Surface): string {
  const s = specOf(key);
  switch (surface) {
    case "prop":
      return s.prop ?? key;
    case "context":
      return s.context ? `${CONTEXT_PREFIX}${s.context}` : key;
    case "env":
      return s.env ?? key;
    case "cli":
      return s.cli ? `--${s.cli}` : key;
  }
}
