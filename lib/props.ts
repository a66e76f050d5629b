/**
 * The construct's props: the prop view of the settings (config/settings.ts), in CDK's types (`Duration`,
 * `logs.RetentionDays`). Defaults, bounds and cross-field rules live in the settings table; this file only
 * maps prop values to it and back.
 */
import { Duration, type Stack, Token } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import { type Home, queriedLogGroups } from "../config/cross-rules.js";
import { resolveSettings, type SettingsInput } from "../config/resolve-settings.js";
import { LOG_GROUP_ARN, nameOf, type SettingKey, type Settings, specOf, VIEWS } from "../config/settings.js";
import type { InvocationArchiveOptions } from "./archive-props.js";

/** Thresholds a record must exceed (strictly) on at least one metric to match. */
export interface DetectorThresholds {
  /** @default 8000 */
  readonly promptTokens?: number;
  /** @default 8000 */
  readonly completionTokens?: number;
  /** Code points of the compact request body. @default 8000 */
  readonly requestSize?: number;
}

/** Every prop is optional; the defaults are the settings' (docs/configuration.md lists them), `archive` aside. */
export interface BedrockDosDetectorProps {
  /**
   * Existing log groups that receive Bedrock model invocation logs, as names (this account and region) or
   * ARNs (other accounts' groups shared through CloudWatch cross-account observability; every account may use
   * the same name). At most 50, together with the group created by `enableInvocationLogging`.
   *
   * @default - ["/aws/bedrock/model-invocations"], or none with `enableInvocationLogging`
   */
  readonly logGroupIdentifiers?: string[];
  /**
   * Create a log group and a delivery role and switch on Bedrock model invocation logging (text data) for this
   * account and region, through a custom resource calling `PutModelInvocationLoggingConfiguration`.
   * This replaces any existing invocation logging configuration in the region; deleting the stack switches
   * logging off again. The created group is queried in addition to `logGroupIdentifiers`.
   *
   * @default false
   */
  readonly enableInvocationLogging?: boolean;
  /** Name of the log group created by `enableInvocationLogging`. Only valid with it. @default "/aws/bedrock/model-invocations" */
  readonly invocationLogGroupName?: string;
  /**
   * Retention of the log group created by `enableInvocationLogging` (it holds prompts and completions).
   * Only valid with it. The group is retained when the stack is deleted.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly invocationLogRetention?: logs.RetentionDays;
  /** Email addresses subscribed to the alert topic (each confirms once). Duplicates are ignored. @default - none */
  readonly alertEmails?: string[];
  /** Slack workspace id authorised in the Amazon Q Developer console (`T012AB3CD`); with `slackChannelId`. @default - no Slack */
  readonly slackWorkspaceId?: string;
  /** Slack channel id (`C0123ABCDEF`); invite `@Amazon Q` to private channels. With `slackWorkspaceId`. @default - no Slack */
  readonly slackChannelId?: string;
  /**
   * How often the detector runs, and the period each run queries: whole minutes that divide an hour or a day
   * (5 minutes, 15 minutes, 1 hour, 6 hours, ...), at least `timeout`.
   *
   * @default Duration.minutes(15)
   */
  readonly schedule?: Duration;
  /** Per-metric thresholds. @default - 8000 each */
  readonly thresholds?: DetectorThresholds;
  /** Matching requests an account needs in one window to be a finding. @default 2 */
  readonly minRequests?: number;
  /**
   * The hunt's thresholds for some models, `model-key-prefix=<prompt tokens>/<request size>/<completion tokens>`
   * (`anthropic.claude-3-haiku=32000/32000/8000`); matched against the model id without its ARN and
   * cross-region prefix, the longest matching prefix wins, other models keep `thresholds`. At most 10.
   *
   * @default - none: the hunt is exactly Elastic's
   */
  readonly modelThresholds?: string[];
  /**
   * `cached-input`: a request counts when its input plus cache-read plus cache-write tokens are above this;
   * `minRequests` such requests in a window flag the account (docs/detections.md gives the reasoning).
   *
   * @default 80000
   */
  readonly cachedInputTokens?: number;
  /**
   * `token-volume`: one principal (an IAM user, or a role without its session) with more total tokens than this
   * in one clock hour flags its account.
   *
   * @default 10000000
   */
  readonly tokensPerHour?: number;
  /** `token-volume`: one principal with more requests than this in one clock hour flags its account. @default 10000 */
  readonly requestsPerHour?: number;
  /**
   * `anomaly`: one principal with more total tokens in one clock hour than this many times its baseline (its
   * second-largest hourly total over the `baselineDays` before) and more than `anomalyFloorTokens` flags its account.
   *
   * @default 10
   */
  readonly anomalyFactor?: number;
  /**
   * `anomaly`: an hour must have more total tokens than this to be compared with its baseline; a principal with no
   * history is compared with this floor alone.
   *
   * @default 2000000
   */
  readonly anomalyFloorTokens?: number;
  /**
   * `anomaly`: days of history each hour's baseline is taken from; the state table keeps an hourly roll-up per
   * principal that long. 0: every principal is compared with the floor alone.
   *
   * @default 7
   */
  readonly baselineDays?: number;
  /**
   * Window each scheduled run evaluates, ending `settleDelay` before the scheduled time: at least `schedule`,
   * at most 31 days. Every run scans (and pays for) every byte in its window.
   *
   * @default Duration.hours(24)
   */
  readonly lookback?: Duration;
  /** How long before the scheduled time a scheduled window ends, for late log delivery. At most 6 hours. @default Duration.minutes(5) */
  readonly settleDelay?: Duration;
  /** Alerts published per run at most (one per flagged account, then one summary). At most 1000. @default 25 */
  readonly maxAlertsPerRun?: number;
  /**
   * An account already alerted on is not alerted again for this long unless its request count has doubled
   * (the alert ledger, which also stops a retried run re-sending). At most 31 days.
   *
   * @default Duration.hours(24)
   */
  readonly suppressFor?: Duration;
  /**
   * A suppressed account is alerted again when its request count reaches this multiple of the last alert's.
   *
   * @default 2
   */
  readonly escalationCountFactor?: number;
  /**
   * A suppressed account is alerted again when one of its maxima reaches this multiple of the last alert's (a new
   * principal, or a detection that had not fired, always escalates).
   *
   * @default 1.5
   */
  readonly escalationMaxFactor?: number;
  /**
   * Query each period a second time one run later, for events delivered later than `settleDelay` (doubles the
   * query cost).
   *
   * @default false
   */
  readonly requeryPreviousSlice?: boolean;
  /** Evaluate and log findings without publishing alerts. @default false */
  readonly dryRun?: boolean;
  /** Accounts (12 digits) whose requests count towards nothing: known heavy users. At most 100. @default - none */
  readonly excludedAccountIds?: string[];
  /** IAM/STS ARN patterns (`*` wildcards) whose requests count towards nothing. @default - none */
  readonly excludedIdentityPatterns?: string[];
  /** Function timeout, 1 to 15 minutes; Logs Insights queries over large windows take minutes. @default Duration.minutes(10) */
  readonly timeout?: Duration;
  /** Function memory in MB (128 to 10240). @default 512 */
  readonly memorySize?: number;
  /** Retention of the function's own log group. @default logs.RetentionDays.ONE_MONTH */
  readonly functionLogRetention?: logs.RetentionDays;
  /**
   * Log group (name, this account and region) whose `IncomingLogEvents` the "invocation logs stopped" alarm
   * watches.
   *
   * @default - the group created by `enableInvocationLogging`, else the first name in `logGroupIdentifiers`,
   * else the group of the first ARN in the stack's own account and region; with only other accounts' or
   * regions' ARNs there is no such alarm (its metric lives in the other account), and synth warns
   */
  readonly heartbeatLogGroupName?: string;
  /**
   * Alarm when the heartbeat log group receives no events for this long: invocation logging switched off or
   * broken leaves the detector blind. Whole hours, 1 to 168. Longer than your quietest Bedrock period.
   *
   * @default Duration.hours(24)
   */
  readonly maxLogSilence?: Duration;
  /**
   * Names this detector in alert subjects and titles, alarm names, the dashboard and the health metrics'
   * `Detector` dimension (letters, digits, spaces, `. _ : -`; at most 128). Unique per account and region.
   *
   * @default - the stack name
   */
  readonly detectorLabel?: string;
  /** EventBridge bus (name or ARN) each alerted finding is also sent to. @default "default" */
  readonly eventBusName?: string;
  /** Also import each alerted finding into Security Hub (must be enabled in the region). @default false */
  readonly securityHubImport?: boolean;
  /**
   * On-demand prices for the alerts' cost estimate, `prefix=<$ per 1k input>/<$ per 1k output>`
   * (`anthropic.claude-3-5-sonnet=0.003/0.015`); the longest matching prefix wins over the built-in table.
   *
   * @default - the built-in table only
   */
  readonly modelPrices?: string[];
  /**
   * Also create Athena over Bedrock's S3 delivery archive (a BedrockInvocationArchive, docs/archive.md), its
   * saved queries hunting with this detector's rule. A construct, not a setting: no context key.
   *
   * @default - no archive
   */
  readonly archive?: InvocationArchiveOptions;
}

export type DeployKey = (typeof VIEWS.deploy)[number];
export type DeploySettings = Settings<DeployKey>;

/** The value of a (possibly nested) prop by its path in the settings table. */
function propValue(props: BedrockDosDetectorProps, path: string): unknown {
  let value: unknown = props;
  for (const part of path.split(".")) {
    value =
      typeof value === "object" && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  // Durations travel as milliseconds; CDK's RetentionDays are already numbers of days.
  return value instanceof Duration ? value.toMilliseconds() : value;
}

/** The settings input of some props: each prop under its setting's canonical name. */
export function propsToInput(props: BedrockDosDetectorProps): SettingsInput {
  const input: SettingsInput = {};
  for (const key of VIEWS.deploy) {
    const path = specOf(key).prop;
    if (path !== undefined) input[key] = propValue(props, path);
  }
  return input;
}

/**
 * Props from validated settings (the CDK app's context): the inverse of propsToInput, so that the app builds
 * the construct through its public signature. Only the `given` settings: the rest keep their defaults.
 */
export function settingsToProps(
  settings: Partial<DeploySettings>,
  given: ReadonlySet<SettingKey>,
): BedrockDosDetectorProps {
  const props: Record<string, unknown> = {};
  for (const key of VIEWS.deploy) {
    const spec = specOf(key);
    const value = settings[key as DeployKey];
    if (spec.prop === undefined || value === undefined || !given.has(key)) continue;
    const [head, ...rest] = spec.prop.split(".") as [string, ...string[]];
    const typed = spec.kind.isDuration ? Duration.millis(value as number) : value;
    if (rest.length === 0) props[head] = typed;
    else props[head] = { ...(props[head] as Record<string, unknown> | undefined), [rest.join(".")]: typed };
  }
  return props as BedrockDosDetectorProps;
}

/**
 * A setting as a warning names it: the construct does not know whether its props came from code or from the
 * app's context, so both names (`heartbeatLogGroupName (context: bedrockDosDetector:heartbeatLogGroup)`).
 */
export function settingNames(key: SettingKey): string {
  return `${nameOf(key, "prop")} (context: ${nameOf(key, "context")})`;
}

/** The account and region a stack deploys to, where known at synth time. */
export function homeOf(stack: Stack): Home {
  return {
    account: Token.isUnresolved(stack.account) ? undefined : stack.account,
    region: Token.isUnresolved(stack.region) ? undefined : stack.region,
  };
}

/** Resolved deploy settings plus what the construct derives from them. */
export interface DetectorPlan {
  readonly settings: DeploySettings;
  /** Every log group the function queries: the created one first. */
  readonly logGroupIdentifiers: readonly string[];
  /** The log group the log-arrival alarm watches; `account`/`region` when it was taken from an ARN. */
  readonly heartbeat:
    | { readonly name: string; readonly account?: string; readonly region?: string }
    | undefined;
}

/** Validates the deploy settings once (throws SettingsError) and derives the plan. */
export function planDetector(input: SettingsInput, surface: "prop" | "context", home: Home): DetectorPlan {
  const settings = resolveSettings(VIEWS.deploy, input, surface, { home });
  const logGroupIdentifiers = queriedLogGroups(settings);
  // The created group comes first in the queried list, so it is the default heartbeat when there is one.
  const local = logGroupIdentifiers.filter((id) => !Token.isUnresolved(id));
  const named = settings.heartbeatLogGroup ?? local.find((id) => !LOG_GROUP_ARN.test(id));
  // An ARN in the stack's own account and region can be alarmed on here; prefer it over other accounts' ones.
  const arns = local.flatMap((id) => {
    const g = LOG_GROUP_ARN.exec(id)?.groups;
    return g ? [g] : [];
  });
  const firstArn = arns.find((g) => g.account === home.account && g.region === home.region) ?? arns[0];
  const heartbeat =
    named !== undefined
      ? { name: named }
      : firstArn?.name
        ? { name: firstArn.name, account: firstArn.account, region: firstArn.region }
        : undefined;
  return { settings, logGroupIdentifiers, heartbeat };
}
