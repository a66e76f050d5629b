/** Template assertions for every resource and property the detector construct promises. */

import { App, Duration } from "aws-cdk-lib";
import { Annotations, Capture, Match, Template } from "aws-cdk-lib/assertions";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { ENV, toEnvironment } from "../../config/environment.js";
import { resolveSettings } from "../../config/resolve-settings.js";
import { SettingsError } from "../../config/setting-problems.js";
import { DEFAULT_INVOCATION_LOG_GROUP_NAME, VIEWS } from "../../config/settings.js";
import { loadConfig } from "../../lambda/config.js";
import { DetectorStack } from "../../lib/detector-stack.js";
import { ConstructError } from "../../lib/errors.js";
import { build, detectorFunction, detectorLogGroup, only, statementsOf } from "./helpers.js";

const LOG_GROUP = "/aws/bedrock/model-invocations";
const SHARED_ARN = "arn:aws:logs:us-west-2:111122223333:log-group:/shared/bedrock:*";

describe("the detector function", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP] });
  const fn = detectorFunction(template);

  it("runs Node.js 22 or newer on ARM64, one run at a time, with a timeout sized for Insights queries", () => {
    expect(fn.props.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.props.Architectures).toEqual(["arm64"]);
    expect(fn.props.ReservedConcurrentExecutions).toBe(1);
    expect(fn.props.Timeout).toBe(600);
    expect(fn.props.MemorySize).toBe(512);
    expect(fn.props.Handler).toBe("index.handler");
  });

  it("logs to an explicit log group with retention", () => {
    const group = detectorLogGroup(template);
    expect(group.props.RetentionInDays).toBe(30);
    expect(fn.props.LoggingConfig).toEqual({ LogGroup: { Ref: group.id } });
  });

  it("gets exactly the handler's environment (validated by its own schema) plus Powertools and source maps", () => {
    const variables = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
    // The handler's view of the settings with its defaults, written by the settings table's own
    // toEnvironment, so the names cannot drift.
    const handlerDefaults = resolveSettings(VIEWS.env, { logGroupIdentifiers: [LOG_GROUP] }, "env");
    expect(variables).toEqual({
      ...toEnvironment({
        ...handlerDefaults,
        alertTopicArn: stack.resolve(detector.alertTopic.topicArn),
        stateTable: stack.resolve(detector.stateTable.tableName),
        // The label defaults to the stack name.
        detectorLabel: stack.stackName,
      }),
      POWERTOOLS_SERVICE_NAME: "bedrock-dos-detector",
      POWERTOOLS_METRICS_NAMESPACE: "BedrockDosDetector",
      NODE_OPTIONS: "--enable-source-maps",
    });
    expect(variables).toMatchObject({
      [ENV.logGroupIdentifiers]: LOG_GROUP,
      [ENV.alertTopicArn]: stack.resolve(detector.alertTopic.topicArn),
      [ENV.stateTable]: stack.resolve(detector.stateTable.tableName),
      [ENV.lookback]: "24h",
      [ENV.settleDelay]: "5m",
      [ENV.suppressFor]: "24h",
      [ENV.maxAlertsPerRun]: "25",
      [ENV.dryRun]: "false",
      [ENV.promptTokensThreshold]: "8000",
      [ENV.minRequests]: "2",
    });
    // The literal values load in the handler (Lambda sets AWS_REGION at run time).
    const literal: Record<string, string> = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [
        k,
        typeof v === "string"
          ? v
          : k === ENV.alertTopicArn
            ? "arn:aws:sns:us-east-1:123456789012:t"
            : "table",
      ]),
    );
    const config = loadConfig({ ...literal, [ENV.region]: "us-east-1" });
    expect(config.logGroupIdentifiers).toEqual([LOG_GROUP]);
    expect(config.stateTable).toBe("table");
    expect(config.rule.lookbackMs).toBe(24 * 3600_000);
    expect(config.escalation.suppressForMs).toBe(24 * 3600_000);
    expect(config.schedulePeriodMs).toBe(15 * 60_000);
  });

  it("retries failed asynchronous runs twice, then sends them to the dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fn.id },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 2,
      // One schedule period (15 minutes): a run older than that is superseded by the next one.
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(detector.deadLetterQueue.queueArn) } },
    });
  });
});

describe("least-privilege IAM", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP, SHARED_ARN] });
  const policies = template.findResources("AWS::IAM::Policy");
  const roleId = stack.getLogicalId(detector.function.role?.node.defaultChild as never);
  const functionPolicies = Object.values(policies).filter((p) =>
    JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`),
  );
  const arn = (name: string) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        ":logs:",
        { Ref: "AWS::Region" },
        ":",
        { Ref: "AWS::AccountId" },
        `:log-group:${name}`,
      ],
    ],
  });
  const arnAll = (name: string) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        ":logs:",
        { Ref: "AWS::Region" },
        ":",
        { Ref: "AWS::AccountId" },
        `:log-group:${name}:*`,
      ],
    ],
  });

  it("gives the function exactly these statements and no managed policy", () => {
    expect(functionPolicies).toHaveLength(1);
    const statements = statementsOf(functionPolicies[0]);
    expect(statements).toEqual([
      {
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Effect: "Allow",
        Resource: { "Fn::GetAtt": [detectorLogGroup(template).id, "Arn"] },
      },
      {
        Sid: "StartQueriesOnTheInvocationLogGroups",
        Action: "logs:StartQuery",
        Effect: "Allow",
        Resource: [
          arn(LOG_GROUP),
          arnAll(LOG_GROUP),
          "arn:aws:logs:us-west-2:111122223333:log-group:/shared/bedrock",
          "arn:aws:logs:us-west-2:111122223333:log-group:/shared/bedrock:*",
        ],
      },
      {
        Sid: "ReadAndStopItsQueries",
        Action: ["logs:GetQueryResults", "logs:StopQuery"],
        Effect: "Allow",
        Resource: "*",
      },
      { Action: "sns:Publish", Effect: "Allow", Resource: stack.resolve(detector.alertTopic.topicArn) },
      {
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Effect: "Allow",
        Resource: stack.resolve(detector.alertKey.keyArn),
      },
      {
        Sid: "PutFindingEventsOnTheBus",
        Action: "events:PutEvents",
        Effect: "Allow",
        Resource: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":events:",
              { Ref: "AWS::Region" },
              ":",
              { Ref: "AWS::AccountId" },
              ":event-bus/default",
            ],
          ],
        },
      },
      {
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"],
        Effect: "Allow",
        Resource: [stack.resolve(detector.stateTable.tableArn)],
      },
      {
        Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        Effect: "Allow",
        Resource: stack.resolve(detector.deadLetterQueue.queueArn),
      },
    ]);
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: "lambda.amazonaws.com" } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it("lets the scheduler invoke only the function and write only to the dead-letter queue", () => {
    const schedule = only(template, "AWS::Scheduler::Schedule");
    const roleArn = (schedule.props.Target as { RoleArn: { "Fn::GetAtt": [string, string] } }).RoleArn;
    const schedulerRoleId = roleArn["Fn::GetAtt"][0];
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: "sts:AssumeRole",
            Effect: "Allow",
            Principal: { Service: "scheduler.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          },
        ],
        Version: "2012-10-17",
      },
    });
    const schedulerPolicy = Object.values(policies).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${schedulerRoleId}"`),
    );
    const fnArn = stack.resolve(detector.function.functionArn);
    expect(statementsOf(schedulerPolicy)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        Effect: "Allow",
        Resource: [fnArn, { "Fn::Join": ["", [fnArn, ":*"]] }],
      },
      {
        Action: "sqs:SendMessage",
        Effect: "Allow",
        Resource: stack.resolve(detector.deadLetterQueue.queueArn),
      },
    ]);
  });

  it("lets the tamper-alert function publish only to the topic, with only its key", () => {
    const rule = only(template, "AWS::Events::Rule");
    const target = (rule.props.Targets as { Arn: { "Fn::GetAtt": [string, string] } }[])[0];
    const fnId = target?.Arn["Fn::GetAtt"][0] ?? "";
    const roleArn = template.findResources("AWS::Lambda::Function")[fnId]?.Properties.Role as {
      "Fn::GetAtt": [string, string];
    };
    const rolePolicy = Object.values(policies).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${roleArn["Fn::GetAtt"][0]}"`),
    );
    expect(statementsOf(rolePolicy)).toEqual([
      {
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Effect: "Allow",
        Resource: {
          "Fn::GetAtt": [
            stack.getLogicalId(detector.node.findChild("TamperAlertLogs").node.defaultChild as never),
            "Arn",
          ],
        },
      },
      { Action: "sns:Publish", Effect: "Allow", Resource: stack.resolve(detector.alertTopic.topicArn) },
      {
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Effect: "Allow",
        Resource: stack.resolve(detector.alertKey.keyArn),
      },
      {
        Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        Effect: "Allow",
        Resource: stack.resolve(detector.deadLetterQueue.queueArn),
      },
    ]);
  });

  it("creates no other roles or policies without invocation logging or Slack", () => {
    expect(Object.keys(template.findResources("AWS::IAM::Role"))).toHaveLength(3);
    expect(Object.keys(policies)).toHaveLength(3);
    expect(template.findResources("AWS::IAM::ManagedPolicy")).toEqual({});
  });
});

describe("log groups of several accounts", () => {
  const NAME = "/aws/bedrock/model-invocations";
  const HOME = { account: "123456789012", region: "us-east-1" };
  const MEMBERS = ["111122223333", "444455556666", "777788889999"];
  const memberArn = (account: string) => `arn:aws:logs:us-east-1:${account}:log-group:${NAME}`;
  const localArn = (suffix: string) => ({
    "Fn::Join": [
      "",
      ["arn:", { Ref: "AWS::Partition" }, `:logs:us-east-1:123456789012:log-group:${NAME}${suffix}`],
    ],
  });

  it("queries same-named groups of different accounts: each is its own group", () => {
    // The console shows ARNs with a :* suffix.
    const { stack, detector, template } = build(
      { logGroupIdentifiers: [NAME, ...MEMBERS.map((a) => `${memberArn(a)}:*`)] },
      { env: HOME },
    );
    const roleId = stack.getLogicalId(detector.function.role?.node.defaultChild as never);
    const functionPolicies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`),
    );
    expect(functionPolicies).toHaveLength(1);
    const startQuery = statementsOf(functionPolicies[0]).filter(
      (s) => (s as { Action?: unknown }).Action === "logs:StartQuery",
    );
    expect(startQuery).toEqual([
      {
        Sid: "StartQueriesOnTheInvocationLogGroups",
        Action: "logs:StartQuery",
        Effect: "Allow",
        Resource: [
          localArn(""),
          localArn(":*"),
          ...MEMBERS.flatMap((a) => [memberArn(a), `${memberArn(a)}:*`]),
        ],
      },
    ]);
    expect(detector.logGroupIdentifiers).toHaveLength(4);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          [ENV.logGroupIdentifiers]: [NAME, ...MEMBERS.map(memberArn)].join(","),
        }),
      },
    });
  });

  /** The ConstructError a stack of HOME throws for these log groups (fails when it throws none). */
  const rejection = (logGroupIdentifiers: string[]): ConstructError => {
    try {
      build({ logGroupIdentifiers }, { env: HOME });
    } catch (err) {
      expect(err).toBeInstanceOf(ConstructError);
      expect((err as ConstructError).settings).toEqual(["logGroupIdentifiers"]);
      expect((err as ConstructError).cause).toBeInstanceOf(SettingsError);
      return err as ConstructError;
    }
    throw new Error("expected a ConstructError");
  };

  it("still rejects the same ARN twice (with or without :*)", () => {
    const arn = memberArn("111122223333");
    expect(rejection([NAME, arn, arn]).message).toBe(
      `logGroupIdentifiers lists the log group "${arn}" twice`,
    );
    expect(rejection([NAME, `${arn}:*`, arn]).message).toBe(
      `logGroupIdentifiers lists the log group "${arn}" twice`,
    );
  });

  it("rejects a name and the same group's ARN in the stack's own account and region", () => {
    const own = `arn:aws:logs:us-east-1:123456789012:log-group:${NAME}:*`;
    expect(rejection([NAME, own]).message).toBe(`logGroupIdentifiers lists the log group "${own}" twice`);
    expect(rejection([own, NAME]).message).toBe(`logGroupIdentifiers lists the log group "${NAME}" twice`);
  });

  it("the log-arrival alarm watches the stack's own group even when a member account's ARN comes first", () => {
    const own = `arn:aws:logs:us-east-1:123456789012:log-group:/own/bedrock`;
    const { detector, template } = build(
      { logGroupIdentifiers: [memberArn("111122223333"), own] },
      { env: HOME },
    );
    expect(detector.alarms.invocationLogsStopped).toBeDefined();
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "IncomingLogEvents",
      Dimensions: [{ Name: "LogGroupName", Value: "/own/bedrock" }],
    });
  });
});

describe("the schedule", () => {
  const { stack, detector, template } = build({
    logGroupIdentifiers: [LOG_GROUP],
    schedule: Duration.minutes(30),
  });

  it("invokes the function on the period's lattice plus the settle delay, with the scheduled time as input", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(5/30 * * * ? *)",
      State: "ENABLED",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: Match.objectLike({
        Arn: stack.resolve(detector.function.functionArn),
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}',
      }),
    });
  });

  it("retries within one period and dead-letters to the encrypted queue", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Target: Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 1800 },
        DeadLetterConfig: { Arn: stack.resolve(detector.deadLetterQueue.queueArn) },
      }),
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumEventAgeInSeconds: 1800 });
  });
});

describe("the dead-letter queue", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP] });

  it("is encrypted, keeps messages 14 days and refuses plain HTTP", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: "sqs:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
            Effect: "Deny",
            Principal: { AWS: "*" },
            Resource: stack.resolve(detector.deadLetterQueue.queueArn),
          },
        ]),
      },
    });
  });
});

describe("the alert topic", () => {
  const { stack, detector, template } = build({
    logGroupIdentifiers: [LOG_GROUP],
    alertEmails: ["sec@example.com", "oncall@example.com", "SEC@example.com "],
  });

  it("is encrypted with a customer-managed key that rotates", () => {
    const key = only(template, "AWS::KMS::Key");
    expect(key.props.EnableKeyRotation).toBe(true);
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: { "Fn::GetAtt": [key.id, "Arn"] } });
  });

  it("has a key policy that lets CloudWatch alarms publish to the encrypted topic", () => {
    template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: "AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          },
        ]),
      },
    });
  });

  it("has a TLS-only topic policy that admits this account's alarms", () => {
    const topicArn = stack.resolve(detector.alertTopic.topicArn);
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [topicArn],
      PolicyDocument: {
        Statement: [
          {
            Sid: "AllowPublishThroughSSLOnly",
            Action: "sns:Publish",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
            Effect: "Deny",
            Principal: "*",
            Resource: topicArn,
          },
          {
            Sid: "AllowCloudWatchAlarmsOfThisAccountToPublish",
            Action: "sns:Publish",
            Condition: {
              StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
              ArnLike: {
                "aws:SourceArn": {
                  "Fn::Join": [
                    "",
                    [
                      "arn:",
                      { Ref: "AWS::Partition" },
                      ":cloudwatch:",
                      { Ref: "AWS::Region" },
                      ":",
                      { Ref: "AWS::AccountId" },
                      ":alarm:*",
                    ],
                  ],
                },
              },
            },
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Resource: topicArn,
          },
        ],
        Version: "2012-10-17",
      },
    });
  });

  it("subscribes each email once", () => {
    const subscriptions = Object.values(template.findResources("AWS::SNS::Subscription")).map(
      (s) => s.Properties as { Protocol: string; Endpoint: string; TopicArn: unknown },
    );
    expect(subscriptions.map((s) => [s.Protocol, s.Endpoint])).toEqual([
      ["email", "sec@example.com"],
      ["email", "oncall@example.com"],
    ]);
    for (const s of subscriptions) expect(s.TopicArn).toEqual(stack.resolve(detector.alertTopic.topicArn));
  });

  it("has no Slack channel unless asked", () => {
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
  });
});

describe("the Slack channel", () => {
  const { stack, detector, template } = build({
    logGroupIdentifiers: [LOG_GROUP],
    slackWorkspaceId: "T012AB3CD",
    slackChannelId: "C0123ABCDEF",
  });

  it("subscribes to the topic with an explicit read-only guardrail, not AdministratorAccess", () => {
    const guardrail = only(template, "AWS::IAM::ManagedPolicy");
    template.hasResourceProperties("AWS::Chatbot::SlackChannelConfiguration", {
      SlackWorkspaceId: "T012AB3CD",
      SlackChannelId: "C0123ABCDEF",
      SnsTopicArns: [stack.resolve(detector.alertTopic.topicArn)],
      GuardrailPolicies: [{ Ref: guardrail.id }],
      LoggingLevel: "ERROR",
    });
    expect(JSON.stringify(template.toJSON())).not.toContain("AdministratorAccess");
    expect((guardrail.props.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      {
        Action: ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
        Effect: "Allow",
        Resource: Object.values(detector.alarms).map((a) => stack.resolve(a.alarmArn)),
      },
    ]);
  });

  it("gives the channel role no permissions", () => {
    const config = only(template, "AWS::Chatbot::SlackChannelConfiguration");
    const roleId = (config.props.IamRoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const role = template.findResources("AWS::IAM::Role")[roleId];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.Policies).toBeUndefined();
    expect(JSON.stringify(template.findResources("AWS::IAM::Policy"))).not.toContain(`"${roleId}"`);
  });
});

describe("health alarms", () => {
  const { stack, detector, template } = build({
    logGroupIdentifiers: [SHARED_ARN, LOG_GROUP],
    schedule: Duration.hours(2),
    maxLogSilence: Duration.hours(6),
  });
  const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map(
    (a) => a.Properties as Record<string, unknown>,
  );
  const byMetric = (name: string) => alarms.find((a) => a.MetricName === name) ?? {};
  const topicRef = stack.resolve(detector.alertTopic.topicArn);

  it("are five, each notifying the alert topic", () => {
    expect(alarms).toHaveLength(5);
    for (const a of alarms) expect(a.AlarmActions).toEqual([topicRef]);
  });

  it("fire on function errors and throttles", () => {
    const fnRef = stack.resolve(detector.function.functionName);
    for (const metric of ["Errors", "Throttles"]) {
      expect(byMetric(metric)).toMatchObject({
        Namespace: "AWS/Lambda",
        Dimensions: [{ Name: "FunctionName", Value: fnRef }],
        Statistic: "Sum",
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }
  });

  it("fire when no run succeeded within two schedule periods; missing data waits (INSUFFICIENT_DATA, notified)", () => {
    expect(byMetric("RunSucceeded")).toMatchObject({
      Namespace: "BedrockDosDetector",
      Dimensions: [
        { Name: "Detector", Value: stack.stackName },
        { Name: "service", Value: "bedrock-dos-detector" },
      ],
      Statistic: "Sum",
      Period: 7200,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "missing",
      InsufficientDataActions: [topicRef],
    });
  });

  it("fire on any message in the dead-letter queue", () => {
    expect(byMetric("ApproximateNumberOfMessagesVisible")).toMatchObject({
      Namespace: "AWS/SQS",
      Dimensions: [{ Name: "QueueName", Value: stack.resolve(detector.deadLetterQueue.queueName) }],
      Statistic: "Maximum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("fire when the watched log group receives no invocation logs for the configured period", () => {
    expect(byMetric("IncomingLogEvents")).toMatchObject({
      Namespace: "AWS/Logs",
      // The first name in the list (the ARN is another account's group).
      Dimensions: [{ Name: "LogGroupName", Value: LOG_GROUP }],
      Statistic: "Sum",
      Period: 3600,
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "missing",
      InsufficientDataActions: [topicRef],
    });
  });

  it("watch the log group named by heartbeatLogGroupName, or one in this account known by its ARN", () => {
    const named = build({ logGroupIdentifiers: [LOG_GROUP], heartbeatLogGroupName: "/other" }).template;
    named.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "IncomingLogEvents",
      Dimensions: [{ Name: "LogGroupName", Value: "/other" }],
    });
    const localArn = "arn:aws:logs:us-west-2:111122223333:log-group:/local/bedrock";
    const sameAccount = build(
      { logGroupIdentifiers: [localArn] },
      { env: { account: "111122223333", region: "us-west-2" } },
    ).template;
    sameAccount.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "IncomingLogEvents",
      Dimensions: [{ Name: "LogGroupName", Value: "/local/bedrock" }],
      EvaluationPeriods: 24,
    });
  });

  it("make no log-arrival alarm for another account's log group (its metric is not here), and warn", () => {
    const other = build(
      { logGroupIdentifiers: [SHARED_ARN] },
      { env: { account: "999988887777", region: "us-west-2" } },
    );
    expect(other.detector.alarms.invocationLogsStopped).toBeUndefined();
    expect(Object.keys(other.template.findResources("AWS::CloudWatch::Alarm"))).toHaveLength(4);
    Annotations.fromStack(other.stack).hasWarning(
      "*",
      Match.stringLikeRegexp('No "invocation logs stopped" alarm'),
    );
  });
});

describe("the logging tamper alert", () => {
  const { stack, detector, template } = build({ logGroupIdentifiers: [LOG_GROUP] });
  const rule = only(template, "AWS::Events::Rule");
  const target = (rule.props.Targets as Record<string, unknown>[])[0] ?? {};

  it("matches CloudTrail management events that delete or replace invocation logging", () => {
    expect(rule.props.EventPattern).toEqual({
      source: ["aws.bedrock"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: {
        eventSource: ["bedrock.amazonaws.com"],
        eventName: ["DeleteModelInvocationLoggingConfiguration", "PutModelInvocationLoggingConfiguration"],
      },
    });
    expect(rule.props.State).toBe("ENABLED");
  });

  it("invokes the tamper-alert function, with retries and the dead-letter queue", () => {
    const fnId = (target.Arn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const fn = template.findResources("AWS::Lambda::Function")[fnId]?.Properties as Record<string, unknown>;
    expect(fn.Handler).toBe("index.handler");
    expect(fn.Runtime).toBe(detectorFunction(template).props.Runtime);
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      [ENV.alertTopicArn]: stack.resolve(detector.alertTopic.topicArn),
      [ENV.detectorLabel]: "Test",
      NODE_OPTIONS: "--enable-source-maps",
    });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3 });
    expect(target.DeadLetterConfig).toEqual({ Arn: stack.resolve(detector.deadLetterQueue.queueArn) });
    // EventBridge may invoke it; only this rule.
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      SourceArn: { "Fn::GetAtt": [rule.id, "Arn"] },
    });
  });

  it("lets the tamper-alert function publish to the topic and write its own logs only", () => {
    const fnId = (target.Arn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const fn = template.findResources("AWS::Lambda::Function")[fnId]?.Properties as {
      Role: { "Fn::GetAtt": [string, string] };
    };
    const roleId = fn.Role["Fn::GetAtt"][0];
    const statements = Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((p) => statementsOf(p) as { Action: unknown }[])
      .map((st) => st.Action);
    expect(statements).toEqual([
      ["logs:CreateLogStream", "logs:PutLogEvents"],
      "sns:Publish",
      ["kms:Decrypt", "kms:GenerateDataKey*"],
      ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
    ]);
  });
});

describe("the state table (alert ledger and stored slices)", () => {
  const { template } = build({ logGroupIdentifiers: [LOG_GROUP], suppressFor: Duration.hours(6) });

  it("keys on partition and sort key, expires items, bills per request and keeps point-in-time recovery", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [ENV.suppressFor]: "6h" }) },
    });
  });
});

describe("invocation logging (enableInvocationLogging)", () => {
  const { stack, detector, template } = build({
    enableInvocationLogging: true,
    invocationLogRetention: logs.RetentionDays.SIX_MONTHS,
    logGroupIdentifiers: [SHARED_ARN],
  });
  const groupId = stack.getLogicalId(detector.invocationLogGroup?.node.defaultChild as never);

  it("creates the log group, retained on delete, and queries it along with the others", () => {
    template.hasResource("AWS::Logs::LogGroup", {
      Properties: { LogGroupName: DEFAULT_INVOCATION_LOG_GROUP_NAME, RetentionInDays: 180 },
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          // StartQuery takes ARNs without the :* suffix.
          [ENV.logGroupIdentifiers]: `${DEFAULT_INVOCATION_LOG_GROUP_NAME},${SHARED_ARN.replace(/:\*$/, "")}`,
        }),
      },
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "IncomingLogEvents",
      Dimensions: [{ Name: "LogGroupName", Value: DEFAULT_INVOCATION_LOG_GROUP_NAME }],
    });
  });

  it("creates a delivery role only Bedrock in this account can assume, allowed to write to that group only", () => {
    const trust = new Capture();
    template.hasResourceProperties("AWS::IAM::Role", {
      Description: Match.stringLikeRegexp("Bedrock write model invocation logs"),
      AssumeRolePolicyDocument: trust,
    });
    expect(trust.asObject()).toEqual({
      Statement: [
        {
          Action: "sts:AssumeRole",
          Effect: "Allow",
          Principal: { Service: "bedrock.amazonaws.com" },
          Condition: {
            StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
            ArnLike: {
              "aws:SourceArn": {
                "Fn::Join": [
                  "",
                  [
                    "arn:",
                    { Ref: "AWS::Partition" },
                    ":bedrock:",
                    { Ref: "AWS::Region" },
                    ":",
                    { Ref: "AWS::AccountId" },
                    ":*",
                  ],
                ],
              },
            },
          },
        },
      ],
      Version: "2012-10-17",
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: [
          {
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Effect: "Allow",
            Resource: { "Fn::GetAtt": [groupId, "Arn"] },
          },
        ],
        Version: "2012-10-17",
      },
    });
  });

  it("switches logging on with a custom resource, and off again when deleted", () => {
    const resource = only(template, "Custom::AWS");
    const create = JSON.stringify(resource.props.Create);
    expect(create).toContain('\\"action\\":\\"PutModelInvocationLoggingConfiguration\\"');
    expect(create).toContain(`\\"logGroupName\\":\\"${DEFAULT_INVOCATION_LOG_GROUP_NAME}\\"`);
    expect(create).toContain('\\"textDataDeliveryEnabled\\":true');
    expect(create).toContain('\\"physicalResourceId\\":{\\"id\\":\\"bedrock-model-invocation-logging\\"}');
    expect(resource.props.Update).toEqual(resource.props.Create);
    expect(JSON.parse(resource.props.Delete as string)).toEqual({
      service: "bedrock",
      action: "DeleteModelInvocationLoggingConfiguration",
    });
    expect(resource.props.InstallLatestAwsSdk).toBe(false);
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyName: Match.stringLikeRegexp("CustomResourcePolicy"),
      PolicyDocument: {
        Statement: [
          {
            Action: [
              "bedrock:PutModelInvocationLoggingConfiguration",
              "bedrock:DeleteModelInvocationLoggingConfiguration",
            ],
            Effect: "Allow",
            Resource: "*",
          },
          {
            Action: "iam:PassRole",
            Condition: { StringEquals: { "iam:PassedToService": "bedrock.amazonaws.com" } },
            Effect: "Allow",
            Resource: {
              "Fn::GetAtt": [
                stack.getLogicalId(
                  detector.node.findChild("InvocationLoggingRole").node.defaultChild as never,
                ),
                "Arn",
              ],
            },
          },
        ],
        Version: "2012-10-17",
      },
    });
  });
});

describe("the stack", () => {
  it("outputs the function, topic, dead-letter queue, log groups, dashboard, state table and label", () => {
    const app = new App();
    const stack = new DetectorStack(app, "Stack", { detector: { logGroupIdentifiers: [LOG_GROUP, "/b"] } });
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findOutputs("*")).sort()).toEqual(
      [
        "StateTableName",
        "AlertTopicArn",
        "DashboardUrl",
        "DeadLetterQueueUrl",
        "DetectorLabel",
        "FunctionName",
        "LogGroups",
      ].sort(),
    );
    template.hasOutput("LogGroups", { Value: `${LOG_GROUP},/b` });
    template.hasOutput("FunctionName", { Value: stack.resolve(stack.detector.function.functionName) });
  });
});
