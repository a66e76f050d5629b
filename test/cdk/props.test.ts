/** Prop validation: every bad value fails at synth time with a message naming the prop. */
import { App, Duration, Stack } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import {
  BedrockDosDetector,
  type BedrockDosDetectorProps,
  DetectorPropsError,
  formatDuration,
  resolveDetectorProps,
} from "../../lib/bedrock-dos-detector.js";
import { NO_BUNDLING } from "./helpers.js";

const OK: BedrockDosDetectorProps = { logGroupIdentifiers: ["/aws/bedrock/model-invocations"] };

function problem(props: BedrockDosDetectorProps): string {
  try {
    resolveDetectorProps(props);
  } catch (err) {
    expect(err).toBeInstanceOf(DetectorPropsError);
    return (err as Error).message;
  }
  throw new Error("expected a DetectorPropsError");
}

describe("prop validation", () => {
  it.each<[string, BedrockDosDetectorProps, RegExp]>([
    ["no log groups", { logGroupIdentifiers: [] }, /logGroupIdentifiers is empty.*enableInvocationLogging/],
    ["no props at all", {}, /logGroupIdentifiers is empty/],
    [
      "a blank log group",
      { logGroupIdentifiers: ["/a", " "] },
      /logGroupIdentifiers contains an empty entry/,
    ],
    [
      "too many log groups",
      { logGroupIdentifiers: Array.from({ length: 51 }, (_, i) => `/g${i}`) },
      /at most 50 log groups.*got 51/,
    ],
    ["a duplicate log group", { logGroupIdentifiers: ["/a", "/a"] }, /lists "\/a" twice/],
    [
      "a name and the same group's ARN",
      { logGroupIdentifiers: ["/a", "arn:aws:logs:us-east-1:123456789012:log-group:/a:*"] },
      /twice/,
    ],
    [
      "a bad log group name",
      { logGroupIdentifiers: ["not a group!"] },
      /logGroupIdentifiers "not a group!" is not a log group name or ARN/,
    ],
    [
      "the created group listed again",
      { enableInvocationLogging: true, logGroupIdentifiers: ["/aws/bedrock/model-invocations"] },
      /the log group enableInvocationLogging creates: leave it out/,
    ],
    [
      "invocationLogGroupName without enableInvocationLogging",
      { ...OK, invocationLogGroupName: "/x" },
      /invocationLogGroupName is only valid with enableInvocationLogging: true/,
    ],
    [
      "an ARN as the name of the group to create",
      {
        enableInvocationLogging: true,
        invocationLogGroupName: "arn:aws:logs:us-east-1:123456789012:log-group:x",
      },
      /invocationLogGroupName "arn:.*" is not a log group name/,
    ],
    [
      "invocationLogRetention without enableInvocationLogging",
      { ...OK, invocationLogRetention: logs.RetentionDays.ONE_DAY },
      /invocationLogRetention is only valid with enableInvocationLogging: true/,
    ],
    [
      "a bad email",
      { ...OK, alertEmails: ["ops@example.com", "not-an-email"] },
      /alertEmails: "not-an-email" is not an email address/,
    ],
    [
      "two emails in one entry",
      { ...OK, alertEmails: ["a@example.com,b@example.com"] },
      /is not an email address/,
    ],
    ["a workspace without a channel", { ...OK, slackWorkspaceId: "T012AB3CD" }, /give both or neither/],
    ["a channel without a workspace", { ...OK, slackChannelId: "C0123ABCDEF" }, /give both or neither/],
    [
      "a bad workspace id",
      { ...OK, slackWorkspaceId: "my-team", slackChannelId: "C0123ABCDEF" },
      /slackWorkspaceId "my-team" is not a Slack workspace id/,
    ],
    [
      "a bad channel id",
      { ...OK, slackWorkspaceId: "T012AB3CD", slackChannelId: "#alerts" },
      /slackChannelId "#alerts" is not a Slack channel id/,
    ],
    [
      "a schedule in seconds",
      { ...OK, schedule: Duration.seconds(90) },
      /schedule must be a whole number of minutes/,
    ],
    ["a schedule over a day", { ...OK, schedule: Duration.hours(25) }, /schedule must be at most 24 hours/],
    [
      "a schedule shorter than the timeout",
      { ...OK, schedule: Duration.minutes(5) },
      /schedule \(5 minutes\) is shorter than the function timeout \(10 minutes\)/,
    ],
    [
      "a timeout over 15 minutes",
      { ...OK, timeout: Duration.minutes(16) },
      /timeout must be between 1 and 15 minutes/,
    ],
    [
      "a lookback shorter than the schedule",
      { ...OK, schedule: Duration.hours(6), lookback: Duration.hours(1) },
      /lookback \(1 hour\) is shorter than the schedule \(6 hours\): requests between two windows would never be examined/,
    ],
    ["a lookback over 31 days", { ...OK, lookback: Duration.days(32) }, /lookback must be at most 31 days/],
    [
      "a settle delay over 6 hours",
      { ...OK, settleDelay: Duration.hours(7) },
      /settleDelay must be more than 0 and at most 6 hours/,
    ],
    ["a zero suppression", { ...OK, suppressFor: Duration.seconds(0) }, /suppressFor must be more than 0/],
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
      /memorySize must be a whole number of MB from 128 to 10240/,
    ],
    [
      "a log silence in minutes",
      { ...OK, maxLogSilence: Duration.minutes(90) },
      /maxLogSilence must be whole hours from 1 to 168/,
    ],
    [
      "a log silence over 7 days",
      { ...OK, maxLogSilence: Duration.days(8) },
      /maxLogSilence must be whole hours from 1 to 168/,
    ],
    [
      "a bad heartbeat log group",
      { ...OK, heartbeatLogGroupName: "a b" },
      /heartbeatLogGroupName "a b" is not a log group name/,
    ],
    // Checked by the handler's own schema, reported under the prop's name.
    [
      "a bad excluded account",
      { ...OK, excludedAccountIds: ["1234"] },
      /excludedAccountIds "1234" is not a 12-digit account id/,
    ],
    [
      "a bad identity pattern",
      { ...OK, excludedIdentityPatterns: ["ci-runner"] },
      /excludedIdentityPatterns "ci-runner" is not an IAM\/STS ARN pattern/,
    ],
  ])("rejects %s", (_, props, message) => {
    const text = problem(props);
    expect(text).toMatch(/^BedrockDosDetector: /);
    expect(text).toMatch(message);
    expect(text).not.toContain("\n");
  });

  it("lists every problem at once", () => {
    const text = problem({ logGroupIdentifiers: [], minRequests: 0, slackChannelId: "C0123ABCDEF" });
    expect(text).toMatch(
      /logGroupIdentifiers is empty.*; slackWorkspaceId and slackChannelId go together.*; minRequests/,
    );
  });

  it("throws from the construct, before any resource is created", () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), "S");
    expect(() => new BedrockDosDetector(stack, "D", { logGroupIdentifiers: [] })).toThrow(DetectorPropsError);
  });

  it("accepts the defaults and fills them in", () => {
    const resolved = resolveDetectorProps(OK);
    expect(resolved.schedule.toMinutes()).toBe(60);
    expect(resolved.timeout.toMinutes()).toBe(10);
    expect(resolved.heartbeat).toEqual({ name: "/aws/bedrock/model-invocations" });
    expect(resolved.maxLogSilence.toHours()).toBe(24);
    expect(resolved.settings).toMatchObject({ lookback: "1d", settleDelay: "5m", suppressFor: "1d" });
    expect(resolved.slack).toBeUndefined();
    expect(resolved.enableInvocationLogging).toBe(false);
  });

  it("accepts the limits", () => {
    expect(() =>
      resolveDetectorProps({
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
    expect(() =>
      resolveDetectorProps({ ...OK, schedule: Duration.minutes(1), timeout: Duration.minutes(1) }),
    ).not.toThrow();
  });

  it("formats durations in the handler's syntax", () => {
    expect(formatDuration(Duration.days(2))).toBe("2d");
    expect(formatDuration(Duration.hours(36))).toBe("36h");
    expect(formatDuration(Duration.minutes(90))).toBe("90m");
    expect(formatDuration(Duration.seconds(61))).toBe("61s");
  });
});
