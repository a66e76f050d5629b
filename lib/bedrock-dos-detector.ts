/**
 * The detector as one reusable construct: a scheduled Lambda that runs the rule as a Logs Insights query,
 * an encrypted SNS topic for alerts (email, optional Slack), health alarms on the detector itself, a tamper
 * alert on Bedrock's logging configuration and, optionally, Bedrock model invocation logging itself.
 *
 * Props are checked when the construct is created (at synth time): a bad value throws a DetectorPropsError
 * whose message names the prop. The Lambda environment comes from the handler's own schema (`toEnvironment`)
 * and is validated with the handler's `loadConfig`, so the two cannot drift apart.
 */
import { fileURLToPath } from "node:url";
import {
  Annotations,
  ArnFormat,
  Duration,
  Names,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from "aws-cdk-lib";
import * as chatbot from "aws-cdk-lib/aws-chatbot";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as eventsTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as lambdaDestinations from "aws-cdk-lib/aws-lambda-destinations";
import * as lambdaNodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as schedulerTargets from "aws-cdk-lib/aws-scheduler-targets";
import * as sns from "aws-cdk-lib/aws-sns";
import * as snsSubscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { DAY_MS, MAX_WINDOW_MS } from "../core/rule.js";
import { LEDGER } from "../lambda/adapters/alert-ledger.js";
import {
  ConfigError,
  type DetectorSettings,
  ENV,
  LOG_GROUP_ARN,
  LOG_GROUP_NAME,
  loadConfig,
  MAX_LOG_GROUPS,
  normalizeLogGroupIdentifier,
  toEnvironment,
} from "../lambda/config.js";
import { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME } from "../lambda/names.js";

export { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME };
/** Where Bedrock model invocation logs go when this construct switches logging on. */
export const DEFAULT_INVOCATION_LOG_GROUP_NAME = "/aws/bedrock/model-invocations";
/** The CloudTrail management events that switch invocation logging off or point it elsewhere. */
export const LOGGING_TAMPER_EVENT_NAMES = [
  "DeleteModelInvocationLoggingConfiguration",
  "PutModelInvocationLoggingConfiguration",
] as const;

/** The Lambda handler's source; bundled with the locally installed esbuild (no Docker). */
export const HANDLER_ENTRY = fileURLToPath(new URL("../lambda/handler.ts", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const LOCK_FILE = fileURLToPath(new URL("../package-lock.json", import.meta.url));

/** Stands in for unresolved tokens (ARNs of resources created in the same deployment) during validation. */
const PLACEHOLDER_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:placeholder";
const PLACEHOLDER_LOG_GROUP = "placeholder-log-group";
const PLACEHOLDER_TABLE = "placeholder-table";

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;
const SLACK_WORKSPACE_ID = /^[0-9A-Z]{1,255}$/;
const SLACK_CHANNEL_ID = /^[A-Za-z0-9]{1,255}$/;

/** Thresholds a record must exceed (strictly) on at least one metric to match. */
export interface DetectorThresholds {
  /** @default 8000 */
  readonly promptTokens?: number;
  /** @default 8000 */
  readonly completionTokens?: number;
  /** Code points of the compact request body. @default 8000 */
  readonly requestSize?: number;
}

export interface BedrockDosDetectorProps {
  /**
   * Existing log groups that receive Bedrock model invocation logs, as names (this account and region) or
   * ARNs (for example groups shared through CloudWatch cross-account observability). At most 50, together
   * with the group created by `enableInvocationLogging`.
   *
   * @default - none; required unless `enableInvocationLogging` is true
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
  /**
   * Name of the log group created by `enableInvocationLogging`. Only valid with it.
   *
   * @default "/aws/bedrock/model-invocations"
   */
  readonly invocationLogGroupName?: string;
  /**
   * Retention of the log group created by `enableInvocationLogging` (it holds prompts and completions).
   * Only valid with it. The group is retained when the stack is deleted.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly invocationLogRetention?: logs.RetentionDays;
  /**
   * Email addresses subscribed to the alert topic (each confirms by email once). Duplicates are ignored.
   *
   * @default - no email subscriptions
   */
  readonly alertEmails?: string[];
  /**
   * Slack workspace (team) id, authorised once in the Amazon Q Developer in chat applications console
   * (for example `T012AB3CD`). Give it together with `slackChannelId`.
   *
   * @default - no Slack channel
   */
  readonly slackWorkspaceId?: string;
  /**
   * Slack channel id (for example `C0123ABCDEF`); invite the `@Amazon Q` app to private channels.
   * Give it together with `slackWorkspaceId`.
   *
   * @default - no Slack channel
   */
  readonly slackChannelId?: string;
  /**
   * How often the detector runs (a rate schedule). Whole minutes, at least the function `timeout` (runs never
   * overlap) and at most 24 hours.
   *
   * @default Duration.hours(1)
   */
  readonly schedule?: Duration;
  /** Per-metric thresholds. @default - 8000 each */
  readonly thresholds?: DetectorThresholds;
  /** Matching requests an account needs in one window to be a finding. @default 2 */
  readonly minRequests?: number;
  /**
   * Window each scheduled run evaluates, ending `settleDelay` before the scheduled time. At least the
   * `schedule` period (so no request falls between windows), at most 31 days. Longer windows scan (and cost)
   * more: every run scans every byte in its window.
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
   * (the alert ledger, a DynamoDB table this construct creates; it also stops a retried run re-sending).
   * At most 31 days.
   *
   * @default Duration.hours(24)
   */
  readonly suppressFor?: Duration;
  /** Evaluate and log findings without publishing alerts. @default false */
  readonly dryRun?: boolean;
  /** Account ids (12 digits) left out of the findings: known heavy users. @default - none */
  readonly excludedAccountIds?: string[];
  /** IAM/STS ARN patterns (`*` wildcards) left out of the findings. @default - none */
  readonly excludedIdentityPatterns?: string[];
  /** Function timeout, 1 to 15 minutes; Logs Insights queries over large windows take minutes. @default Duration.minutes(10) */
  readonly timeout?: Duration;
  /** Function memory in MB (128 to 10240). @default 512 */
  readonly memorySize?: number;
  /** Retention of the function's own log group. @default logs.RetentionDays.ONE_MONTH */
  readonly functionLogRetention?: logs.RetentionDays;
  /**
   * Log group (name, in this account and region) whose `IncomingLogEvents` the "invocation logs stopped"
   * alarm watches.
   *
   * @default - the group created by `enableInvocationLogging`, else the first name in `logGroupIdentifiers`,
   * else the group of the first ARN when it is in the stack's own account and region; with only other
   * accounts' or regions' ARNs there is no such alarm (its metric lives in the other account), and synth warns
   */
  readonly heartbeatLogGroupName?: string;
  /**
   * Alarm when the heartbeat log group receives no events for this long: invocation logging switched off or
   * broken leaves the detector blind. Whole hours, 1 to 168 (7 days). Choose it longer than your quietest
   * Bedrock period.
   *
   * @default Duration.hours(24)
   */
  readonly maxLogSilence?: Duration;
}

/** A prop the detector cannot be built with; the message names the prop. */
export class DetectorPropsError extends Error {
  override name = "DetectorPropsError";
}

/** Props with defaults applied and every value checked. */
export interface ResolvedDetectorProps {
  readonly logGroupIdentifiers: readonly string[];
  readonly enableInvocationLogging: boolean;
  readonly invocationLogGroupName: string | undefined;
  readonly invocationLogRetention: logs.RetentionDays;
  readonly alertEmails: readonly string[];
  readonly slack: { readonly workspaceId: string; readonly channelId: string } | undefined;
  readonly schedule: Duration;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly functionLogRetention: logs.RetentionDays;
  /** The log group the log-arrival alarm watches; `account`/`region` when it was taken from an ARN. */
  readonly heartbeat:
    | { readonly name: string; readonly account?: string; readonly region?: string }
    | undefined;
  readonly maxLogSilence: Duration;
  /** The handler's settings, less the topic ARN and the table name (known only inside the construct). */
  readonly settings: Omit<DetectorSettings, "alertTopicArn" | "alertStateTable">;
}

const seconds = (d: Duration): number => d.toMilliseconds() / 1000;

/** `90m`, `24h`, `7d`: the largest unit that divides the duration (the handler's duration syntax). */
export function formatDuration(d: Duration): string {
  const s = seconds(d);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** The log group name inside a log group ARN, or the identifier itself when it is a name. */
function logGroupName(identifier: string): string {
  return LOG_GROUP_ARN.exec(identifier)?.groups?.name ?? identifier;
}

/**
 * Applies defaults and checks every prop; throws one DetectorPropsError listing all problems.
 * Exported for tests and for callers that want to check props before building a stack.
 */
export function resolveDetectorProps(props: BedrockDosDetectorProps): ResolvedDetectorProps {
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const wholeSeconds = (d: Duration) => Number.isInteger(seconds(d));

  const enableInvocationLogging = props.enableInvocationLogging ?? false;
  check(
    enableInvocationLogging || props.invocationLogGroupName === undefined,
    "invocationLogGroupName is only valid with enableInvocationLogging: true",
  );
  check(
    enableInvocationLogging || props.invocationLogRetention === undefined,
    "invocationLogRetention is only valid with enableInvocationLogging: true",
  );
  const invocationLogGroupName = enableInvocationLogging
    ? (props.invocationLogGroupName ?? DEFAULT_INVOCATION_LOG_GROUP_NAME)
    : undefined;

  if (invocationLogGroupName !== undefined && !Token.isUnresolved(invocationLogGroupName)) {
    check(
      LOG_GROUP_NAME.test(invocationLogGroupName),
      `invocationLogGroupName "${invocationLogGroupName}" is not a log group name`,
    );
  }
  const identifiers = (props.logGroupIdentifiers ?? []).map((s) => s.trim());
  check(
    identifiers.every((s) => s !== ""),
    "logGroupIdentifiers contains an empty entry",
  );
  const all = [...(invocationLogGroupName === undefined ? [] : [invocationLogGroupName]), ...identifiers];
  check(
    all.length > 0,
    "logGroupIdentifiers is empty: name at least one log group holding Bedrock invocation logs, or set enableInvocationLogging: true",
  );
  check(
    all.length <= MAX_LOG_GROUPS,
    `logGroupIdentifiers: at most ${MAX_LOG_GROUPS} log groups can be queried together (a Logs Insights limit), got ${all.length}`,
  );
  for (const id of identifiers) {
    check(
      id === "" || Token.isUnresolved(id) || LOG_GROUP_NAME.test(id) || LOG_GROUP_ARN.test(id),
      `logGroupIdentifiers "${id}" is not a log group name or ARN`,
    );
  }
  const seen = new Set<string>();
  for (const id of all) {
    const key = Token.isUnresolved(id) ? id : logGroupName(id);
    check(
      !seen.has(key),
      invocationLogGroupName !== undefined && key === invocationLogGroupName
        ? `logGroupIdentifiers lists "${id}", the log group enableInvocationLogging creates: leave it out`
        : `logGroupIdentifiers lists "${id}" twice`,
    );
    seen.add(key);
  }

  const emails: string[] = [];
  for (const email of (props.alertEmails ?? []).map((e) => e.trim())) {
    if (!emails.some((e) => e.toLowerCase() === email.toLowerCase())) emails.push(email);
  }
  for (const email of emails) {
    check(Token.isUnresolved(email) || EMAIL.test(email), `alertEmails: "${email}" is not an email address`);
  }

  const { slackWorkspaceId: workspaceId, slackChannelId: channelId } = props;
  check(
    (workspaceId === undefined) === (channelId === undefined),
    "slackWorkspaceId and slackChannelId go together: give both or neither",
  );
  if (workspaceId !== undefined && !Token.isUnresolved(workspaceId)) {
    check(
      SLACK_WORKSPACE_ID.test(workspaceId),
      `slackWorkspaceId "${workspaceId}" is not a Slack workspace id (upper-case letters and digits, e.g. T012AB3CD)`,
    );
  }
  if (channelId !== undefined && !Token.isUnresolved(channelId)) {
    check(
      SLACK_CHANNEL_ID.test(channelId),
      `slackChannelId "${channelId}" is not a Slack channel id (letters and digits, e.g. C0123ABCDEF)`,
    );
  }

  const timeout = props.timeout ?? Duration.minutes(10);
  check(
    wholeSeconds(timeout) && seconds(timeout) >= 60 && seconds(timeout) <= 900,
    `timeout must be between 1 and 15 minutes in whole seconds, got ${timeout.toHumanString()}`,
  );

  const schedule = props.schedule ?? Duration.hours(1);
  const scheduleS = seconds(schedule);
  if (!Number.isInteger(scheduleS / 60) || scheduleS <= 0) {
    problems.push(`schedule must be a whole number of minutes, got ${schedule.toHumanString()}`);
  } else if (scheduleS > 86_400) {
    problems.push(`schedule must be at most 24 hours, got ${schedule.toHumanString()}`);
  } else if (scheduleS < seconds(timeout)) {
    problems.push(
      `schedule (${schedule.toHumanString()}) is shorter than the function timeout (${timeout.toHumanString()}): a run could still be going when the next one starts`,
    );
  }

  const lookback = props.lookback ?? Duration.hours(24);
  check(wholeSeconds(lookback), `lookback must be whole seconds, got ${lookback.toHumanString()}`);
  check(
    lookback.toMilliseconds() <= MAX_WINDOW_MS,
    `lookback must be at most ${MAX_WINDOW_MS / DAY_MS} days, got ${lookback.toHumanString()}`,
  );
  check(
    seconds(lookback) >= scheduleS,
    `lookback (${lookback.toHumanString()}) is shorter than the schedule (${schedule.toHumanString()}): requests between two windows would never be examined`,
  );

  const settleDelay = props.settleDelay ?? Duration.minutes(5);
  check(
    wholeSeconds(settleDelay) && seconds(settleDelay) > 0 && seconds(settleDelay) <= 6 * 3600,
    `settleDelay must be more than 0 and at most 6 hours in whole seconds, got ${settleDelay.toHumanString()}`,
  );

  const suppressFor = props.suppressFor ?? Duration.hours(24);
  check(
    wholeSeconds(suppressFor) && seconds(suppressFor) > 0 && suppressFor.toMilliseconds() <= MAX_WINDOW_MS,
    `suppressFor must be more than 0 and at most ${MAX_WINDOW_MS / DAY_MS} days in whole seconds, got ${suppressFor.toHumanString()}`,
  );

  const positiveInt = (value: number | undefined, name: string, max = Number.MAX_SAFE_INTEGER) => {
    check(
      value === undefined || (Number.isSafeInteger(value) && value >= 1 && value <= max),
      `${name} must be a whole number from 1 to ${max.toLocaleString("en-US")}, got ${value}`,
    );
  };
  positiveInt(props.thresholds?.promptTokens, "thresholds.promptTokens");
  positiveInt(props.thresholds?.completionTokens, "thresholds.completionTokens");
  positiveInt(props.thresholds?.requestSize, "thresholds.requestSize");
  positiveInt(props.minRequests, "minRequests");
  positiveInt(props.maxAlertsPerRun, "maxAlertsPerRun", 1000);
  const memorySize = props.memorySize ?? 512;
  check(
    Number.isSafeInteger(memorySize) && memorySize >= 128 && memorySize <= 10_240,
    `memorySize must be a whole number of MB from 128 to 10240, got ${memorySize}`,
  );

  const maxLogSilence = props.maxLogSilence ?? Duration.hours(24);
  const silenceHours = seconds(maxLogSilence) / 3600;
  check(
    Number.isInteger(silenceHours) && silenceHours >= 1 && silenceHours <= 168,
    `maxLogSilence must be whole hours from 1 to 168 (7 days, a CloudWatch alarm limit), got ${maxLogSilence.toHumanString()}`,
  );

  const firstName = identifiers.find((id) => !Token.isUnresolved(id) && !LOG_GROUP_ARN.test(id));
  const firstArn = LOG_GROUP_ARN.exec(
    identifiers.find((id) => !Token.isUnresolved(id) && LOG_GROUP_ARN.test(id)) ?? "",
  );
  const namedHeartbeat = props.heartbeatLogGroupName ?? invocationLogGroupName ?? firstName;
  const heartbeat =
    namedHeartbeat !== undefined
      ? { name: namedHeartbeat }
      : firstArn?.groups
        ? {
            name: firstArn.groups.name ?? "",
            account: firstArn.groups.account,
            region: firstArn.groups.region,
          }
        : undefined;
  if (props.heartbeatLogGroupName !== undefined && !Token.isUnresolved(props.heartbeatLogGroupName)) {
    check(
      LOG_GROUP_NAME.test(props.heartbeatLogGroupName),
      `heartbeatLogGroupName "${props.heartbeatLogGroupName}" is not a log group name`,
    );
  }

  if (problems.length > 0) throw new DetectorPropsError(`BedrockDosDetector: ${problems.join("; ")}`);

  const settings: Omit<DetectorSettings, "alertTopicArn" | "alertStateTable"> = {
    logGroupIdentifiers: all,
    thresholds: props.thresholds,
    minRequests: props.minRequests,
    lookback: formatDuration(lookback),
    settleDelay: formatDuration(settleDelay),
    maxAlertsPerRun: props.maxAlertsPerRun,
    suppressFor: formatDuration(suppressFor),
    dryRun: props.dryRun,
    excludedAccountIds: props.excludedAccountIds,
    excludedIdentityPatterns: props.excludedIdentityPatterns,
  };
  // The handler's own validation, on the environment it will receive (tokens replaced by placeholders).
  try {
    loadConfig(
      toEnvironment({
        ...settings,
        logGroupIdentifiers: all.map((id) => (Token.isUnresolved(id) ? PLACEHOLDER_LOG_GROUP : id)),
        alertTopicArn: PLACEHOLDER_TOPIC_ARN,
        alertStateTable: PLACEHOLDER_TABLE,
      }),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Name the props rather than the environment variables they become.
    let message = err.message.replace(/^invalid configuration: /, "");
    for (const [prop, variable] of Object.entries(ENV)) message = message.replaceAll(variable, prop);
    throw new DetectorPropsError(`BedrockDosDetector: ${message}`);
  }

  return {
    logGroupIdentifiers: all,
    enableInvocationLogging,
    invocationLogGroupName,
    invocationLogRetention: props.invocationLogRetention ?? logs.RetentionDays.THREE_MONTHS,
    alertEmails: emails,
    slack: workspaceId !== undefined && channelId !== undefined ? { workspaceId, channelId } : undefined,
    schedule,
    timeout,
    memorySize,
    functionLogRetention: props.functionLogRetention ?? logs.RetentionDays.ONE_MONTH,
    heartbeat,
    maxLogSilence,
    settings,
  };
}

/** The health alarms, by what they watch. All notify the alert topic. */
export interface DetectorAlarms {
  readonly functionErrors: cloudwatch.Alarm;
  readonly functionThrottles: cloudwatch.Alarm;
  readonly noSuccessfulRun: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  /** Absent when the only watched log groups are other accounts' or regions' (see `heartbeatLogGroupName`). */
  readonly invocationLogsStopped?: cloudwatch.Alarm;
}

export class BedrockDosDetector extends Construct {
  /** The scheduled detector function. */
  public readonly function: lambdaNodejs.NodejsFunction;
  /** Findings, health alarms and tamper alerts are published here. */
  public readonly alertTopic: sns.Topic;
  /** Customer-managed key encrypting the alert topic. */
  public readonly alertKey: kms.Key;
  /** Failed scheduler deliveries, failed asynchronous runs and failed tamper-alert deliveries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The alert ledger: the last alert per account, for suppression and retry safety. */
  public readonly alertStateTable: dynamodb.Table;
  public readonly schedule: scheduler.Schedule;
  public readonly alarms: DetectorAlarms;
  /** EventBridge rule alerting on changes to Bedrock's invocation logging configuration. */
  public readonly loggingTamperRule: events.Rule;
  /** The log groups the detector queries (names or ARNs). */
  public readonly logGroupIdentifiers: readonly string[];
  /** The log group created by `enableInvocationLogging`. */
  public readonly invocationLogGroup?: logs.LogGroup;
  public readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: BedrockDosDetectorProps) {
    super(scope, id);
    const resolved = resolveDetectorProps(props);
    const stack = Stack.of(this);
    this.logGroupIdentifiers = resolved.logGroupIdentifiers;

    // ---- Alert topic: customer-managed key (CloudWatch alarms cannot use aws/sns), TLS only.
    this.alertKey = new kms.Key(this, "AlertKey", {
      description: "Encrypts the Bedrock DoS detector's alert topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.alertKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        // Only alarms of this account (confused-deputy protection, as on the topic policy).
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    );
    this.alertTopic = new sns.Topic(this, "AlertTopic", {
      displayName: "Bedrock DoS detector",
      masterKey: this.alertKey,
      enforceSSL: true,
    });
    this.alertTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowCloudWatchAlarmsOfThisAccountToPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.alertTopic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: {
            "aws:SourceArn": stack.formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    for (const email of resolved.alertEmails) {
      this.alertTopic.addSubscription(new snsSubscriptions.EmailSubscription(email));
    }
    if (resolved.alertEmails.length === 0 && resolved.slack === undefined) {
      Annotations.of(this).addWarningV2(
        "bedrock-dos-detector:no-subscribers",
        "No alertEmails and no Slack channel: alerts reach the SNS topic only. Subscribe to it to receive them.",
      );
    }

    // ---- Dead-letter queue shared by the scheduler target, the async invocation and the tamper rule target.
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "This queue is itself the dead-letter queue of the schedule, the function and the tamper rule.",
    });

    // ---- Alert ledger: one item per alerted account, expiring through TTL.
    this.alertStateTable = new dynamodb.Table(this, "AlertStateTable", {
      partitionKey: { name: LEDGER.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: LEDGER.ttlAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // ---- Optional: Bedrock model invocation logging into a log group created here.
    if (resolved.enableInvocationLogging && resolved.invocationLogGroupName !== undefined) {
      this.invocationLogGroup = this.enableInvocationLogging(
        resolved.invocationLogGroupName,
        resolved.invocationLogRetention,
      );
    }

    // ---- The function: least-privilege role, explicit log group, one run at a time.
    const functionLogGroup = new logs.LogGroup(this, "FunctionLogs", {
      retention: resolved.functionLogRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, "FunctionRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description:
        "Bedrock DoS detector: runs Logs Insights queries on the invocation logs and publishes alerts",
    });
    functionLogGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "StartQueriesOnTheInvocationLogGroups",
        actions: ["logs:StartQuery"],
        resources: resolved.logGroupIdentifiers.flatMap((id) => this.logGroupArns(id)),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ReadAndStopItsQueries",
        actions: ["logs:GetQueryResults", "logs:StopQuery"],
        resources: ["*"],
      }),
    );
    this.alertTopic.grantPublish(role);
    this.alertStateTable.grant(role, "dynamodb:GetItem", "dynamodb:PutItem");
    const rolePolicy = role.node.tryFindChild("DefaultPolicy");
    if (rolePolicy) {
      for (const arn of resolved.logGroupIdentifiers.map((id) => this.logGroupArns(id)[1] ?? "")) {
        acknowledgeWildcardResource(
          rolePolicy,
          arn,
          "The :* form of the log group ARN is how CloudWatch Logs authorizes some log-group actions; it matches this log group only.",
        );
      }
      Validations.of(rolePolicy).acknowledge(
        {
          id: "AwsSolutions-IAM5[Resource::*]",
          reason:
            "logs:GetQueryResults and logs:StopQuery take no resource ARN (query ids only); kms:GenerateDataKey* is on the topic key only.",
        },
        {
          id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
          reason: "Added by grantPublish for the topic's own key: SNS needs a data key per publish.",
        },
      );
    }

    const maxEventAge = Duration.seconds(Math.min(Math.max(seconds(resolved.schedule), 60), 6 * 3600));
    this.function = new lambdaNodejs.NodejsFunction(this, "Function", {
      description: "Bedrock DoS / resource-exhaustion detector: scheduled Logs Insights query, alerts to SNS",
      entry: HANDLER_ENTRY,
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: resolved.memorySize,
      timeout: resolved.timeout,
      role,
      logGroup: functionLogGroup,
      reservedConcurrentExecutions: 1,
      retryAttempts: 2,
      maxEventAge,
      onFailure: new lambdaDestinations.SqsDestination(this.deadLetterQueue),
      environment: {
        ...toEnvironment({
          ...resolved.settings,
          alertTopicArn: this.alertTopic.topicArn,
          alertStateTable: this.alertStateTable.tableName,
        }),
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE,
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        format: lambdaNodejs.OutputFormat.ESM,
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the SDK too: pins the version tested here instead of the runtime's.
        externalModules: [],
        // CommonJS dependencies call require(); give the ES module bundle one.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });

    // ---- Schedule: the scheduled time in the input, so a retried run re-evaluates the same window.
    const schedulerRole = new iam.Role(this, "SchedulerRole", {
      description:
        "Lets EventBridge Scheduler invoke the Bedrock DoS detector and dead-letter failed deliveries",
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    });
    this.schedule = new scheduler.Schedule(this, "Schedule", {
      description: "Runs the Bedrock DoS detector",
      schedule: scheduler.ScheduleExpression.rate(resolved.schedule),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        retryAttempts: 3,
        maxEventAge: Duration.seconds(Math.min(Math.max(seconds(resolved.schedule), 60), 86_400)),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });

    const schedulerPolicy = schedulerRole.node.tryFindChild("DefaultPolicy");
    if (schedulerPolicy) {
      acknowledgeWildcardResource(
        schedulerPolicy,
        `${this.function.functionArn}:*`,
        "Added by grantInvoke: versions and aliases of the detector function only.",
      );
    }

    // ---- Health alarms on the detector itself.
    this.alarms = this.createAlarms(resolved);

    // ---- Tamper alert: invocation logging switched off or redirected. An execution role carries the topic
    // key permissions, so EventBridge needs no key-policy grant.
    const tamperRole = new iam.Role(this, "LoggingTamperRuleRole", {
      description: "Lets the Bedrock logging tamper rule publish to the encrypted alert topic",
      assumedBy: new iam.ServicePrincipal("events.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    });
    this.loggingTamperRule = new events.Rule(this, "LoggingTamperRule", {
      description: "Bedrock model invocation logging configuration changed or deleted",
      eventPattern: {
        source: ["aws.bedrock"],
        detailType: ["AWS API Call via CloudTrail"],
        detail: { eventSource: ["bedrock.amazonaws.com"], eventName: [...LOGGING_TAMPER_EVENT_NAMES] },
      },
      targets: [
        new eventsTargets.SnsTopic(this.alertTopic, {
          authorizeUsingRole: true,
          role: tamperRole,
          message: tamperAlertMessage(),
          retryAttempts: 3,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    const tamperPolicy = tamperRole.node.tryFindChild("DefaultPolicy");
    if (tamperPolicy) {
      Validations.of(tamperPolicy).acknowledge({
        id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        reason: "Added by grantPublish for the topic's own key: SNS needs a data key per publish.",
      });
    }

    // ---- Optional Slack channel, with an explicit, minimal guardrail (the default is AdministratorAccess).
    if (resolved.slack) {
      const guardrail = new iam.ManagedPolicy(this, "SlackGuardrailPolicy", {
        description:
          "Guardrail for the detector's Slack channel: channel members can only read the detector's alarms",
        statements: [
          new iam.PolicyStatement({
            actions: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
            resources: Object.values(this.alarms).map((a: cloudwatch.Alarm) => a.alarmArn),
          }),
        ],
      });
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, "SlackChannel", {
        slackChannelConfigurationName: Names.uniqueResourceName(this, { maxLength: 128, separator: "-" }),
        slackWorkspaceId: resolved.slack.workspaceId,
        slackChannelId: resolved.slack.channelId,
        notificationTopics: [this.alertTopic],
        guardrailPolicies: [guardrail],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }
  }

  /** IAM resources for one log group identifier: the group ARN with and without the `:*` suffix. */
  private logGroupArns(identifier: string): string[] {
    // An ARN as given (a token is taken for a name: it cannot be inspected at synth time).
    const base =
      !Token.isUnresolved(identifier) && LOG_GROUP_ARN.test(identifier)
        ? normalizeLogGroupIdentifier(identifier)
        : Stack.of(this).formatArn({
            service: "logs",
            resource: "log-group",
            resourceName: identifier,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          });
    return [base, `${base}:*`];
  }

  private enableInvocationLogging(logGroupName: string, retention: logs.RetentionDays): logs.LogGroup {
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, "InvocationLogs", {
      logGroupName,
      retention,
      // Audit evidence (and prompts): kept when the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const deliveryRole = new iam.Role(this, "InvocationLoggingRole", {
      description: "Lets Amazon Bedrock write model invocation logs to the detector's log group",
      assumedBy: new iam.ServicePrincipal("bedrock.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: { "aws:SourceArn": stack.formatArn({ service: "bedrock", resource: "*" }) },
        },
      }),
    });
    logGroup.grantWrite(deliveryRole);

    const loggingConfig = {
      cloudWatchConfig: { logGroupName, roleArn: deliveryRole.roleArn },
      textDataDeliveryEnabled: true,
      imageDataDeliveryEnabled: false,
      embeddingDataDeliveryEnabled: false,
    };
    const put: cr.AwsSdkCall = {
      service: "bedrock",
      action: "PutModelInvocationLoggingConfiguration",
      parameters: { loggingConfig },
      // One fixed id: the configuration is a per-region singleton, and a new id would make CloudFormation
      // delete the old resource (switching logging off) after creating the new one.
      physicalResourceId: cr.PhysicalResourceId.of("bedrock-model-invocation-logging"),
    };
    const config = new cr.AwsCustomResource(this, "InvocationLoggingConfiguration", {
      onCreate: put,
      onUpdate: put,
      onDelete: { service: "bedrock", action: "DeleteModelInvocationLoggingConfiguration" },
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: [
            "bedrock:PutModelInvocationLoggingConfiguration",
            "bedrock:DeleteModelInvocationLoggingConfiguration",
          ],
          resources: ["*"],
        }),
        new iam.PolicyStatement({
          actions: ["iam:PassRole"],
          resources: [deliveryRole.roleArn],
          conditions: { StringEquals: { "iam:PassedToService": "bedrock.amazonaws.com" } },
        }),
      ]),
    });
    // The role and its policy must exist before Bedrock validates them.
    config.node.addDependency(deliveryRole, logGroup);
    const configPolicy = config.node.tryFindChild("CustomResourcePolicy");
    if (configPolicy) {
      Validations.of(configPolicy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "bedrock:Put/DeleteModelInvocationLoggingConfiguration have no resource type: the configuration is per account and region.",
      });
    }
    // The CDK-provided handler behind every AwsCustomResource in the stack (a singleton at stack level).
    const provider = stack.node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
    );
    const providerRole = provider?.node.tryFindChild("ServiceRole");
    if (providerRole) {
      Validations.of(providerRole).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason:
          "The CDK AwsCustomResource handler writes its own logs with the basic execution policy; it runs only during deployments.",
      });
    }
    return logGroup;
  }

  /**
   * The name of the log group the log-arrival alarm can watch here: its `IncomingLogEvents` metric lives in
   * the group's own account and region, so a group known only by another account's or region's ARN (or an
   * ARN when the stack's account or region is not known at synth) has none. Then synth warns.
   */
  private localHeartbeat(resolved: ResolvedDetectorProps): string | undefined {
    const hb = resolved.heartbeat;
    if (!hb) return undefined;
    if (hb.account === undefined) return hb.name;
    const stack = Stack.of(this);
    const local =
      !Token.isUnresolved(stack.account) &&
      !Token.isUnresolved(stack.region) &&
      stack.account === hb.account &&
      stack.region === hb.region;
    if (local) return hb.name;
    Annotations.of(this).addWarningV2(
      "bedrock-dos-detector:no-log-arrival-alarm",
      `No "invocation logs stopped" alarm: ${hb.name} is watched through an ARN of account ${hb.account} in ${hb.region}, ` +
        "whose metrics this stack cannot alarm on. Set heartbeatLogGroupName to a log group in this account and region, " +
        "or alarm on IncomingLogEvents in the source account.",
    );
    return undefined;
  }

  private createAlarms(resolved: ResolvedDetectorProps): DetectorAlarms {
    const action = new cloudwatchActions.SnsAction(this.alertTopic);
    const fiveMinutes = Duration.minutes(5);
    const alarm = (id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, props);
      a.addAlarmAction(action);
      return a;
    };
    const silenceHours = seconds(resolved.maxLogSilence) / 3600;
    const heartbeat = this.localHeartbeat(resolved);
    const logsStopped = (logGroupName: string) =>
      alarm("InvocationLogsStoppedAlarm", {
        alarmDescription: `No Bedrock invocation logs arrived in ${logGroupName} for ${silenceHours} hour(s): invocation logging may be off or broken, and the detector is blind.`,
        metric: new cloudwatch.Metric({
          namespace: "AWS/Logs",
          metricName: "IncomingLogEvents",
          dimensionsMap: { LogGroupName: logGroupName },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.hours(1),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: silenceHours,
        datapointsToAlarm: silenceHours,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    return {
      functionErrors: alarm("FunctionErrorsAlarm", {
        alarmDescription:
          "The Bedrock DoS detector failed a run (see its log group for the one-line reason). Failed runs are retried, then sent to the dead-letter queue.",
        metric: this.function.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      functionThrottles: alarm("FunctionThrottlesAlarm", {
        alarmDescription:
          "The Bedrock DoS detector was throttled: a run was still going when the next started (reserved concurrency is 1).",
        metric: this.function.metricThrottles({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      noSuccessfulRun: alarm("NoSuccessfulRunAlarm", {
        alarmDescription: `The Bedrock DoS detector has not completed a run in two schedule periods (${resolved.schedule.toHumanString()} each): nothing is being checked.`,
        metric: new cloudwatch.Metric({
          namespace: POWERTOOLS_METRICS_NAMESPACE,
          metricName: "RunSucceeded",
          dimensionsMap: { service: POWERTOOLS_SERVICE_NAME },
          statistic: cloudwatch.Stats.SUM,
          period: resolved.schedule,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      deadLetters: alarm("DeadLettersAlarm", {
        alarmDescription:
          "Messages in the Bedrock DoS detector's dead-letter queue: a scheduled run, a retried run or a tamper alert was lost.",
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...(heartbeat ? { invocationLogsStopped: logsStopped(heartbeat) } : {}),
    };
  }
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for one wildcard resource on one policy. The finding id
 * spells references as cdk-nag does (`<LogicalId.Arn>`, `<AWS::Region>`), so the acknowledgement covers that
 * exact resource and nothing else.
 */
function acknowledgeWildcardResource(policy: Construct, resource: string, reason: string): void {
  const flat = flattenReference(Stack.of(policy).resolve(resource));
  Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
}

function flattenReference(node: unknown): string {
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  if (typeof node === "object" && node !== null) {
    const o = node as Record<string, unknown>;
    const join = o["Fn::Join"];
    if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
      return join[1].map(flattenReference).join(join[0]);
    }
    const getAtt = o["Fn::GetAtt"];
    if (Array.isArray(getAtt)) return `<${getAtt.map(flattenReference).join(".")}>`;
    if ("Ref" in o) return `<${flattenReference(o.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * The tamper alert as an Amazon Q Developer (chat) custom notification: Slack renders it, email shows the
 * JSON, whose title and description read as plain sentences. Only CloudTrail fields, never request data.
 */
function tamperAlertMessage(): events.RuleTargetInput {
  const eventName = events.EventField.fromPath("$.detail.eventName");
  const who = events.EventField.fromPath("$.detail.userIdentity.arn");
  const account = events.EventField.account;
  const region = events.EventField.region;
  const time = events.EventField.time;
  const sourceIp = events.EventField.fromPath("$.detail.sourceIPAddress");
  return events.RuleTargetInput.fromObject({
    version: "1.0",
    source: "custom",
    content: {
      textType: "client-markdown",
      title: `Bedrock invocation logging changed: ${eventName}`,
      description: `${eventName} was called in account ${account}, region ${region}, at ${time} by ${who} from ${sourceIp}. Bedrock model invocation logging may now be off or written elsewhere, which leaves the DoS detector blind.`,
      nextSteps: [
        "If this change was not planned, check Bedrock > Settings > Model invocation logging and restore it.",
        "Review the CloudTrail event for the caller and the new configuration.",
      ],
      keywords: ["bedrock", "invocation-logging", "tamper"],
    },
    metadata: {
      summary: `Bedrock invocation logging changed (${eventName}) in ${account} ${region}`,
      additionalContext: { eventName, account, region },
    },
  });
}
