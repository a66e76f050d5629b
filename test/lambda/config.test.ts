import { describe, expect, it } from "vitest";
import { ENV, toEnvironment } from "../../config/environment.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { MAX_LOG_GROUPS } from "../../config/settings.js";
import { identityPatternToRegExp } from "../../core/exclusions.js";
import { BUILT_IN_PRICES } from "../../core/pricing.js";
import { HOUR_MS } from "../../core/rule.js";
import { loadConfig } from "../../lambda/config.js";
import { ConfigurationError } from "../../lambda/errors.js";
import { detectorEnv, TOPIC } from "../helpers/aws.js";

const minimal = detectorEnv();

describe("loadConfig", () => {
  it("applies the defaults", () => {
    expect(loadConfig(minimal)).toEqual({
      logGroupIdentifiers: ["/aws/bedrock/invocations"],
      alertTopicArn: TOPIC,
      rule: DEFAULT_RULE,
      settleDelayMs: 5 * 60_000,
      maxAlertsPerRun: 25,
      dryRun: false,
      stateTable: undefined,
      schedulePeriodMs: 15 * 60_000,
      escalation: { suppressForMs: 24 * HOUR_MS, countFactor: 2, maxFactor: 1.5 },
      requeryPreviousSlice: false,
      region: "us-east-1",
      detectorLabel: "bedrock-dos-detector",
      eventBusName: "default",
      securityHubProductArn: undefined,
      prices: BUILT_IN_PRICES,
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
      [ENV.modelThresholds]: "anthropic.claude-3-haiku=32000/30000/9000",
      [ENV.cachedInputTokensThreshold]: "50000",
      [ENV.tokensPerHour]: "2000000",
      [ENV.requestsPerHour]: "600",
      [ENV.anomalyFactor]: "4.5",
      [ENV.anomalyFloorTokens]: "750000",
      [ENV.baselineDays]: "14",
    });
    expect(c.logGroupIdentifiers).toEqual([
      "a",
      "arn:aws:logs:us-east-1:210987654321:log-group:shared/bedrock",
    ]);
    expect(c.rule).toEqual({
      thresholds: { promptTokens: 1000, completionTokens: 2000, requestSize: 3000 },
      minRequests: 4,
      lookbackMs: 6 * HOUR_MS,
      excludedAccountIds: ["111111111111", "222222222222"],
      excludedIdentityPatterns: ["arn:aws:sts::111111111111:assumed-role/batch/*"],
      modelThresholds: [
        {
          prefix: "anthropic.claude-3-haiku",
          thresholds: { promptTokens: 32_000, requestSize: 30_000, completionTokens: 9000 },
        },
      ],
      cachedInputTokens: 50_000,
      tokensPerHour: 2_000_000,
      requestsPerHour: 600,
      anomalyFactor: 4.5,
      anomalyFloorTokens: 750_000,
      baselineDays: 14,
    });
    expect(c).toMatchObject({ settleDelayMs: 600_000, maxAlertsPerRun: 3, dryRun: true });
  });

  it("takes log group ARNs as the console shows them (ending in :*) and passes them on as StartQuery takes them", () => {
    const arn = "arn:aws:logs:us-east-1:210987654321:log-group:shared/bedrock";
    expect(loadConfig({ ...minimal, [ENV.logGroupIdentifiers]: `${arn}:*` }).logGroupIdentifiers).toEqual([
      arn,
    ]);
    expect(loadConfig({ ...minimal, [ENV.logGroupIdentifiers]: `${arn}:*,g` }).logGroupIdentifiers).toEqual([
      arn,
      "g",
    ]);
  });

  it.each([
    [{ [ENV.logGroupIdentifiers]: undefined }, "LOG_GROUP_IDENTIFIERS is required"],
    [{ [ENV.logGroupIdentifiers]: " , " }, "LOG_GROUP_IDENTIFIERS is required"],
    [{ [ENV.region]: undefined }, "AWS_REGION is required"],
    [
      { [ENV.logGroupIdentifiers]: Array.from({ length: MAX_LOG_GROUPS + 1 }, (_, i) => `g${i}`).join(",") },
      "LOG_GROUP_IDENTIFIERS takes at most 50 entries, got 51",
    ],
    [
      { [ENV.logGroupIdentifiers]: "bad name!" },
      'LOG_GROUP_IDENTIFIERS has "bad name!", which is not a log group name or ARN',
    ],
    [{ [ENV.alertTopicArn]: "my-topic" }, 'ALERT_TOPIC_ARN must be an SNS topic ARN, got "my-topic"'],
    [
      { [ENV.promptTokensThreshold]: "-5" },
      /^PROMPT_TOKENS_THRESHOLD must be a whole number from 1 to .*, got "-5"$/,
    ],
    [{ [ENV.minRequests]: "two" }, /^MIN_REQUESTS must be a whole number from 1 to .*, got "two"$/],
    [{ [ENV.lookback]: "1 day" }, 'LOOKBACK is not a duration like 90m, 24h or 7d: "1 day"'],
    [{ [ENV.settleDelay]: "7h" }, "SETTLE_DELAY must be whole minutes from 1m to 6h, got 7h"],
    [{ [ENV.schedule]: "7m" }, "SCHEDULE must divide an hour"],
    [{ [ENV.lookback]: "100m" }, "LOOKBACK (100m) must be a whole number of SCHEDULE periods (15m)"],
    [{ [ENV.escalationMaxFactor]: "1" }, 'ESCALATION_MAX_FACTOR must be a number from 1.01 to 1000, got "1"'],
    [{ [ENV.dryRun]: "yes" }, 'DRY_RUN must be true or false, got "yes"'],
    [
      { [ENV.maxAlertsPerRun]: "5000" },
      'MAX_ALERTS_PER_RUN must be a whole number from 1 to 1,000, got "5000"',
    ],
    [
      { [ENV.excludedAccountIds]: "12345" },
      'EXCLUDED_ACCOUNT_IDS has "12345", which is not a 12-digit account id',
    ],
    [
      { [ENV.excludedAccountIds]: Array.from({ length: 101 }, (_, i) => String(100000000000 + i)).join(",") },
      "EXCLUDED_ACCOUNT_IDS takes at most 100 entries",
    ],
    [
      { [ENV.excludedIdentityPatterns]: "batch-role" },
      'EXCLUDED_IDENTITY_PATTERNS has "batch-role", which is not an IAM/STS ARN pattern',
    ],
  ])("%j fails with a message naming the variable", (override, message) => {
    expect(() => loadConfig({ ...minimal, ...override })).toThrow(ConfigurationError);
    expect(() => loadConfig({ ...minimal, ...override })).toThrow(message);
  });

  it("lists every bad variable at once", () => {
    const load = () => loadConfig({ ...minimal, [ENV.dryRun]: "yes", [ENV.minRequests]: "0" });
    expect(load).toThrow(/^MIN_REQUESTS must be .*; DRY_RUN must be true or false, got "yes"$/);
    try {
      load();
    } catch (err) {
      expect((err as ConfigurationError).variables).toEqual([ENV.minRequests, ENV.dryRun]);
    }
  });

  it("toEnvironment writes what loadConfig reads (one source of truth for names and defaults)", () => {
    const settings = {
      logGroupIdentifiers: ["g1", "g2"],
      alertTopicArn: TOPIC,
      promptTokensThreshold: 12_000,
      minRequests: 3,
      lookback: 12 * HOUR_MS,
      settleDelay: 120_000,
      maxAlertsPerRun: 7,
      dryRun: true,
      excludedAccountIds: ["111111111111"],
      excludedIdentityPatterns: ["arn:aws:iam::111111111111:user/load-*"],
      stateTable: "detector-alerts",
      suppressFor: 6 * HOUR_MS,
    };
    const c = loadConfig({ ...toEnvironment(settings), [ENV.region]: "us-east-1" });
    expect(c).toMatchObject({
      logGroupIdentifiers: ["g1", "g2"],
      maxAlertsPerRun: 7,
      dryRun: true,
      settleDelayMs: 120_000,
      stateTable: "detector-alerts",
      escalation: { suppressForMs: 6 * HOUR_MS, countFactor: 2, maxFactor: 1.5 },
    });
    expect(c.rule).toMatchObject({
      thresholds: { promptTokens: 12_000, completionTokens: 8000, requestSize: 8000 },
      minRequests: 3,
      lookbackMs: 12 * HOUR_MS,
      excludedAccountIds: ["111111111111"],
      excludedIdentityPatterns: ["arn:aws:iam::111111111111:user/load-*"],
    });
    expect(
      loadConfig({
        ...toEnvironment({ logGroupIdentifiers: ["g"], alertTopicArn: TOPIC }),
        [ENV.region]: "us-east-1",
      }),
    ).toEqual(loadConfig({ ...minimal, [ENV.logGroupIdentifiers]: "g" }));
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
