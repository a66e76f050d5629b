/** The app: cdk.json defaults, `-c` overrides, and one-line errors for bad context. */
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../config/settings.js";
import { buildApp, inContextTerms } from "../../lib/app.js";
import { CONTEXT_KEYS, ContextError, readDetectorContext } from "../../lib/context.js";
import { cdkJsonContext, NO_BUNDLING } from "./helpers.js";

/** The app as `cdk synth` builds it: cdk.json context, then the overrides (as strings, like `-c`). */
function appWith(overrides: Record<string, unknown> = {}): App {
  const context: Record<string, unknown> = { ...cdkJsonContext(), ...NO_BUNDLING };
  for (const [k, v] of Object.entries(overrides)) context[`bedrockDosDetector:${k}`] = v;
  return new App({ context });
}

function contextError(overrides: Record<string, unknown>): string {
  try {
    buildApp(appWith(overrides));
  } catch (err) {
    expect(err).toBeInstanceOf(ContextError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a ContextError");
}

describe("cdk.json", () => {
  it("sets a default for every context key, and only known keys", () => {
    const keys = Object.keys(cdkJsonContext()).filter((k) => k.startsWith("bedrockDosDetector:"));
    expect(keys.sort()).toEqual(Object.values(CONTEXT_KEYS).sort());
  });

  it("runs the app with tsx", async () => {
    const { readFileSync } = await import("node:fs");
    const { REPO_ROOT } = await import("./helpers.js");
    expect(JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, "utf8")).app).toBe("npx tsx bin/app.ts");
  });
});

describe("the app with cdk.json defaults", () => {
  const stack = buildApp(appWith());
  const template = Template.fromStack(stack);

  it("builds the BedrockDosDetector stack watching /aws/bedrock/model-invocations hourly", () => {
    expect(stack.stackName).toBe("BedrockDosDetector");
    template.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(1 hour)" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: {
          [ENV.logGroupIdentifiers]: "/aws/bedrock/model-invocations",
          [ENV.lookback]: "1d",
          [ENV.settleDelay]: "5m",
          [ENV.suppressFor]: "1d",
          [ENV.maxAlertsPerRun]: "25",
          [ENV.dryRun]: "false",
          [ENV.promptTokensThreshold]: "8000",
          [ENV.completionTokensThreshold]: "8000",
          [ENV.requestSizeThreshold]: "8000",
          [ENV.minRequests]: "2",
          [ENV.alertTopicArn]: { Ref: Match.anyValue() },
          [ENV.alertStateTable]: { Ref: Match.anyValue() },
          POWERTOOLS_SERVICE_NAME: "bedrock-dos-detector",
          POWERTOOLS_METRICS_NAMESPACE: "BedrockDosDetector",
          NODE_OPTIONS: "--enable-source-maps",
        },
      },
      Timeout: 600,
    });
    template.resourceCountIs("Custom::AWS", 0);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });
});

describe("context overrides", () => {
  it("reads -c strings: lists, booleans, numbers and durations", () => {
    const app = appWith({
      logGroups: "/custom/bedrock, arn:aws:logs:eu-west-1:111122223333:log-group:shared",
      alertEmails: "sec@example.com,oncall@example.com",
      slackWorkspaceId: "T012AB3CD",
      slackChannelId: "C0123ABCDEF",
      schedule: "30m",
      lookback: "6h",
      settleDelay: "10m",
      suppressFor: "12h",
      promptTokensThreshold: "16000",
      completionTokensThreshold: "12000",
      requestSizeThreshold: "20000",
      minRequests: "5",
      maxAlertsPerRun: "10",
      dryRun: "true",
      excludedAccountIds: "123456789012",
      excludedIdentityPatterns: '["arn:aws:sts::123456789012:assumed-role/batch/*"]',
      functionTimeout: "5m",
      functionLogRetentionDays: "90",
      heartbeatLogGroup: "/custom/bedrock",
      maxLogSilence: "12h",
      stackName: "BedrockDosDetectorProd",
    });
    const config = readDetectorContext(app.node);
    expect(config.stackName).toBe("BedrockDosDetectorProd");
    expect(config.detector).toMatchObject({
      logGroupIdentifiers: ["/custom/bedrock", "arn:aws:logs:eu-west-1:111122223333:log-group:shared"],
      enableInvocationLogging: false,
      invocationLogGroupName: undefined,
      alertEmails: ["sec@example.com", "oncall@example.com"],
      slackWorkspaceId: "T012AB3CD",
      slackChannelId: "C0123ABCDEF",
      thresholds: { promptTokens: 16000, completionTokens: 12000, requestSize: 20000 },
      minRequests: 5,
      maxAlertsPerRun: 10,
      dryRun: true,
      excludedAccountIds: ["123456789012"],
      excludedIdentityPatterns: ["arn:aws:sts::123456789012:assumed-role/batch/*"],
      functionLogRetention: 90,
      heartbeatLogGroupName: "/custom/bedrock",
    });
    expect(config.detector.schedule?.toMinutes()).toBe(30);
    expect(config.detector.lookback?.toHours()).toBe(6);
    expect(config.detector.settleDelay?.toMinutes()).toBe(10);
    expect(config.detector.suppressFor?.toHours()).toBe(12);
    expect(config.detector.timeout?.toMinutes()).toBe(5);
    expect(config.detector.maxLogSilence?.toHours()).toBe(12);
    const template = Template.fromStack(buildApp(app));
    template.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(30 minutes)" });
    template.resourceCountIs("AWS::SNS::Subscription", 2);
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 1);
  });

  it("with enableInvocationLogging, creates the first log group and queries the rest too", () => {
    const config = readDetectorContext(
      appWith({
        enableInvocationLogging: "true",
        logGroups: "/bedrock/new,/bedrock/old",
        invocationLogRetentionDays: "30",
      }).node,
    );
    expect(config.detector).toMatchObject({
      enableInvocationLogging: true,
      invocationLogGroupName: "/bedrock/new",
      invocationLogRetention: 30,
      logGroupIdentifiers: ["/bedrock/old"],
    });
  });

  it("ignores the invocation log retention when the stack does not create the group", () => {
    const config = readDetectorContext(appWith({ invocationLogRetentionDays: 30 }).node);
    expect(config.detector.invocationLogRetention).toBeUndefined();
  });

  it("treats empty strings as unset", () => {
    const config = readDetectorContext(appWith({ slackWorkspaceId: "", alertEmails: "", schedule: "" }).node);
    expect(config.detector.slackWorkspaceId).toBeUndefined();
    expect(config.detector.alertEmails).toBeUndefined();
    expect(config.detector.schedule).toBeUndefined();
  });
});

describe("bad context", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "an unknown key",
      { schedul: "1h" },
      /unknown context key bedrockDosDetector:schedul; known keys: .*schedule/,
    ],
    [
      "a bad duration",
      { schedule: "hourly" },
      /context bedrockDosDetector:schedule "hourly" is not a duration like 90m, 24h or 7d/,
    ],
    [
      "a bad boolean",
      { dryRun: "yes" },
      /context bedrockDosDetector:dryRun must be true or false, got "yes"/,
    ],
    [
      "a bad number",
      { minRequests: "two" },
      /context bedrockDosDetector:minRequests must be a whole number greater than 0/,
    ],
    [
      "a zero number",
      { promptTokensThreshold: 0 },
      /context bedrockDosDetector:promptTokensThreshold must be a whole number greater than 0/,
    ],
    [
      "a bad retention",
      { functionLogRetentionDays: "45" },
      /CloudWatch Logs has no 45-day retention; use one of 1, 3, 5, 7/,
    ],
    [
      "a bad JSON list",
      { alertEmails: "[oops" },
      /context bedrockDosDetector:alertEmails is not a valid JSON array/,
    ],
    ["a list of numbers", { excludedAccountIds: [123] }, /must be a list of strings/],
    [
      "a bad stack name",
      { stackName: "my stack" },
      /context bedrockDosDetector:stackName "my stack" is not a stack name/,
    ],
    [
      "an ARN as the group to create",
      { enableInvocationLogging: true, logGroups: "arn:aws:logs:us-east-1:123456789012:log-group:x" },
      /with enableInvocationLogging=true the first entry is the log group to create and must be a name/,
    ],
    [
      "no log groups",
      { logGroups: "" },
      /bedrockDosDetector:logGroups is empty: name at least one log group/,
    ],
    [
      "no group to create",
      { enableInvocationLogging: "true", logGroups: "" },
      /bedrockDosDetector:logGroups is empty: with enableInvocationLogging=true/,
    ],
    [
      "a bad email",
      { alertEmails: "ops@" },
      /bedrockDosDetector:alertEmails: "ops@" is not an email address/,
    ],
    [
      "half a Slack channel",
      { slackChannelId: "C0123ABCDEF" },
      /slackWorkspaceId and slackChannelId go together/,
    ],
    [
      "a schedule shorter than the timeout",
      { schedule: "5m" },
      /schedule \(5 minutes\) is shorter than the function timeout \(10 minutes\)/,
    ],
    [
      "a lookback shorter than the schedule",
      { schedule: "24h", lookback: "12h" },
      /lookback \(12 hours\) is shorter than the schedule/,
    ],
    [
      "a bad account exclusion",
      { excludedAccountIds: "42" },
      /bedrockDosDetector:excludedAccountIds "42" is not a 12-digit account id/,
    ],
    [
      "a bad threshold for the handler",
      { functionTimeout: "20m" },
      /bedrockDosDetector:functionTimeout must be between 1 and 15 minutes/,
    ],
  ])("rejects %s with one line naming the key", (_, overrides, message) => {
    expect(contextError(overrides)).toMatch(message);
  });

  it("names context keys instead of construct props", () => {
    expect(
      inContextTerms(
        "BedrockDosDetector: thresholds.promptTokens must be 1+; timeout must be short; alertEmails: bad; the schedule",
      ),
    ).toBe(
      "bedrockDosDetector:promptTokensThreshold must be 1+; bedrockDosDetector:functionTimeout must be short; " +
        "bedrockDosDetector:alertEmails: bad; the schedule",
    );
  });
});
