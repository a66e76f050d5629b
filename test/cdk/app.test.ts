/** The app: defaults from the settings table, `-c` overrides, and one-line errors for bad context. */
import { App } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { SettingsError } from "../../config/setting-problems.js";
import {
  CONTEXT_PREFIX,
  DEFAULT_INVOCATION_LOG_GROUP_NAME,
  SETTINGS,
  type SettingKey,
  specOf,
} from "../../config/settings.js";
import { buildApp } from "../../lib/app.js";
import { CONTEXT_KEYS, readDetectorContext } from "../../lib/context.js";
import { ConstructError } from "../../lib/errors.js";
import { appWith, cdkJsonContext } from "./helpers.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function contextError(overrides: Record<string, unknown>): string {
  try {
    buildApp(appWith(overrides));
  } catch (err) {
    expect(err).toBeInstanceOf(ConstructError);
    // Every setting at fault is named by its context key.
    for (const name of (err as ConstructError).settings) expect(name.startsWith(CONTEXT_PREFIX)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a ConstructError");
}

describe("cdk.json", () => {
  it("restates no default and holds only known context keys", () => {
    const context = cdkJsonContext();
    const known = new Map(
      (Object.entries(CONTEXT_KEYS) as [SettingKey, string][]).map(([setting, key]) => [key, setting]),
    );
    for (const [key, value] of Object.entries(context)) {
      if (!key.startsWith(CONTEXT_PREFIX)) continue;
      const setting = known.get(key);
      expect(setting, `${key} is no context key`).toBeDefined();
      if (setting === undefined) continue;
      // Compared as canonical values: "1d" restates a default of 24 hours as much as "24h" does.
      const parsed = specOf(setting).kind.schema.safeParse(value);
      const isDefault =
        value === "" ||
        (parsed.success && JSON.stringify(parsed.data) === JSON.stringify(specOf(setting).default));
      expect(isDefault, `${key} restates the default (defaults live in config/settings.ts)`).toBe(false);
    }
  });

  it("bundles the handlers, then runs the app with tsx", async () => {
    const { readFileSync } = await import("node:fs");
    const { REPO_ROOT } = await import("./helpers.js");
    const command = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, "utf8")).app as string;
    // A deploy from the repository never ships handlers older than the sources.
    expect(command).toBe("node scripts/build.mjs assets && npx tsx bin/app.ts");
  });
});

describe("the app with no context (the settings' defaults)", () => {
  const stack = buildApp(new App());
  const template = Template.fromStack(stack);

  it("builds the BedrockDosDetector stack watching /aws/bedrock/model-invocations every 15 minutes", () => {
    expect(stack.stackName).toBe("BedrockDosDetector");
    // Every 15 minutes, 5 minutes (the settle delay) past the quarter hours.
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(5/15 * * * ? *)",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: {
          [ENV.logGroupIdentifiers]: "/aws/bedrock/model-invocations",
          [ENV.lookback]: "24h",
          [ENV.settleDelay]: "5m",
          [ENV.suppressFor]: "24h",
          [ENV.maxAlertsPerRun]: "25",
          [ENV.dryRun]: "false",
          [ENV.promptTokensThreshold]: "8000",
          [ENV.completionTokensThreshold]: "8000",
          [ENV.requestSizeThreshold]: "8000",
          [ENV.minRequests]: "2",
          [ENV.alertTopicArn]: { Ref: Match.anyValue() },
          [ENV.stateTable]: { Ref: Match.anyValue() },
          POWERTOOLS_SERVICE_NAME: "bedrock-dos-detector",
          POWERTOOLS_METRICS_NAMESPACE: "BedrockDosDetector",
          NODE_OPTIONS: "--enable-source-maps",
        },
      },
      Timeout: 600,
      MemorySize: 512,
    });
    template.resourceCountIs("Custom::AWS", 0);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("is the app cdk.json gives", () => {
    expect(Template.fromStack(buildApp(appWith())).toJSON()).toEqual(template.toJSON());
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
      functionMemorySize: "1024",
      functionLogRetentionDays: "90",
      heartbeatLogGroup: "/custom/bedrock",
      maxLogSilence: "12h",
      stackName: "BedrockDosDetectorProd",
    });
    const config = readDetectorContext(app.node, {});
    expect(config.stackName).toBe("BedrockDosDetectorProd");
    expect(config.plan.settings).toMatchObject({
      logGroups: ["/custom/bedrock", "arn:aws:logs:eu-west-1:111122223333:log-group:shared"],
      enableInvocationLogging: false,
      alertEmails: ["sec@example.com", "oncall@example.com"],
      slackWorkspaceId: "T012AB3CD",
      slackChannelId: "C0123ABCDEF",
      promptTokensThreshold: 16000,
      completionTokensThreshold: 12000,
      requestSizeThreshold: 20000,
      minRequests: 5,
      maxAlertsPerRun: 10,
      dryRun: true,
      excludedAccountIds: ["123456789012"],
      excludedIdentityPatterns: ["arn:aws:sts::123456789012:assumed-role/batch/*"],
      functionMemorySize: 1024,
      functionLogRetentionDays: 90,
      heartbeatLogGroup: "/custom/bedrock",
      // Durations in milliseconds.
      schedule: 30 * MINUTE,
      lookback: 6 * HOUR,
      settleDelay: 10 * MINUTE,
      suppressFor: 12 * HOUR,
      functionTimeout: 5 * MINUTE,
      maxLogSilence: 12 * HOUR,
    });
    // No group is created: exactly the listed groups are queried.
    expect(config.plan.logGroupIdentifiers).toEqual([
      "/custom/bedrock",
      "arn:aws:logs:eu-west-1:111122223333:log-group:shared",
    ]);
    expect(config.plan.heartbeat).toEqual({ name: "/custom/bedrock" });
    const template = Template.fromStack(buildApp(app));
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(10/30 * * * ? *)",
    });
    template.hasResourceProperties("AWS::Lambda::Function", { Timeout: 300, MemorySize: 1024 });
    template.resourceCountIs("AWS::SNS::Subscription", 2);
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 1);
    template.resourceCountIs("Custom::AWS", 0);
  });

  it("with enableInvocationLogging, creates invocationLogGroupName and queries the logGroups too", () => {
    const app = appWith({
      enableInvocationLogging: "true",
      invocationLogGroupName: "/bedrock/new",
      logGroups: "/bedrock/old",
      invocationLogRetentionDays: "30",
    });
    const config = readDetectorContext(app.node, {});
    expect(config.plan.settings).toMatchObject({
      enableInvocationLogging: true,
      invocationLogGroupName: "/bedrock/new",
      invocationLogRetentionDays: 30,
      logGroups: ["/bedrock/old"],
    });
    // The created group first.
    expect(config.plan.logGroupIdentifiers).toEqual(["/bedrock/new", "/bedrock/old"]);
    const template = Template.fromStack(buildApp(app));
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/bedrock/new",
      RetentionInDays: 30,
    });
    template.resourceCountIs("Custom::AWS", 1);
  });

  it("with enableInvocationLogging alone, creates /aws/bedrock/model-invocations and queries only it", () => {
    const config = readDetectorContext(appWith({ enableInvocationLogging: "true" }).node, {});
    expect(config.plan.settings.invocationLogGroupName).toBe(DEFAULT_INVOCATION_LOG_GROUP_NAME);
    expect(config.plan.logGroupIdentifiers).toEqual([DEFAULT_INVOCATION_LOG_GROUP_NAME]);
    expect(config.plan.heartbeat).toEqual({ name: DEFAULT_INVOCATION_LOG_GROUP_NAME });
  });

  it("treats empty strings as unset: the defaults apply", () => {
    const config = readDetectorContext(
      appWith({ slackWorkspaceId: "", alertEmails: "", schedule: "", logGroups: "" }).node,
      {},
    );
    expect(config.plan.settings.slackWorkspaceId).toBeUndefined();
    expect(config.plan.settings.alertEmails).toEqual([]);
    expect(config.plan.settings.schedule).toBe(SETTINGS.schedule.default);
    expect(config.plan.settings.schedule).toBe(15 * MINUTE);
    expect(config.plan.logGroupIdentifiers).toEqual([DEFAULT_INVOCATION_LOG_GROUP_NAME]);
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
      "a key that is a construct prop, not a context key",
      { memorySize: "1024" },
      /unknown context key bedrockDosDetector:memorySize; known keys: .*functionMemorySize/,
    ],
    [
      "a bad duration",
      { schedule: "hourly" },
      /bedrockDosDetector:schedule is not a duration like 90m, 24h or 7d: "hourly"/,
    ],
    ["a bad boolean", { dryRun: "yes" }, /bedrockDosDetector:dryRun must be true or false, got "yes"/],
    [
      "a bad number",
      { minRequests: "two" },
      /bedrockDosDetector:minRequests must be a whole number from 1 to [\d,]+, got "two"/,
    ],
    [
      "a zero number",
      { promptTokensThreshold: 0 },
      /bedrockDosDetector:promptTokensThreshold must be a whole number from 1 to [\d,]+, got 0/,
    ],
    [
      "too little memory",
      { functionMemorySize: "64" },
      /bedrockDosDetector:functionMemorySize must be a whole number from 128 to 10,240, got "64"/,
    ],
    [
      "a bad retention",
      { functionLogRetentionDays: "45" },
      /bedrockDosDetector:functionLogRetentionDays must be a CloudWatch Logs retention \(1, 3, 5, 7, .*\), got 45/,
    ],
    ["a bad JSON list", { alertEmails: "[oops" }, /bedrockDosDetector:alertEmails is not a valid JSON array/],
    [
      "a list of numbers",
      { excludedAccountIds: [123] },
      /bedrockDosDetector:excludedAccountIds must be a list of strings/,
    ],
    [
      "a bad stack name",
      { stackName: "my stack" },
      /bedrockDosDetector:stackName must be a stack name .*, got "my stack"/,
    ],
    [
      "an ARN as the group to create",
      {
        enableInvocationLogging: true,
        invocationLogGroupName: "arn:aws:logs:us-east-1:123456789012:log-group:x",
      },
      /bedrockDosDetector:invocationLogGroupName must be a log group name, got "arn:/,
    ],
    [
      "no log groups (an empty cdk.json list)",
      { logGroups: [] },
      /bedrockDosDetector:logGroups is empty: name at least one log group.*or set bedrockDosDetector:enableInvocationLogging true/,
    ],
    [
      "no log groups (a -c list of blanks)",
      { logGroups: " , " },
      /bedrockDosDetector:logGroups is empty: name at least one log group/,
    ],
    [
      "the created group listed again",
      { enableInvocationLogging: "true", logGroups: "/aws/bedrock/model-invocations" },
      /bedrockDosDetector:logGroups lists "\/aws\/bedrock\/model-invocations", the log group bedrockDosDetector:enableInvocationLogging creates: leave it out/,
    ],
    [
      "an invocation log retention without enableInvocationLogging",
      { invocationLogRetentionDays: 30 },
      /bedrockDosDetector:invocationLogRetentionDays is only valid with bedrockDosDetector:enableInvocationLogging true/,
    ],
    [
      "a bad email",
      { alertEmails: "ops@" },
      /bedrockDosDetector:alertEmails has "ops@", which is not an email address/,
    ],
    [
      "half a Slack channel",
      { slackChannelId: "C0123ABCDEF" },
      /bedrockDosDetector:slackWorkspaceId and bedrockDosDetector:slackChannelId go together/,
    ],
    [
      "a schedule shorter than the timeout",
      { schedule: "5m" },
      /bedrockDosDetector:schedule \(5m\) is shorter than bedrockDosDetector:functionTimeout \(10m\)/,
    ],
    [
      "a lookback shorter than the schedule",
      { schedule: "24h", lookback: "12h" },
      /bedrockDosDetector:lookback \(12h\) must be a whole number of bedrockDosDetector:schedule periods \(24h\)/,
    ],
    [
      "a bad account exclusion",
      { excludedAccountIds: "42" },
      /bedrockDosDetector:excludedAccountIds has "42", which is not a 12-digit account id/,
    ],
    [
      "a function timeout over 15 minutes",
      { functionTimeout: "20m" },
      /bedrockDosDetector:functionTimeout must be whole seconds from 1m to 15m, got 20m/,
    ],
  ])("rejects %s with one line naming the key", (_, overrides, message) => {
    expect(contextError(overrides)).toMatch(message);
  });

  it("names context keys instead of construct props", () => {
    // thresholds.promptTokens and timeout are the props of these settings.
    const message = contextError({ promptTokensThreshold: 0, functionTimeout: "20m" });
    expect(message).toMatch(
      /^bedrockDosDetector:promptTokensThreshold must be .*; bedrockDosDetector:functionTimeout must be /,
    );
    expect(message).not.toContain("thresholds.");
    expect(message).not.toMatch(/(^|; )timeout /);
    // A problem naming another setting names it as a context key too.
    const problem = new SettingsError(
      [{ setting: "schedule", message: "(5m) is shorter than {functionTimeout} (10m)" }],
      "prop",
    );
    expect(problem.message).toBe("schedule (5m) is shorter than timeout (10m)");
    expect(problem.as("context").message).toBe(
      "bedrockDosDetector:schedule (5m) is shorter than bedrockDosDetector:functionTimeout (10m)",
    );
  });

  it("reports the root cause first: the setting given, then what the defaults run into", () => {
    // lookback (24h, the default) is no whole number of 7m periods only because of the schedule given.
    const message = contextError({ schedule: "7m" });
    expect(message).toMatch(/^bedrockDosDetector:schedule must divide an hour/);
    expect(message.indexOf("bedrockDosDetector:lookback")).toBeGreaterThan(
      message.indexOf("functionTimeout"),
    );
  });
});

describe("synth warnings", () => {
  it("name the setting as a context key too", () => {
    const stack = buildApp(appWith({ logGroups: "arn:aws:logs:eu-west-1:111122223333:log-group:shared" }));
    const warnings = Annotations.fromStack(stack)
      .findWarning("*", Match.anyValue())
      .map((w) => String(w.entry.data));
    const heartbeat = warnings.find((w) => w.includes("invocation logs stopped"));
    expect(heartbeat).toContain("bedrockDosDetector:heartbeatLogGroup");
    expect(warnings.find((w) => w.includes("no Slack channel"))).toContain("bedrockDosDetector:alertEmails");
  });
});
