import { describe, expect, it } from "vitest";
import { DEFAULT_RULE, HOUR_MS } from "../../core/rule.js";
import {
  ConfigError,
  ENV,
  identityPatternToRegExp,
  loadConfig,
  MAX_LOG_GROUPS,
  toEnvironment,
} from "../../lambda/config.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:bedrock-dos-alerts";
const minimal = { [ENV.logGroupIdentifiers]: "/aws/bedrock/invocations", [ENV.alertTopicArn]: TOPIC };

describe("loadConfig", () => {
  it("applies the defaults", () => {
    expect(loadConfig(minimal)).toEqual({
      logGroupIdentifiers: ["/aws/bedrock/invocations"],
      alertTopicArn: TOPIC,
      rule: DEFAULT_RULE,
      settleDelayMs: 5 * 60_000,
      maxAlertsPerRun: 25,
      dryRun: false,
      excludedAccountIds: [],
      excludedIdentityPatterns: [],
      alertStateTable: undefined,
      suppressForMs: 24 * HOUR_MS,
    });
  });

  it("reads every variable", () => {
    const c = loadConfig({
      ...minimal,
      [ENV.logGroupIdentifiers]: "a, arn:aws:logs:us-east-1:210987654321:log-group:shared/bedrock",
      [ENV.promptTokensThreshold]: "1000",
      [ENV.completionTokensThreshold]: "2000",
      [ENV.requestSizeThreshold]: "3000",
      [ENV.minRequests]: "4",
      [ENV.lookback]: "6h",
      [ENV.settleDelay]: "10m",
      [ENV.maxAlertsPerRun]: "3",
      [ENV.dryRun]: "true",
      [ENV.excludedAccountIds]: "111111111111,222222222222",
      [ENV.excludedIdentityPatterns]: "arn:aws:sts::111111111111:assumed-role/batch/*",
    });
    expect(c.logGroupIdentifiers).toEqual([
      "a",
      "arn:aws:logs:us-east-1:210987654321:log-group:shared/bedrock",
    ]);
    expect(c.rule).toEqual({
      thresholds: { promptTokens: 1000, completionTokens: 2000, requestSize: 3000 },
      minRequests: 4,
      lookbackMs: 6 * HOUR_MS,
    });
    expect(c).toMatchObject({ settleDelayMs: 600_000, maxAlertsPerRun: 3, dryRun: true });
    expect(c.excludedAccountIds).toEqual(["111111111111", "222222222222"]);
  });

  it("takes log group ARNs as the console shows them (ending in :*) and passes them on as StartQuery takes them", () => {
    const arn = "arn:aws:logs:us-east-1:210987654321:log-group:shared/bedrock";
    expect(loadConfig({ ...minimal, [ENV.logGroupIdentifiers]: `${arn}:*` }).logGroupIdentifiers).toEqual([
      arn,
    ]);
    expect(
      toEnvironment({ logGroupIdentifiers: [`${arn}:*`, "g"], alertTopicArn: TOPIC })[
        ENV.logGroupIdentifiers
      ],
    ).toBe(`${arn},g`);
  });

  it.each([
    [{ [ENV.logGroupIdentifiers]: undefined }, "LOG_GROUP_IDENTIFIERS is required"],
    [{ [ENV.logGroupIdentifiers]: " , " }, "LOG_GROUP_IDENTIFIERS needs at least one log group"],
    [
      { [ENV.logGroupIdentifiers]: Array.from({ length: MAX_LOG_GROUPS + 1 }, (_, i) => `g${i}`).join(",") },
      "at most 50 log groups",
    ],
    [
      { [ENV.logGroupIdentifiers]: "bad name!" },
      'LOG_GROUP_IDENTIFIERS "bad name!" is not a log group name or ARN',
    ],
    [{ [ENV.alertTopicArn]: "my-topic" }, 'ALERT_TOPIC_ARN "my-topic" is not an SNS topic ARN'],
    [{ [ENV.promptTokensThreshold]: "-5" }, 'PROMPT_TOKENS_THRESHOLD must be a positive integer, got "-5"'],
    [{ [ENV.minRequests]: "two" }, 'MIN_REQUESTS must be a positive integer, got "two"'],
    [{ [ENV.lookback]: "1 day" }, 'LOOKBACK value "1 day" is not a duration'],
    [{ [ENV.lookback]: "40d" }, "LOOKBACK must be at most 744 hours"],
    [{ [ENV.settleDelay]: "7h" }, "SETTLE_DELAY must be at most 6 hours"],
    [{ [ENV.dryRun]: "yes" }, 'DRY_RUN must be true or false, got "yes"'],
    [{ [ENV.maxAlertsPerRun]: "5000" }, "MAX_ALERTS_PER_RUN must be at most 1000"],
    [{ [ENV.excludedAccountIds]: "12345" }, 'EXCLUDED_ACCOUNT_IDS "12345" is not a 12-digit account id'],
    [
      { [ENV.excludedAccountIds]: Array.from({ length: 101 }, (_, i) => String(100000000000 + i)).join(",") },
      "EXCLUDED_ACCOUNT_IDS takes at most 100 account ids",
    ],
    [
      { [ENV.excludedIdentityPatterns]: "batch-role" },
      'EXCLUDED_IDENTITY_PATTERNS "batch-role" is not an IAM/STS ARN pattern',
    ],
  ])("%j fails with a message naming the variable", (override, message) => {
    expect(() => loadConfig({ ...minimal, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...minimal, ...override })).toThrow(message);
  });

  it("toEnvironment writes what loadConfig reads (one source of truth for names and defaults)", () => {
    const settings = {
      logGroupIdentifiers: ["g1", "g2"],
      alertTopicArn: TOPIC,
      thresholds: { promptTokens: 12_000 },
      minRequests: 3,
      lookback: "12h",
      settleDelay: "2m",
      maxAlertsPerRun: 7,
      dryRun: true,
      excludedAccountIds: ["111111111111"],
      excludedIdentityPatterns: ["arn:aws:iam::111111111111:user/load-*"],
      alertStateTable: "detector-alerts",
      suppressFor: "6h",
    };
    const c = loadConfig(toEnvironment(settings));
    expect(c).toMatchObject({
      logGroupIdentifiers: ["g1", "g2"],
      maxAlertsPerRun: 7,
      dryRun: true,
      settleDelayMs: 120_000,
      excludedAccountIds: ["111111111111"],
      excludedIdentityPatterns: ["arn:aws:iam::111111111111:user/load-*"],
      alertStateTable: "detector-alerts",
      suppressForMs: 6 * HOUR_MS,
    });
    expect(c.rule.thresholds).toEqual({ promptTokens: 12_000, completionTokens: 8000, requestSize: 8000 });
    expect(loadConfig(toEnvironment({ logGroupIdentifiers: ["g"], alertTopicArn: TOPIC }))).toEqual(
      loadConfig({ ...minimal, [ENV.logGroupIdentifiers]: "g" }),
    );
  });
});

describe("identityPatternToRegExp", () => {
  it("matches * as any run of characters and everything else literally", () => {
    const re = identityPatternToRegExp("arn:aws:sts::111111111111:assumed-role/batch/*");
    expect(re.test("arn:aws:sts::111111111111:assumed-role/batch/nightly-1")).toBe(true);
    expect(re.test("arn:aws:sts::111111111111:assumed-role/batchX/nightly")).toBe(false);
    expect(identityPatternToRegExp("arn:aws:iam::1:user/a.b").test("arn:aws:iam::1:user/aXb")).toBe(false);
  });
});
