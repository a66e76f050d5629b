/** Prop validation: every bad value fails at synth time with a message naming the prop. */
import { App, Duration, Stack } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import type { Home } from "../../config/cross-rules.js";
import { ENV, toEnvironment } from "../../config/environment.js";
import { formatDuration } from "../../config/kinds.js";
import { SettingsError } from "../../config/setting-problems.js";
import { DEFAULT_INVOCATION_LOG_GROUP_NAME, nameOf } from "../../config/settings.js";
import { BedrockDosDetector, type BedrockDosDetectorProps, ConstructError } from "../../lib/index.js";
import { planDetector, propsToInput } from "../../lib/props.js";

const OK: BedrockDosDetectorProps = { logGroupIdentifiers: ["/aws/bedrock/model-invocations"] };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The props as the construct validates them: in its own words, for a stack of `home`. */
const plan = (props: BedrockDosDetectorProps, home: Home = {}) =>
  planDetector(propsToInput(props), "prop", home);

function problem(props: BedrockDosDetectorProps, home: Home = {}): string {
  try {
    plan(props, home);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    const error = err as SettingsError;
    expect(error.surface).toBe("prop");
    expect(error.problems.length).toBeGreaterThan(0);
    // The message starts with the name of the first prop at fault.
    const first = error.problems[0];
    if (first) expect(error.message.startsWith(`${nameOf(first.setting, "prop")} `)).toBe(true);
    return error.message;
  }
  throw new Error("expected a SettingsError");
}

describe("prop validation", () => {
  it.each<[string, BedrockDosDetectorProps, RegExp]>([
    ["no log groups", { logGroupIdentifiers: [] }, /logGroupIdentifiers is empty.*enableInvocationLogging/],
    [
      "a blank log group",
      { logGroupIdentifiers: ["/a", " "] },
      /logGroupIdentifiers contains an empty entry/,
    ],
    [
      "too many log groups",
      { logGroupIdentifiers: Array.from({ length: 51 }, (_, i) => `/g${i}`) },
      /logGroupIdentifiers lists 51 log groups.*at most 50/,
    ],
    ["a duplicate log group", { logGroupIdentifiers: ["/a", "/a"] }, /lists the log group "\/a" twice/],
    [
      "the same ARN twice (with and without the console's :* suffix)",
      {
        logGroupIdentifiers: [
          "arn:aws:logs:us-east-1:111122223333:log-group:/a:*",
          "arn:aws:logs:us-east-1:111122223333:log-group:/a",
        ],
      },
      /lists the log group "arn:aws:logs:us-east-1:111122223333:log-group:\/a" twice/,
    ],
    [
      "a bad log group name",
      { logGroupIdentifiers: ["not a group!"] },
      /logGroupIdentifiers has "not a group!", which is not a log group name or ARN/,
    ],
    [
      "the created group listed again",
      { enableInvocationLogging: true, logGroupIdentifiers: ["/aws/bedrock/model-invocations"] },
      /logGroupIdentifiers lists "\/aws\/bedrock\/model-invocations", the log group enableInvocationLogging creates: leave it out/,
    ],
    [
      "invocationLogGroupName without enableInvocationLogging",
      { ...OK, invocationLogGroupName: "/x" },
      /invocationLogGroupName is only valid with enableInvocationLogging true/,
    ],
    [
      "an ARN as the name of the group to create",
      {
        enableInvocationLogging: true,
        invocationLogGroupName: "arn:aws:logs:us-east-1:123456789012:log-group:x",
      },
      /invocationLogGroupName must be a log group name, got "arn:/,
    ],
    [
      "invocationLogRetention without enableInvocationLogging",
      { ...OK, invocationLogRetention: logs.RetentionDays.ONE_DAY },
      /invocationLogRetention is only valid with enableInvocationLogging true/,
    ],
    [
      "a model threshold that is not prefix=prompt/size/completion",
      { ...OK, modelThresholds: ["anthropic.claude=32000/8000"] },
      /modelThresholds has "anthropic.claude=32000\/8000", which is not model-key-prefix=<prompt tokens>\/<request size>\/<completion tokens>/,
    ],
    [
      "one model prefix with two sets of thresholds",
      { ...OK, modelThresholds: ["anthropic=9000/9000/9000", "anthropic=1/1/1"] },
      /modelThresholds has "anthropic=9000\/9000\/9000" and "anthropic=1\/1\/1": give anthropic once/,
    ],
    ["no tokens per hour", { ...OK, tokensPerHour: 0 }, /tokensPerHour must be a whole number from 1 to/],
    [
      "a bad email",
      { ...OK, alertEmails: ["ops@example.com", "not-an-email"] },
      /alertEmails has "not-an-email", which is not an email address/,
    ],
    [
      "two emails in one entry",
      { ...OK, alertEmails: ["a@example.com,b@example.com"] },
      /alertEmails has "a@example.com,b@example.com", which is not an email address/,
    ],
    [
      "a workspace without a channel",
      { ...OK, slackWorkspaceId: "T012AB3CD" },
      /slackWorkspaceId and slackChannelId go together: give both or neither/,
    ],
    [
      "a channel without a workspace",
      { ...OK, slackChannelId: "C0123ABCDEF" },
      /slackWorkspaceId and slackChannelId go together: give both or neither/,
    ],
    [
      "a bad workspace id",
      { ...OK, slackWorkspaceId: "my-team", slackChannelId: "C0123ABCDEF" },
      /slackWorkspaceId must be a Slack workspace id .*, got "my-team"/,
    ],
    [
      "a bad channel id",
      { ...OK, slackWorkspaceId: "T012AB3CD", slackChannelId: "#alerts" },
      /slackChannelId must be a Slack channel id .*, got "#alerts"/,
    ],
    [
      "a schedule in seconds",
      { ...OK, schedule: Duration.seconds(90) },
      /schedule must be whole minutes from 1m to 24h, got 90s/,
    ],
    [
      "a schedule over a day",
      { ...OK, schedule: Duration.hours(25) },
      /schedule must be whole minutes from 1m to 24h, got 25h/,
    ],
    [
      "a schedule shorter than the timeout",
      { ...OK, schedule: Duration.minutes(5) },
      /schedule \(5m\) is shorter than timeout \(10m\): a run could still be going/,
    ],
    [
      "a timeout over 15 minutes",
      { ...OK, timeout: Duration.minutes(16) },
      /timeout must be whole seconds from 1m to 15m, got 16m/,
    ],
    [
      "a lookback shorter than the schedule",
      { ...OK, schedule: Duration.hours(6), lookback: Duration.hours(1) },
      /lookback \(1h\) must be a whole number of schedule periods \(6h\)/,
    ],
    [
      "a lookback over 31 days",
      { ...OK, lookback: Duration.days(32) },
      /lookback must be at most 31d for the scheduled detector, got 32d/,
    ],
    [
      "a settle delay over 6 hours",
      { ...OK, settleDelay: Duration.hours(7) },
      /settleDelay must be whole minutes from 1m to 6h, got 7h/,
    ],
    [
      "a zero suppression",
      { ...OK, suppressFor: Duration.seconds(0) },
      /suppressFor must be whole seconds from 1s to 31d, got 0/,
    ],
    [
      "a zero threshold",
      { ...OK, thresholds: { promptTokens: 0 } },
      /thresholds.promptTokens must be a whole number from 1/,
    ],
    [
      "a fractional threshold",
      { ...OK, thresholds: { requestSize: 1.5 } },
      /thresholds.requestSize must be a whole number/,
    ],
    ["a zero minRequests", { ...OK, minRequests: 0 }, /minRequests must be a whole number from 1/],
    [
      "too many alerts per run",
      { ...OK, maxAlertsPerRun: 1001 },
      /maxAlertsPerRun must be a whole number from 1 to 1,000/,
    ],
    [
      "too little memory",
      { ...OK, memorySize: 64 },
      /memorySize must be a whole number from 128 to 10,240, got 64/,
    ],
    [
      "a log silence in minutes",
      { ...OK, maxLogSilence: Duration.minutes(90) },
      /maxLogSilence must be whole hours from 1h to 7d, got 90m/,
    ],
    [
      "a log silence over 7 days",
      { ...OK, maxLogSilence: Duration.days(8) },
      /maxLogSilence must be whole hours from 1h to 7d, got 8d/,
    ],
    [
      "a bad heartbeat log group",
      { ...OK, heartbeatLogGroupName: "a b" },
      /heartbeatLogGroupName must be a log group name, got "a b"/,
    ],
    // The same settings the handler reads, reported under the prop's name.
    [
      "a bad excluded account",
      { ...OK, excludedAccountIds: ["1234"] },
      /excludedAccountIds has "1234", which is not a 12-digit account id/,
    ],
    [
      "a bad identity pattern",
      { ...OK, excludedIdentityPatterns: ["ci-runner"] },
      /excludedIdentityPatterns has "ci-runner", which is not an IAM\/STS ARN pattern/,
    ],
  ])("rejects %s", (_, props, message) => {
    const text = problem(props);
    expect(text).toMatch(message);
    expect(text).not.toContain("\n");
  });

  it("rejects a name and the same group's ARN in the stack's own account and region", () => {
    const home = { account: "123456789012", region: "us-east-1" };
    const ids = ["/a", "arn:aws:logs:us-east-1:123456789012:log-group:/a:*"];
    expect(problem({ logGroupIdentifiers: ids }, home)).toMatch(
      /logGroupIdentifiers lists the log group "arn:aws:logs:us-east-1:123456789012:log-group:\/a:\*" twice/,
    );
    // The same name in another account (or region) is another group.
    expect(() => plan({ logGroupIdentifiers: ids }, { ...home, account: "210987654321" })).not.toThrow();
    expect(() => plan({ logGroupIdentifiers: ids }, { ...home, region: "eu-west-1" })).not.toThrow();
  });

  it("lists every problem at once", () => {
    const text = problem({ logGroupIdentifiers: [], minRequests: 0, slackChannelId: "C0123ABCDEF" });
    for (const part of [
      /logGroupIdentifiers is empty/,
      /slackWorkspaceId and slackChannelId go together/,
      /minRequests must be a whole number/,
    ]) {
      expect(text).toMatch(part);
    }
    expect(text.split("; ")).toHaveLength(3);
  });

  it("lists every problem with single props at once", () => {
    const text = problem({ ...OK, minRequests: 0, memorySize: 64, schedule: Duration.seconds(90) });
    expect(text).toMatch(/minRequests must be .*; schedule must be .*; memorySize must be /);
  });

  it("throws from the construct, before any resource is created", () => {
    const stack = new Stack(new App(), "S");
    let thrown: unknown;
    try {
      new BedrockDosDetector(stack, "D", { logGroupIdentifiers: [], minRequests: 0 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConstructError);
    const error = thrown as ConstructError;
    expect(error.message).toMatch(/^minRequests must be .*; logGroupIdentifiers is empty/);
    // Each prop at fault, in the construct's words; the settings' own error as the cause.
    expect(error.settings).toEqual(["minRequests", "logGroupIdentifiers"]);
    expect(error.cause).toBeInstanceOf(SettingsError);
    expect(stack.node.findChild("D").node.children).toEqual([]);
  });

  it("accepts the defaults and fills them in", () => {
    const resolved = plan(OK);
    expect(resolved.settings.schedule).toBe(15 * MINUTE);
    expect(resolved.settings.functionTimeout).toBe(10 * MINUTE);
    expect(resolved.settings.functionMemorySize).toBe(512);
    expect(resolved.heartbeat).toEqual({ name: "/aws/bedrock/model-invocations" });
    expect(resolved.settings.maxLogSilence).toBe(24 * HOUR);
    expect(resolved.settings).toMatchObject({ lookback: DAY, settleDelay: 5 * MINUTE, suppressFor: DAY });
    // Written for the function in the handler's duration syntax.
    expect(toEnvironment(resolved.settings)).toMatchObject({
      [ENV.lookback]: "24h",
      [ENV.settleDelay]: "5m",
      [ENV.suppressFor]: "24h",
      [ENV.schedule]: "15m",
    });
    expect(resolved.settings.slackWorkspaceId).toBeUndefined();
    expect(resolved.settings.slackChannelId).toBeUndefined();
    expect(resolved.settings.enableInvocationLogging).toBe(false);
    expect(resolved.logGroupIdentifiers).toEqual(["/aws/bedrock/model-invocations"]);
  });

  it("accepts no props at all, watching /aws/bedrock/model-invocations", () => {
    const resolved = plan({});
    expect(resolved.logGroupIdentifiers).toEqual([DEFAULT_INVOCATION_LOG_GROUP_NAME]);
    expect(resolved.heartbeat).toEqual({ name: DEFAULT_INVOCATION_LOG_GROUP_NAME });
  });

  it("accepts the limits", () => {
    expect(() =>
      plan({
        logGroupIdentifiers: Array.from({ length: 50 }, (_, i) => `/g${i}`),
        schedule: Duration.hours(24),
        lookback: Duration.days(31),
        timeout: Duration.minutes(15),
        settleDelay: Duration.hours(6),
        maxAlertsPerRun: 1000,
        maxLogSilence: Duration.days(7),
        alertEmails: ["first.last+tag@sub.example.co.uk"],
        slackWorkspaceId: "T012AB3CD",
        slackChannelId: "C0123ABCDEF",
      }),
    ).not.toThrow();
    expect(() => plan({ ...OK, schedule: Duration.minutes(1), timeout: Duration.minutes(1) })).not.toThrow();
  });

  it("formats durations in the handler's syntax", () => {
    expect(formatDuration(Duration.days(2).toMilliseconds())).toBe("2d");
    expect(formatDuration(Duration.hours(36).toMilliseconds())).toBe("36h");
    expect(formatDuration(Duration.minutes(90).toMilliseconds())).toBe("90m");
    expect(formatDuration(Duration.seconds(61).toMilliseconds())).toBe("61s");
  });
});
