/**
 * The detector as one reusable construct: a scheduled Lambda that runs the rule as a Logs Insights query,
 * an encrypted SNS topic for alerts (email, optional Slack), health alarms on the detector itself, a tamper
 * alert on Bedrock's logging configuration and, optionally, Bedrock model invocation logging itself and Athena
 * over the S3 delivery archive.
 *
 * Props are the prop view of the settings table (config/settings.ts), validated once when the construct is
 * created: a bad value throws a SettingsError naming the prop. Each part is built by its own module.
 */
import { Annotations, Stack } from "aws-cdk-lib";
import type * as chatbot from "aws-cdk-lib/aws-chatbot";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_INVOCATION_LOG_GROUP_NAME } from "../config/settings.js";
import { buildAlertTopic } from "./alert-topic.js";
import { planArchive } from "./archive-plan.js";
import { buildDashboard } from "./dashboard.js";
import { buildDeadLetterQueue, buildDetectorFunction } from "./detector-function.js";
import { withSettingsNamed } from "./errors.js";
import { buildHealthAlarms, type DetectorAlarms } from "./health-alarms.js";
import { BedrockInvocationArchive } from "./invocation-archive.js";
import { buildInvocationLogging } from "./invocation-logging.js";
import { type BedrockDosDetectorProps, homeOf, planDetector, propsToInput, settingNames } from "./props.js";
import { buildSlackChannel } from "./slack-channel.js";
import { buildStateTable } from "./state-table.js";
import { buildTamperAlert, LOGGING_TAMPER_EVENT_NAMES } from "./tamper-alert.js";

export class BedrockDosDetector extends Construct {
  /** Where Bedrock invocation logs are looked for by default (and the group `enableInvocationLogging` creates). */
  public static readonly DEFAULT_INVOCATION_LOG_GROUP_NAME: string = DEFAULT_INVOCATION_LOG_GROUP_NAME;
  /** The CloudTrail events the tamper alert matches: invocation logging switched off or pointed elsewhere. */
  public static readonly LOGGING_TAMPER_EVENT_NAMES: string[] = [...LOGGING_TAMPER_EVENT_NAMES];

  /** The scheduled detector function. */
  public readonly function: lambda.Function;
  /** Findings, health alarms and tamper alerts are published here. */
  public readonly alertTopic: sns.Topic;
  /** Customer-managed key encrypting the alert topic. */
  public readonly alertKey: kms.Key;
  /** Failed scheduler deliveries, failed asynchronous runs and failed tamper-alert deliveries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The state table: the alert ledger (suppression, retry safety) and the stored slices. */
  public readonly stateTable: dynamodb.Table;
  public readonly schedule: scheduler.Schedule;
  public readonly alarms: DetectorAlarms;
  /** EventBridge rule alerting on changes to Bedrock's invocation logging configuration. */
  public readonly loggingTamperRule: events.Rule;
  /** The log groups the detector queries (names or ARNs). */
  public readonly logGroupIdentifiers: string[];
  /** The log group created by `enableInvocationLogging`. */
  public readonly invocationLogGroup?: logs.LogGroup;
  public readonly slackChannel?: chatbot.SlackChannelConfiguration;
  /** Names this detector in alerts, alarm names and the health metrics' dimension. */
  public readonly label: string;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the CloudWatch console. */
  public readonly dashboardUrl: string;
  /** Athena over the S3 delivery archive, created by the `archive` prop. */
  public readonly archive?: BedrockInvocationArchive;

  /** Throws ConstructError, naming each prop at fault, when the props cannot be used. */
  constructor(scope: Construct, id: string, props: BedrockDosDetectorProps = {}) {
    super(scope, id);
    const resolved = withSettingsNamed("prop", () =>
      planDetector(propsToInput(props), "prop", homeOf(Stack.of(this))),
    );
    const { settings } = resolved;
    // Checked before anything is built, named as the caller wrote them (`archive.prefix`).
    if (props.archive) planArchive(props.archive, Stack.of(this), "archive.");
    this.logGroupIdentifiers = [...resolved.logGroupIdentifiers];
    this.label = settings.detectorLabel ?? Stack.of(this).stackName;

    const topic = buildAlertTopic(this, { emails: settings.alertEmails });
    this.alertTopic = topic.topic;
    this.alertKey = topic.key;
    if (settings.alertEmails.length === 0 && settings.slackWorkspaceId === undefined) {
      Annotations.of(this).addWarningV2(
        "bedrock-dos-detector:no-subscribers",
        `No ${settingNames("alertEmails")} and no Slack channel: alerts reach the SNS topic only. Subscribe to it to receive them.`,
      );
    }
    this.deadLetterQueue = buildDeadLetterQueue(this);
    this.stateTable = buildStateTable(this);
    if (settings.enableInvocationLogging) {
      this.invocationLogGroup = buildInvocationLogging(this, {
        logGroupName: settings.invocationLogGroupName,
        retention: settings.invocationLogRetentionDays as logs.RetentionDays,
      });
    }
    const detector = buildDetectorFunction(this, {
      plan: resolved,
      label: this.label,
      topic: this.alertTopic,
      stateTable: this.stateTable,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.function = detector.function;
    this.schedule = detector.schedule;
    this.alarms = buildHealthAlarms(this, {
      plan: resolved,
      label: this.label,
      function: this.function,
      deadLetterQueue: this.deadLetterQueue,
      topic: this.alertTopic,
    });
    const dashboard = buildDashboard(this, { label: this.label, alarms: Object.values(this.alarms) });
    this.dashboard = dashboard.dashboard;
    this.dashboardUrl = dashboard.url;
    this.loggingTamperRule = buildTamperAlert(this, {
      label: this.label,
      topic: this.alertTopic,
      deadLetterQueue: this.deadLetterQueue,
    });
    if (settings.slackWorkspaceId !== undefined && settings.slackChannelId !== undefined) {
      this.slackChannel = buildSlackChannel(this, {
        workspaceId: settings.slackWorkspaceId,
        channelId: settings.slackChannelId,
        topic: this.alertTopic,
        alarms: Object.values(this.alarms),
      });
    }
    if (props.archive) {
      this.archive = new BedrockInvocationArchive(this, "Archive", {
        ...props.archive,
        detectorProps: props,
      });
    }
  }
}
