/**
 * The optional Slack channel (Amazon Q Developer in chat applications) on the alert topic, with an explicit,
 * minimal guardrail: channel members may only read the detector's own alarms (the default guardrail would be
 * AdministratorAccess).
 */
import { Names } from "aws-cdk-lib";
import * as chatbot from "aws-cdk-lib/aws-chatbot";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";

export interface SlackChannelProps {
  readonly workspaceId: string;
  readonly channelId: string;
  readonly topic: sns.ITopic;
  /** The alarms channel members may read. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

export function buildSlackChannel(
  scope: Construct,
  props: SlackChannelProps,
): chatbot.SlackChannelConfiguration {
  const guardrail = new iam.ManagedPolicy(scope, "SlackGuardrailPolicy", {
    description:
      "Guardrail for the detector's Slack channel: channel members can only read the detector's alarms",
    statements: [
      new iam.PolicyStatement({
        actions: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
        resources: props.alarms.map((a) => a.alarmArn),
      }),
    ],
  });
  return new chatbot.SlackChannelConfiguration(scope, "SlackChannel", {
    slackChannelConfigurationName: Names.uniqueResourceName(scope, { maxLength: 128, separator: "-" }),
    slackWorkspaceId: props.workspaceId,
    slackChannelId: props.channelId,
    notificationTopics: [props.topic],
    guardrailPolicies: [guardrail],
    loggingLevel: chatbot.LoggingLevel.ERROR,
  });
}
