/**
 * Tamper alert: invocation logging switched off or redirected leaves the detector blind. An EventBridge rule on
 * the CloudTrail events invokes a small function that publishes the alert in both formats (Amazon Q Developer
 * notification for Slack, plain text for email: `MessageStructure: 'json'`, which an SNS rule target cannot
 * set). Its role carries the topic key permissions; failed deliveries and runs go to the dead-letter queue.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as eventsTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as lambdaDestinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { toEnvironment } from "../config/environment.js";
import { bundledFunctionProps } from "./lambda-assets.js";
import { acknowledgeOnChild, GENERATE_DATA_KEY_REASON } from "./nag.js";

/** The CloudTrail management events that switch invocation logging off or point it elsewhere. */
export const LOGGING_TAMPER_EVENT_NAMES = [
  "DeleteModelInvocationLoggingConfiguration",
  "PutModelInvocationLoggingConfiguration",
] as const;

export interface TamperAlertProps {
  readonly topic: sns.ITopic;
  readonly deadLetterQueue: sqs.IQueue;
  readonly label: string;
}

export function buildTamperAlert(scope: Construct, props: TamperAlertProps): events.Rule {
  const logGroup = new logs.LogGroup(scope, "TamperAlertLogs", {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, "TamperAlertRole", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: "Bedrock DoS detector tamper alert: publishes to the encrypted alert topic",
  });
  logGroup.grantWrite(role);
  props.topic.grantPublish(role);
  const fn = new lambda.Function(scope, "TamperAlertFunction", {
    ...bundledFunctionProps("tamper-alert"),
    description:
      "Bedrock DoS detector: turns invocation-logging changes into an alert (email text and Slack)",
    memorySize: 256,
    timeout: Duration.seconds(30),
    role,
    logGroup,
    retryAttempts: 2,
    onFailure: new lambdaDestinations.SqsDestination(props.deadLetterQueue),
    environment: {
      ...toEnvironment({ alertTopicArn: props.topic.topicArn, detectorLabel: props.label }),
      NODE_OPTIONS: "--enable-source-maps",
    },
  });
  const rule = new events.Rule(scope, "LoggingTamperRule", {
    description: "Bedrock model invocation logging configuration changed or deleted",
    eventPattern: {
      source: ["aws.bedrock"],
      detailType: ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["bedrock.amazonaws.com"], eventName: [...LOGGING_TAMPER_EVENT_NAMES] },
    },
    targets: [
      new eventsTargets.LambdaFunction(fn, { retryAttempts: 3, deadLetterQueue: props.deadLetterQueue }),
    ],
  });
  acknowledgeOnChild(role, "DefaultPolicy", {
    id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    reason: GENERATE_DATA_KEY_REASON,
  });
  return rule;
}
