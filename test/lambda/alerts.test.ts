import { describe, expect, it } from "vitest";
import { DEFAULT_RULE } from "../../config/settings.js";
import type { Finding } from "../../core/evaluator.js";
import {
  type AlertContext,
  asciiLine,
  buildAlerts,
  findingAlert,
  insightsConsoleUrl,
  MAX_CHAT_LIST,
  MAX_MESSAGE_BYTES,
  MAX_SUBJECT_CHARS,
} from "../../lambda/alerts.js";

const ctx: AlertContext = {
  window: { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") },
  rule: DEFAULT_RULE,
  region: "us-east-1",
  logGroupIdentifiers: ["/aws/bedrock/modelinvocations"],
};

const finding: Finding = {
  accountId: "123456789012",
  maxPromptTokens: 169_522,
  maxRequestSize: null,
  maxCompletionTokens: 392,
  requestCount: 42,
  firstSeen: "2026-11-19T18:11:47.000Z",
  lastSeen: "2026-11-19T20:04:38.000Z",
  maxCacheInclusiveInputTokens: 169_522,
  topIdentities: [
    { identityArn: "arn:aws:sts::123456789012:assumed-role/ci-runner/build-2", requestCount: 17 },
    { identityArn: "arn:aws:sts::123456789012:assumed-role/ci-runner/build-1", requestCount: 13 },
  ],
  topModels: [{ modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0", requestCount: 42 }],
  identityCount: 2,
  modelCount: 1,
};

const parts = (message: string) => {
  const outer = JSON.parse(message) as { default: string; email: string };
  return {
    notification: JSON.parse(outer.default) as Record<string, unknown> & {
      content: Record<string, unknown>;
      metadata: { additionalContext: Record<string, string> };
    },
    email: outer.email,
  };
};

describe("finding alert", () => {
  const alert = findingAlert(finding, ctx);
  const { notification, email } = parts(alert.message);

  it("says how many identities and models the evidence lists out of all (one evidence cap)", () => {
    const many: Finding = {
      ...finding,
      topIdentities: Array.from({ length: 5 }, (_, i) => ({
        identityArn: `arn:aws:iam::123456789012:user/u${i}`,
        requestCount: 3,
      })),
      identityCount: 12,
      modelCount: 3,
    };
    const { notification: n, email: text } = parts(findingAlert(many, ctx).message);
    expect(text).toContain("Top identities (5 of 12):");
    expect(text).toContain("Top models (1 of 3):");
    expect(String(n.content.description)).toContain("*Top identities* (5 of 12)");
  });

  it("email text (golden)", async () => {
    await expect(email).toMatchFileSnapshot("golden/finding-email.txt");
  });

  it("Amazon Q Developer custom notification (golden)", async () => {
    await expect(JSON.stringify(notification, null, 2)).toMatchFileSnapshot("golden/finding-chat.json");
  });

  it("is a valid custom notification carrying the structured finding", () => {
    expect(notification).toMatchObject({
      version: "1.0",
      source: "custom",
      content: { textType: "client-markdown" },
    });
    expect(notification.content.nextSteps).toEqual(
      expect.arrayContaining([expect.stringContaining("legitimate heavy use")]),
    );
    const carried = JSON.parse(notification.metadata.additionalContext.finding ?? "{}") as Finding;
    expect(carried).toMatchObject({ accountId: "123456789012", requestCount: 42, maxRequestSize: null });
  });

  it("has an ASCII one-line subject under 100 characters", () => {
    expect(alert.subject).toBe("Bedrock DoS alert: account 123456789012, 42 heavy requests");
    const weird = findingAlert(
      { ...finding, accountId: `ünïcödé\n${"9".repeat(200)}`, requestCount: 1_234_567 },
      ctx,
    );
    expect(weird.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
    expect(weird.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it("links to the account's matching requests in the Logs Insights console", () => {
    const url = insightsConsoleUrl("123456789012", ctx) ?? "";
    expect(url).toMatch(
      /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#logsV2:logs-insights\$3FqueryDetail\$3D~\(end~'2026-11-20T00\*3a00\*3a00\.000Z~start~'/i,
    );
    expect(url).not.toMatch(/\s/);
    expect(email).toContain(url);
    expect(insightsConsoleUrl("<redacted>", ctx)).toBeNull();
  });
});

describe("size limits", () => {
  it("stays under 256 KB with huge evidence, and says the evidence was cut", () => {
    const huge: Finding = {
      ...finding,
      topIdentities: Array.from({ length: 5000 }, (_, i) => ({
        identityArn: `arn:aws:sts::123456789012:assumed-role/${"r".repeat(400)}/${i}`,
        requestCount: 1,
      })),
      topModels: Array.from({ length: 5000 }, (_, i) => ({
        modelId: `${"m".repeat(2000)}${i}`,
        requestCount: 1,
      })),
      identityCount: 5000,
      modelCount: 5000,
    };
    const alert = findingAlert(huge, ctx);
    expect(Buffer.byteLength(alert.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const { email, notification } = parts(alert.message);
    expect(email).toMatch(/Evidence truncated to fit the message: \d+ of 5000 identities/);
    expect(String(notification.content.description)).toContain("Evidence truncated");
    expect(email).toContain("123456789012");
  });

  it("even a single enormous identity ARN fits", () => {
    const alert = findingAlert(
      { ...finding, topIdentities: [{ identityArn: "x".repeat(400_000), requestCount: 2 }] },
      ctx,
    );
    expect(Buffer.byteLength(alert.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});

describe("buildAlerts", () => {
  const many = Array.from({ length: 30 }, (_, i) => ({ ...finding, accountId: String(100000000000 + i) }));

  it("one alert per finding up to the cap, then one summary for the rest", () => {
    const alerts = buildAlerts(many, ctx, 25);
    expect(alerts).toHaveLength(26);
    expect(alerts[25]?.alert.subject).toBe("Bedrock DoS alert: 5 more flagged accounts");
    expect(alerts[25]?.findings.map((f) => f.accountId)).toEqual(many.slice(25).map((f) => f.accountId));
    const { email } = parts(alerts[25]?.alert.message ?? "");
    for (const f of many.slice(25)) expect(email).toContain(f.accountId);
    expect(email).not.toContain(many[0]?.accountId);
  });

  it("the chat summary lists at most MAX_CHAT_LIST accounts; the email lists them all", () => {
    const lots = Array.from({ length: 300 }, (_, i) => ({ ...finding, accountId: String(100000000000 + i) }));
    const [summary] = buildAlerts(lots, ctx, 0);
    const { email, notification } = parts(summary?.alert.message ?? "");
    const description = String(notification.content.description);
    expect(description.split("\n").filter((l) => l.startsWith("• "))).toHaveLength(MAX_CHAT_LIST);
    expect(description).toContain(`... and ${300 - MAX_CHAT_LIST} more`);
    for (const f of lots) expect(email).toContain(f.accountId);
  });

  it("no findings, no alerts", () => {
    expect(buildAlerts([], ctx, 25)).toEqual([]);
  });
});

describe("asciiLine", () => {
  it("strips accents, control characters and line breaks", () => {
    expect(asciiLine("Café\r\nalert\t!", 99)).toBe("Cafe alert !");
    expect(asciiLine("a".repeat(120), 99)).toHaveLength(99);
  });
});
