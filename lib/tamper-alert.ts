/**
 * Tamper alert: invocation logging switched off or redirected leaves the detector blind. An EventBridge rule on
 * the CloudTrail events publishes an Amazon Q Developer custom notification to the alert topic, through an
 * execution role that carries the topic key permissions (so EventBridge needs no key-policy grant).
 */
import { Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as eventsTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { acknowledgeOnChild, GENERATE_DATA_KEY_REASON } from "./nag.js";

/** The CloudTrail management events that switch invocation logging off or point it elsewhere. */
export const LOGGING_TAMPER_EVENT_NAMES = [
  "DeleteModelInvocationLoggingConfiguration",
  "PutModelInvocationLoggingConfiguration",
] as const;

export interface TamperAlertProps {
  readonly topic: sns.ITopic;
  readonly deadLetterQueue: sqs.IQueue;
}

export function buildTamperAlert(scope: Construct, props: TamperAlertProps): events.Rule {
  const tamperRole = new iam.Role(scope, "LoggingTamperRuleRole", {
    description: "Lets the Bedrock logging tamper rule publish to the encrypted alert topic",
    assumedBy: new iam.ServicePrincipal("events.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  });
  const rule = new events.Rule(scope, "LoggingTamperRule", {
    description: "Bedrock model invocation logging configuration changed or deleted",
    eventPattern: {
      source: ["aws.bedrock"],
      detailType: ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["bedrock.amazonaws.com"], eventName: [...LOGGING_TAMPER_EVENT_NAMES] },
    },
    targets: [
      new eventsTargets.SnsTopic(props.topic, {
        authorizeUsingRole: true,
        role: tamperRole,
        message: tamperAlertMessage(),
        retryAttempts: 3,
        deadLetterQueue: props.deadLetterQueue,
      }),
    ],
  });
  acknowledgeOnChild(tamperRole, "DefaultPolicy", {
    id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    reason: GENERATE_DATA_KEY_REASON,
  });
  return rule;
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
