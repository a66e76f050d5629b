import { describe, expect, it } from "vitest";
import { parseRows, parseUsageRows, UNRECOGNISED_IDENTITY } from "../../core/insights-rows.js";

const row = {
  account: "123456789012",
  identityArn: "arn:aws:iam::123456789012:user/a",
  model: "m1",
  requestCount: "3",
  maxPromptTokens: "9001",
  maxRequestSize: "12000",
  maxCompletionTokens: "15",
  maxCacheInclusiveInputTokens: "9001",
  firstSeen: "2026-11-19 10:00:00.000",
  lastSeen: "2026-11-19 11:30:00.000",
};

describe("parseRows", () => {
  it("parses string values into a match group", () => {
    expect(parseRows([row]).groups).toEqual([
      {
        accountId: "123456789012",
        identityArn: "arn:aws:iam::123456789012:user/a",
        modelId: "m1",
        requestCount: 3,
        maxPromptTokens: 9001,
        maxRequestSize: 12000,
        maxCompletionTokens: 15,
        maxCacheInclusiveInputTokens: 9001,
        firstSeenMs: Date.parse("2026-11-19T10:00:00Z"),
        lastSeenMs: Date.parse("2026-11-19T11:30:00Z"),
      },
    ]);
  });

  it("missing maxima, identity and model become null", () => {
    const { groups } = parseRows([
      {
        account: "1",
        requestCount: "2",
        firstSeen: row.firstSeen,
        lastSeen: row.lastSeen,
        maxRequestSize: "",
      },
    ]);
    expect(groups[0]).toMatchObject({
      identityArn: null,
      modelId: null,
      maxPromptTokens: null,
      maxRequestSize: null,
    });
  });

  it("never shows identity text that is not a principal ARN; differing first and last identities are ambiguous", () => {
    const phishing = "URGENT - rotate keys at https://evil.example/aws-login";
    const groups = parseRows([
      { ...row, identityArnLast: row.identityArn },
      { ...row, identityArn: phishing, identityArnLast: row.identityArn },
      { ...row, identityArn: phishing, identityArnLast: phishing },
    ]).groups;
    expect(groups.map((g) => g.identityArn)).toEqual([
      row.identityArn,
      `(ambiguous: ${UNRECOGNISED_IDENTITY} or ${row.identityArn})`,
      UNRECOGNISED_IDENTITY,
    ]);
    expect(JSON.stringify(groups)).not.toContain("evil.example");
  });

  it.each([
    [{ ...row, account: undefined }, "no account id"],
    [{ ...row, requestCount: undefined }, "request count"],
    [{ ...row, requestCount: "0" }, "request count"],
    [{ ...row, firstSeen: "yesterday" }, "first or last seen"],
  ])("rejects %j with a reason", (bad, reason) => {
    const { groups, rejected } = parseRows([bad]);
    expect(groups).toEqual([]);
    expect(rejected[0]?.reason).toContain(reason);
  });

  it("a maximum that is not a safe integer is missing: the row's other values and the other rows stand", () => {
    const { groups, rejected, rejectedValues } = parseRows([
      { ...row, maxPromptTokens: "12abc", maxCacheInclusiveInputTokens: "9007199254740993" },
      { ...row, account: "210987654321" },
    ]);
    expect(rejected).toEqual([]);
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({
      maxPromptTokens: null,
      maxCacheInclusiveInputTokens: null,
      maxRequestSize: 12000,
      maxCompletionTokens: 15,
      requestCount: 3,
    });
    expect(groups[1]?.maxPromptTokens).toBe(9001);
    expect(rejectedValues).toEqual([
      { field: "maxPromptTokens", reason: "not a safe integer" },
      { field: "maxCacheInclusiveInputTokens", reason: "not a safe integer" },
    ]);
    expect(JSON.stringify(rejectedValues)).not.toContain("12abc");
  });
});

describe("parseUsageRows", () => {
  const window = { startMs: Date.parse("2026-11-19T10:00:00Z"), endMs: Date.parse("2026-11-19T11:00:00Z") };
  const usage = {
    account: "123456789012",
    identityArn: "arn:aws:iam::123456789012:user/a",
    model: "m1",
    hourIndex: "0",
    requests: "0",
    firstSeen: "2026-11-19 10:00:00.000",
    lastSeen: "2026-11-19 10:00:00.000",
    huntRequests: "1",
    huntMaxPromptTokensPlus1: "9001",
    huntFirstSeenMs: "0",
    huntLastSeenMs: "0",
  };

  it("keeps a row with no request of its own but a hunt match (a variant counted by an engine that dedupes)", () => {
    const { groups, rejected } = parseUsageRows([usage], window);
    expect(rejected).toEqual([]);
    expect(groups[0]).toMatchObject({ requests: 0, hunt: { requestCount: 1, maxPromptTokens: 9000 } });
  });

  it("rejects a row with neither a request nor a hunt match", () => {
    const { groups, rejected } = parseUsageRows([{ ...usage, huntRequests: "0" }], window);
    expect(groups).toEqual([]);
    expect(rejected[0]?.reason).toContain("request count");
  });
});
