/**
 * The detector function and what runs it: its least-privilege role and own log group, the schedule (on the
 * period's lattice, with the scheduled time in the input, so a retried run evaluates the same window), the retry
 * policy, and the dead-letter queue that failed deliveries and runs end in.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as lambdaDestinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as schedulerTargets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { toEnvironment } from "../config/environment.js";
import { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME } from "../config/names.js";
import { LOG_GROUP_ARN, normalizeLogGroupIdentifier } from "../config/settings.js";
import { bundledFunctionProps } from "./lambda-assets.js";
import { acknowledgeWildcardResource, GENERATE_DATA_KEY_REASON } from "./nag.js";
import type { DetectorPlan } from "./props.js";

/** Shared by the scheduler target, the asynchronous invocation and the tamper rule target. */
export function buildDeadLetterQueue(scope: Construct): sqs.Queue {
  const queue = new sqs.Queue(scope, "DeadLetterQueue", {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason: "This queue is itself the dead-letter queue of the schedule, the function and the tamper rule.",
  });
  return queue;
}

export interface DetectorFunctionProps {
  readonly plan: DetectorPlan;
  /** The detector label (the setting, or the stack name). */
  readonly label: string;
  readonly topic: sns.ITopic;
  /** The state table: alert ledger and stored slices. */
  readonly stateTable: dynamodb.ITable;
  readonly deadLetterQueue: sqs.IQueue;
}

export interface DetectorFunction {
  readonly function: lambda.Function;
  readonly schedule: scheduler.Schedule;
}

export function buildDetectorFunction(scope: Construct, props: DetectorFunctionProps): DetectorFunction {
  const { settings, logGroupIdentifiers } = props.plan;
  const functionLogGroup = new logs.LogGroup(scope, "FunctionLogs", {
    retention: settings.functionLogRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, "FunctionRole", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description:
      "Bedrock DoS detector: runs Logs Insights queries on the invocation logs and publishes alerts",
  });
  functionLogGroup.grantWrite(role);
  const logGroupArns = logGroupIdentifiers.map((id) => logGroupArn(scope, id));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "StartQueriesOnTheInvocationLogGroups",
      actions: ["logs:StartQuery"],
      resources: logGroupArns.flatMap((arn) => [arn, `${arn}:*`]),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "ReadAndStopItsQueries",
      actions: ["logs:GetQueryResults", "logs:StopQuery"],
      resources: ["*"],
    }),
  );
  props.topic.grantPublish(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "PutFindingEventsOnTheBus",
      actions: ["events:PutEvents"],
      resources: [eventBusArn(scope, settings.eventBusName)],
    }),
  );
  const productArn = settings.securityHubImport ? securityHubProductArn(scope) : undefined;
  if (productArn) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ImportFindingsIntoSecurityHub",
        actions: ["securityhub:BatchImportFindings"],
        resources: [productArn],
      }),
    );
  }
  // Slices, the alert ledger and anomaly's roll-ups (BatchWriteItem: 25 principal-hours a call).
  props.stateTable.grant(
    role,
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
  );
  const rolePolicy = role.node.tryFindChild("DefaultPolicy");
  if (rolePolicy) {
    for (const arn of logGroupArns) {
      acknowledgeWildcardResource(
        rolePolicy,
        `${arn}:*`,
        "The :* form of the log group ARN is how CloudWatch Logs authorizes some log-group actions; it matches this log group only.",
      );
    }
    Validations.of(rolePolicy).acknowledge(
      {
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "logs:GetQueryResults and logs:StopQuery take no resource ARN (query ids only); kms:GenerateDataKey* is on the topic key only.",
      },
      { id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", reason: GENERATE_DATA_KEY_REASON },
    );
  }

  const scheduleSeconds = settings.schedule / 1000;
  const fn = new lambda.Function(scope, "Function", {
    description: "Bedrock DoS / resource-exhaustion detector: scheduled Logs Insights query, alerts to SNS",
    ...bundledFunctionProps("detector"),
    memorySize: settings.functionMemorySize,
    timeout: Duration.millis(settings.functionTimeout),
    role,
    logGroup: functionLogGroup,
    reservedConcurrentExecutions: 1,
    retryAttempts: 2,
    maxEventAge: Duration.seconds(Math.min(Math.max(scheduleSeconds, 60), 6 * 3600)),
    onFailure: new lambdaDestinations.SqsDestination(props.deadLetterQueue),
    environment: {
      // Written from the settings table: the handler reads it back with the same table.
      ...toEnvironment({
        ...settings,
        logGroupIdentifiers: logGroupIdentifiers.map(normalizeLogGroupIdentifier),
        alertTopicArn: props.topic.topicArn,
        stateTable: props.stateTable.tableName,
        detectorLabel: props.label,
        securityHubProductArn: productArn,
      }),
      POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
    },
  });

  const schedulerRole = new iam.Role(scope, "SchedulerRole", {
    description:
      "Lets EventBridge Scheduler invoke the Bedrock DoS detector and dead-letter failed deliveries",
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  });
  const schedule = new scheduler.Schedule(scope, "Schedule", {
    description: "Runs the Bedrock DoS detector",
    schedule: scheduler.ScheduleExpression.cron(latticeCron(settings.schedule, settings.settleDelay)),
    target: new schedulerTargets.LambdaInvoke(fn, {
      role: schedulerRole,
      input: scheduler.ScheduleTargetInput.fromObject({
        scheduledTime: scheduler.ContextAttribute.scheduledTime,
      }),
      retryAttempts: 3,
      maxEventAge: Duration.seconds(Math.min(Math.max(scheduleSeconds, 60), 86_400)),
      deadLetterQueue: props.deadLetterQueue,
    }),
  });
  const schedulerPolicy = schedulerRole.node.tryFindChild("DefaultPolicy");
  if (schedulerPolicy) {
    acknowledgeWildcardResource(
      schedulerPolicy,
      `${fn.functionArn}:*`,
      "Added by grantInvoke: versions and aliases of the detector function only.",
    );
  }
  return { function: fn, schedule };
}

/**
 * A cron schedule that fires on the period's lattice plus the settle delay (UTC): each run's window then ends
 * on a period boundary, so windows are whole stored slices. The period divides an hour or a day (settings).
 */
export function latticeCron(periodMs: number, settleDelayMs: number): scheduler.CronOptionsWithTimezone {
  const minutes = periodMs / 60_000;
  const offset = (settleDelayMs % periodMs) / 60_000;
  if (minutes < 60) return { minute: `${offset}/${minutes}`, hour: "*" };
  return { minute: String(offset % 60), hour: `${Math.floor(offset / 60)}/${minutes / 60}` };
}

/** The ARN of a log group identifier (without `:*`); a name or a token is a group of this stack's account. */
function logGroupArn(scope: Construct, identifier: string): string {
  if (!Token.isUnresolved(identifier) && LOG_GROUP_ARN.test(identifier)) {
    return normalizeLogGroupIdentifier(identifier);
  }
  return Stack.of(scope).formatArn({
    service: "logs",
    resource: "log-group",
    resourceName: identifier,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The bus ARN: as given, or the named bus of this stack's account and region. */
function eventBusArn(scope: Construct, nameOrArn: string): string {
  if (nameOrArn.startsWith("arn:")) return nameOrArn;
  return Stack.of(scope).formatArn({ service: "events", resource: "event-bus", resourceName: nameOrArn });
}

/** This account's own Security Hub product, which takes findings from the account itself. */
export function securityHubProductArn(scope: Construct): string {
  const stack = Stack.of(scope);
  return stack.formatArn({
    service: "securityhub",
    resource: "product",
    resourceName: `${stack.account}/default`,
  });
}
