/**
 * Every setting of the detector, defined once: its kind (type and bounds), its default, its documentation
 * and its name on each surface that takes it (construct prop, CDK context key, Lambda environment variable,
 * CLI flag). Construct props, `cdk.json`/`-c` context, the function's environment and the scanner's options
 * are views of this table; cross-field rules are checked wherever all their settings are in the view.
 * Problems are `{setting, message}` values, rendered in the caller's words by `renderProblems`.
 *
 * Pure: zod and the core only, no AWS SDK and no CDK, so the construct, the handler and the CLI all load it.
 */
// A namespace import: esbuild then bundles only what is used (the `z` object holds every locale: 0.75 MB).
import * as z from "zod";
import { IDENTITY_PATTERN } from "../core/exclusions.js";
import { ACCOUNT_ID } from "../core/insights-query.js";
import {
  formatModelThreshold,
  MAX_MODEL_THRESHOLDS,
  MODEL_THRESHOLD_ENTRY,
  parseModelThresholds,
} from "../core/model-thresholds.js";
import { DAY_MS, HOUR_MS, MAX_WINDOW_MS, METRICS, type Metric, type Rule } from "../core/rule.js";
import {
  boolean,
  decimal,
  duration,
  formatDuration,
  integer,
  isBlank,
  type Kind,
  list,
  retentionDays,
  text,
} from "./kinds.js";

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
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
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

/** A problem with one setting; `{other}` in the message names another setting, rendered per surface. */
export interface SettingProblem {
  readonly setting: SettingKey;
  readonly message: string;
}

export function renderProblem(p: SettingProblem, surface: Surface): string {
  const message = p.message.replace(/\{(\w+)\}/g, (all, k: string) =>
    k in SETTINGS ? nameOf(k as SettingKey, surface) : all,
  );
  return `${nameOf(p.setting, surface)} ${message}`;
}

/** Settings that cannot be used; the message names each in the caller's words. */
export class SettingsError extends Error {
  override name = "SettingsError";
  constructor(
    readonly problems: readonly SettingProblem[],
    readonly surface: Surface,
  ) {
    super(problems.map((p) => renderProblem(p, surface)).join("; "));
  }
  /** The same problems in another caller's words (an app rendering a construct's problems as context keys). */
  as(surface: Surface): SettingsError {
    return new SettingsError(this.problems, surface);
  }
}

/** Facts about the deployment target that some rules need (unknown at synth for environment-agnostic stacks). */
export interface Home {
  readonly account?: string;
  readonly region?: string;
}

interface CrossRule {
  readonly settings: readonly SettingKey[];
  check(s: Settings, given: ReadonlySet<SettingKey>, home: Home): SettingProblem[];
}

/**
 * Where a log group lives: an ARN names its account and region, a name is the stack's own. Two identifiers
 * are the same group only when these are equal (every member account may use the same name).
 */
export function logGroupIdentity(id: string, home: Home): string {
  const arn = LOG_GROUP_ARN.exec(id);
  const account = arn?.groups?.account;
  const region = arn?.groups?.region;
  const name = arn?.groups?.name ?? id;
  const local = arn === null || (account === home.account && region === home.region);
  return local ? `this account and region:${name}` : `${account}:${region}:${name}`;
}

/** The log groups a deployment queries: the created one (if any) first, then the listed ones. */
export function queriedLogGroups(
  s: Settings<"enableInvocationLogging" | "invocationLogGroupName" | "logGroups">,
) {
  const created = s.enableInvocationLogging ? [s.invocationLogGroupName] : [];
  const listed = s.logGroups ?? (s.enableInvocationLogging ? [] : [DEFAULT_INVOCATION_LOG_GROUP_NAME]);
  return [...created, ...listed];
}

const CROSS_RULES: readonly CrossRule[] = [
  {
    // The scheduled detector: a window is a whole number of periods, so stored slices tile it exactly.
    settings: ["lookback", "schedule"],
    check: (s) => {
      if (s.lookback > MAX_WINDOW_MS) {
        return [
          {
            setting: "lookback",
            message: `must be at most ${formatDuration(MAX_WINDOW_MS)} for the scheduled detector, got ${formatDuration(s.lookback)}`,
          },
        ];
      }
      return s.lookback % s.schedule === 0
        ? []
        : [
            {
              setting: "lookback",
              message: `(${formatDuration(s.lookback)}) must be a whole number of {schedule} periods (${formatDuration(s.schedule)})`,
            },
          ];
    },
  },
  {
    // Runs fire on the period's lattice (cron), so every slice is a whole period aligned to the clock.
    settings: ["schedule"],
    check: (s) =>
      (s.schedule < HOUR_MS ? HOUR_MS : DAY_MS) % s.schedule === 0
        ? []
        : [
            {
              setting: "schedule",
              message: `must divide an hour (5m, 10m, 15m, 20m, 30m, ...) or a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h), got ${formatDuration(s.schedule)}`,
            },
          ],
  },
  {
    settings: ["schedule", "functionTimeout"],
    check: (s) =>
      s.schedule < s.functionTimeout
        ? [
            {
              setting: "schedule",
              message: `(${formatDuration(s.schedule)}) is shorter than {functionTimeout} (${formatDuration(s.functionTimeout)}): a run could still be going when the next one starts`,
            },
          ]
        : [],
  },
  {
    settings: ["slackWorkspaceId", "slackChannelId"],
    check: (s) =>
      (s.slackWorkspaceId === undefined) !== (s.slackChannelId === undefined)
        ? [{ setting: "slackWorkspaceId", message: "and {slackChannelId} go together: give both or neither" }]
        : [],
  },
  {
    settings: ["enableInvocationLogging", "invocationLogGroupName", "invocationLogRetentionDays"],
    check: (s, given) =>
      s.enableInvocationLogging
        ? []
        : (["invocationLogGroupName", "invocationLogRetentionDays"] as const)
            .filter((k) => given.has(k))
            .map((k) => ({ setting: k, message: "is only valid with {enableInvocationLogging} true" })),
  },
  {
    settings: ["enableInvocationLogging", "invocationLogGroupName", "logGroups"],
    check: (s, _given, home) => {
      const all = queriedLogGroups(s);
      const problems: SettingProblem[] = [];
      if (all.length === 0) {
        problems.push({
          setting: "logGroups",
          message:
            "is empty: name at least one log group holding Bedrock invocation logs, or set {enableInvocationLogging} true",
        });
      }
      if (all.length > MAX_LOG_GROUPS) {
        problems.push({
          setting: "logGroups",
          message: `lists ${all.length} log groups with the created one; Logs Insights queries at most ${MAX_LOG_GROUPS} together`,
        });
      }
      const seen = new Map<string, string>();
      all.forEach((id, i) => {
        const identity = isToken(id) ? id : logGroupIdentity(id, home);
        const before = seen.get(identity);
        if (before !== undefined) {
          const createdTwice = s.enableInvocationLogging && i > 0 && before === all[0];
          problems.push({
            setting: "logGroups",
            message: createdTwice
              ? `lists ${JSON.stringify(id)}, the log group {enableInvocationLogging} creates: leave it out`
              : `lists the log group ${JSON.stringify(id)} twice`,
          });
        } else seen.set(identity, id);
      });
      return problems;
    },
  },
];

/** Each setting's zod schema: blank input takes the default, anything else goes through the setting's kind. */
function fieldSchema(k: SettingKey, required: boolean): z.ZodType<unknown, unknown> {
  const s = specOf(k);
  return z.unknown().transform((v, ctx) => {
    if (isBlank(v)) {
      if (s.default === undefined && required) {
        ctx.addIssue({ code: "custom", message: "is required" });
        return z.NEVER;
      }
      return s.default;
    }
    const parsed = s.kind.schema.safeParse(v);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      return z.NEVER;
    }
    // A required list that holds nothing (" , ") is as missing as an absent one.
    if (required && Array.isArray(parsed.data) && parsed.data.length === 0) {
      ctx.addIssue({ code: "custom", message: "is required" });
      return z.NEVER;
    }
    return parsed.data;
  });
}

export type SettingsInput = Partial<Record<SettingKey, unknown>>;

/**
 * Validates a view's input (canonical keys, values as text or typed) once: defaults applied, bounds and
 * cross-field rules checked. Throws SettingsError with every problem, named in `surface`'s words: each
 * field's own, then every cross-field rule whose fields are all valid.
 */
export function resolveSettings<K extends SettingKey, R extends K = never>(
  keys: readonly K[],
  input: SettingsInput,
  surface: Surface,
  opts: { home?: Home; required?: readonly R[] } = {},
): Settings<K> & { readonly [P in R]: NonNullable<Settings<P>[P]> } {
  const unknownKeys = Object.keys(input).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknownKeys.length > 0) throw new Error(`not settings of this view: ${unknownKeys.join(", ")}`);
  const required = new Set<SettingKey>(opts.required ?? []);
  const values: Partial<Record<SettingKey, unknown>> = {};
  const problems: SettingProblem[] = [];
  for (const k of keys) {
    const parsed = fieldSchema(k, required.has(k)).safeParse(input[k]);
    if (parsed.success) values[k] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push({ setting: k, message: issue.message });
  }
  const given = new Set<SettingKey>(keys.filter((k) => !isBlank(input[k])));
  for (const rule of CROSS_RULES) {
    if (rule.settings.every((k) => (keys as readonly string[]).includes(k) && k in values)) {
      problems.push(...rule.check(values as Settings, given, opts.home ?? {}));
    }
  }
  // The root cause first: problems of settings the caller gave before those of defaults they run into.
  const ranked = [
    ...problems.filter((p) => given.has(p.setting)),
    ...problems.filter((p) => !given.has(p.setting)),
  ];
  if (problems.length > 0) throw new SettingsError(dedupe(ranked), surface);
  return values as Settings<K> & { readonly [P in R]: NonNullable<Settings<P>[P]> };
}

function dedupe(problems: SettingProblem[]): SettingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.setting}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The rule from its settings. */
export function ruleFrom(
  s: Settings<
    | "promptTokensThreshold"
    | "completionTokensThreshold"
    | "requestSizeThreshold"
    | "minRequests"
    | "lookback"
    | "excludedAccountIds"
    | "excludedIdentityPatterns"
    | "modelThresholds"
    | "cachedInputTokensThreshold"
    | "tokensPerHour"
    | "requestsPerHour"
    | "anomalyFactor"
    | "anomalyFloorTokens"
    | "baselineDays"
  >,
): Rule {
  const thresholds = {} as Record<Metric, number>;
  for (const m of METRICS) thresholds[m] = s[`${m}Threshold`];
  return Object.freeze({
    thresholds: Object.freeze(thresholds),
    minRequests: s.minRequests,
    lookbackMs: s.lookback,
    excludedAccountIds: Object.freeze([...s.excludedAccountIds]),
    excludedIdentityPatterns: Object.freeze([...s.excludedIdentityPatterns]),
    modelThresholds: Object.freeze(parseModelThresholds(s.modelThresholds)),
    cachedInputTokens: s.cachedInputTokensThreshold,
    tokensPerHour: s.tokensPerHour,
    requestsPerHour: s.requestsPerHour,
    anomalyFactor: s.anomalyFactor,
    anomalyFloorTokens: s.anomalyFloorTokens,
    baselineDays: s.baselineDays,
  });
}

/** The rule's settings. */
export const RULE_SETTINGS = VIEWS.cli;

/** The rule with every default. */
export const DEFAULT_RULE: Rule = ruleFrom(
  resolveSettings(VIEWS.cli, {}, "cli") as Settings<(typeof VIEWS.cli)[number]>,
);

const RULE_KEYS = new Set(Object.keys(DEFAULT_RULE));

/** A rule from the defaults and overrides (tests and library callers); throws SettingsError. */
export function defineRule(
  overrides: Partial<Omit<Rule, "thresholds">> & { thresholds?: Partial<Rule["thresholds"]> } = {},
): Rule {
  const unknownKeys = [
    ...Object.keys(overrides).filter((k) => !RULE_KEYS.has(k)),
    ...Object.keys(overrides.thresholds ?? {}).filter((k) => !(METRICS as readonly string[]).includes(k)),
  ];
  if (unknownKeys.length > 0) throw new TypeError(`not rule properties: ${unknownKeys.join(", ")}`);
  const input: SettingsInput = {};
  for (const m of METRICS) input[`${m}Threshold`] = overrides.thresholds?.[m];
  input.minRequests = overrides.minRequests;
  input.lookback = overrides.lookbackMs;
  input.excludedAccountIds = overrides.excludedAccountIds;
  input.excludedIdentityPatterns = overrides.excludedIdentityPatterns;
  input.modelThresholds = overrides.modelThresholds?.map(formatModelThreshold);
  input.cachedInputTokensThreshold = overrides.cachedInputTokens;
  input.tokensPerHour = overrides.tokensPerHour;
  input.requestsPerHour = overrides.requestsPerHour;
  input.anomalyFactor = overrides.anomalyFactor;
  input.anomalyFloorTokens = overrides.anomalyFloorTokens;
  input.baselineDays = overrides.baselineDays;
  return ruleFrom(resolveSettings(VIEWS.cli, input, "prop") as Settings<(typeof VIEWS.cli)[number]>);
}

/** The environment variables for a view's values (the construct writes the function's environment). */
export function toEnvironment(values: Partial<Settings>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of VIEWS.env) {
    const v = values[k];
    const s = specOf(k);
    // Lambda sets AWS_REGION itself; an empty list is the default and needs no variable.
    if (v === undefined || s.env === undefined || k === "region" || (Array.isArray(v) && v.length === 0))
      continue;
    env[s.env] = s.kind.write(v);
  }
  return env;
}

/** A view's input from an environment (variable names from the table). */
export function fromEnvironment(env: Readonly<Record<string, string | undefined>>): SettingsInput {
  const input: SettingsInput = {};
  for (const k of VIEWS.env) {
    const name = specOf(k).env;
    if (name !== undefined) input[k] = env[name];
  }
  return input;
}

/** Environment variable names by setting: the env column of the table. */
export const ENV = Object.fromEntries(VIEWS.env.map((k) => [k, specOf(k).env ?? k])) as Record<
  KeysOn<"env">,
  string
>;
