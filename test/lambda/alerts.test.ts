import { describe, expect, it } from "vitest";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import type { Finding } from "../../core/evaluator.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { readRecord } from "../../core/record-reader.js";
import { DAY_MS } from "../../core/rule.js";
import {
  type AlertContext,
  type AlertFinding,
  asciiLine,
  buildAlerts,
  findingAlert,
  humanRange,
  insightsConsoleUrl,
  MAX_CHAT_LIST,
  MAX_MESSAGE_BYTES,
  MAX_SUBJECT_CHARS,
} from "../../lambda/alerts.js";
import { CASES, DAY, detectionCorpus, FLOOD_ARN } from "../helpers/detection-cases.js";

const ctx: AlertContext = {
  window: { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") },
  rule: DEFAULT_RULE,
  region: "us-east-1",
  logGroupIdentifiers: ["/aws/bedrock/modelinvocations"],
  detectorLabel: "prod-detector",
  suppressForMs: DAY_MS,
};

const finding: AlertFinding = {
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
  topModels: [
    {
      modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0",
      requestCount: 42,
      sumPromptTokens: 4_200_000,
      sumCompletionTokens: 12_000,
    },
  ],
  identityCount: 3,
  modelCount: 1,
  sumPromptTokens: 4_200_000,
  sumCompletionTokens: 12_000,
  detections: ["heavy-requests"],
  cachedInput: null,
  tokenVolume: null,
  anomaly: null,
  peakHourTokens: 4_212_000,
  alertReason: "first alert for this account",
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

describe("an account that only the detections beyond the hunt flag", () => {
  // The day's cached-prompt leak and flood, as one account: both detections fire, the hunt does not.
  const evaluator = new RuleEvaluator(DEFAULT_RULE, DAY);
  for (const line of detectionCorpus()) {
    const r = readRecord(line);
    if (r.ok && (r.record.accountId === CASES.cachedLeak || r.record.accountId === CASES.flood)) {
      evaluator.add({ ...r.record, accountId: CASES.flood });
    }
  }
  const [both] = evaluator.findings();
  const alert = findingAlert({ ...(both as Finding), alertReason: "first alert for this account" }, ctx);
  const { notification, email } = parts(alert.message);

  it("names both detections in plain words, in the subject, the email and the chat notification", () => {
    // The flood is also a principal without history over anomaly's floor (the corpus holds one day).
    expect(both?.detections).toEqual(["cached-input", "token-volume", "anomaly"]);
    expect(alert.subject).toBe(
      `[HIGH] Bedrock DoS: account ${CASES.flood}, 1.08 M cached tokens (prod-detector, us-east-1)`,
    );
    expect(email).toContain("Cached:     6 requests read 1.08 M cached prompt tokens");
    expect(email).toContain(`Volume:     47.4 M tokens in one hour from ${FLOOD_ARN} (3,000 requests`);
    expect(email).toContain(
      `Anomaly:    47.4 M tokens in 14:00-15:00 UTC on 2026-11-19 from ${FLOOD_ARN} (3,000 requests), a principal with no requests in the 14 hours of history there was (7 days asked); over the floor of 2 M`,
    );
    expect(email).not.toContain("Requests:");
    expect(String(notification.content.description)).toContain("• *token-volume:* 47.4 M tokens in one hour");
  });

  it("email text and chat notification (golden)", async () => {
    await expect(email).toMatchFileSnapshot("golden/beyond-the-hunt-email.txt");
    await expect(JSON.stringify(notification, null, 2)).toMatchFileSnapshot(
      "golden/beyond-the-hunt-chat.json",
    );
  });
});

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
    expect(text).toContain("5 of 12 identities:");
    expect(text).toContain("1 of 3 models:");
    expect(String(n.content.description)).toContain("*5 of 12 identities:*");
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
    expect(alert.subject).toBe(
      "[CRITICAL] Bedrock DoS: account 123456789012, 42 heavy requests (prod-detector, us-east-1)",
    );
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

describe("what on-call staff read first", () => {
  const read = (f: AlertFinding, c: AlertContext = ctx) => {
    const a = findingAlert(f, c);
    const p = parts(a.message);
    return {
      subject: a.subject,
      email: p.email,
      chat: String(p.notification.content.description),
      title: String(p.notification.content.title),
      steps: p.notification.content.nextSteps as string[],
    };
  };

  it("the detector label and region are in the subject, the title and the first line of each format", () => {
    const r = read(finding);
    for (const text of [r.subject, r.title, r.email.split("\n")[0] ?? "", r.chat.split("\n")[0] ?? ""]) {
      expect(text).toContain("prod-detector");
      expect(text).toContain("us-east-1");
    }
    expect(r.subject.startsWith("[CRITICAL]")).toBe(true);
  });

  it("shows the alert reason when given, in both formats, and nothing when not", () => {
    const r = read({ ...finding, alertReason: "escalated: requests 12 → 30" });
    expect(r.email).toContain("Why now:    escalated: requests 12 → 30");
    expect(r.chat).toContain("_Why now: escalated: requests 12 → 30_");
    const { alertReason: _, ...plain } = finding;
    const q = read(plain);
    expect(q.email).not.toContain("Why now");
    expect(q.chat).not.toContain("Why now");
    // The reason is alert text, not part of the structured finding.
    expect(q.email).not.toContain("alertReason");
  });

  it("human times, plain words for missing metrics", () => {
    const r = read(finding);
    expect(r.email).toContain("When:       19 Nov 18:11-20:04 UTC (window 19 Nov 00:00 - 20 Nov 00:00 UTC)");
    expect(r.email).toContain("max request size: not logged: body stored in S3");
    expect(r.email).not.toMatch(/T\d\d:\d\d:\d\d\.\d{3}Z/);
    expect(r.email).not.toContain("(end excluded)");
    expect(r.email).not.toContain(": none");
    expect(humanRange(Date.parse("2026-11-19T23:00:00Z"), Date.parse("2026-11-20T02:05:00Z"))).toBe(
      "19 Nov 23:00 - 20 Nov 02:05 UTC",
    );
  });

  it("next steps follow the principal type of the top identity, with the exclusion value to paste", () => {
    const user = read({
      ...finding,
      topIdentities: [{ identityArn: "arn:aws:iam::123456789012:user/svc-legacy-key", requestCount: 24 }],
    });
    expect(user.steps[0]).toContain("IAM user svc-legacy-key, which signs with long-term access keys");
    expect(user.steps.join("\n")).toContain(
      "add arn:aws:iam::123456789012:user/svc-legacy-key to excludedIdentityPatterns",
    );
    const role = read(finding);
    expect(role.steps[0]).toContain("session of role ci-runner");
    expect(role.email).toContain(
      "add arn:aws:sts::123456789012:assumed-role/ci-runner/* to excludedIdentityPatterns",
    );
    const sso = read({
      ...finding,
      topIdentities: [
        {
          identityArn: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/jane@example.com",
          requestCount: 2,
        },
      ],
    });
    expect(sso.steps[0]).toContain("IAM Identity Center");
    const odd = read({
      ...finding,
      topIdentities: [{ identityArn: "(unrecognised identity)", requestCount: 2 }],
    });
    expect(odd.steps[0]).toContain("could not be read reliably");
    expect(odd.steps.join("\n")).toContain("add 123456789012 to excludedAccountIds");
  });

  it("says when repeats come again, or that every run alerts without a ledger", () => {
    expect(read(finding).email).toContain(
      "Further alerts for this account are held back until it escalates or until 21 Nov 00:00 UTC.",
    );
    const { suppressForMs: _, ...noLedger } = ctx;
    expect(read(finding, noLedger).email).toContain("Every run alerts on this account again");
  });

  it("estimates the on-demand cost, and says estimate and unknown price plainly", () => {
    // 4.2M input tokens at $0.003/1k + 12k output at $0.015/1k.
    expect(read(finding).email).toContain("Cost:       about $12.78 on demand (estimate from list prices)");
    const unknownModel = {
      ...finding,
      topModels: [
        {
          modelId: "acme.private-model-v1",
          requestCount: 42,
          sumPromptTokens: 1000,
          sumCompletionTokens: 10,
        },
      ],
      sumPromptTokens: 1000,
      sumCompletionTokens: 10,
    };
    expect(read(unknownModel).email).toContain(
      "Cost:       unknown price (1,010 tokens of 1 model(s) at unknown price; set modelPrices)",
    );
    expect(
      read(unknownModel, { ...ctx, prices: [{ prefix: "acme.", inputPer1k: 1, outputPer1k: 1 }] }).email,
    ).toContain("about $1.01 on demand (estimate");
    const none = {
      ...finding,
      topModels: [
        { ...unknownModel.topModels[0], modelId: "m", sumPromptTokens: null, sumCompletionTokens: null },
      ],
      sumPromptTokens: null,
      sumCompletionTokens: null,
    } as AlertFinding;
    expect(read(none).email).toContain("Cost:       unknown (no token counts logged)");
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
        sumPromptTokens: 9000,
        sumCompletionTokens: null,
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
    expect(alerts[25]?.alert.subject).toBe("Bedrock DoS: 5 more flagged accounts (prod-detector, us-east-1)");
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
