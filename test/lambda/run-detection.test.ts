import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import type { DetectionDeps } from "../../lambda/detection-deps.js";
import { PublishError } from "../../lambda/errors.js";
import { ACCOUNT_LEVEL_CAVEAT } from "../../lambda/evaluation.js";
import { runDetection } from "../../lambda/run-detection.js";
import type { RunRequest } from "../../lambda/run-request.js";
import { detectionDeps, detectorConfig, evidenceRow, resultRows, TOPIC } from "../helpers/aws.js";

const logs = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
const config = detectorConfig;
const request: RunRequest = {
  trigger: "scheduled",
  dryRun: false,
  window: { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") },
};
const row = evidenceRow;

function deps(overrides: Partial<DetectionDeps> = {}) {
  const { deps: d, rec } = detectionDeps(overrides);
  return { d, rec };
}

/** Answers each StartQuery with the rows for the query text it was given. */
function answer(
  rowsFor: (query: string) => Record<string, string>[],
  stats = { bytesScanned: 5e6, recordsScanned: 1000, recordsMatched: 7 },
) {
  let n = 0;
  const byId = new Map<string, Record<string, string>[]>();
  logs.on(StartQueryCommand).callsFake((input: { queryString: string }) => {
    const id = `q-${++n}`;
    byId.set(id, rowsFor(input.queryString));
    return { queryId: id };
  });
  logs.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) => ({
    status: "Complete",
    results: resultRows(byId.get(input.queryId) ?? []),
    statistics: stats,
  }));
}

const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeEach(() => {
  logs.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

describe("runDetection", () => {
  it("runs one query, merges rows per account, applies min requests and the order, publishes one alert per account", async () => {
    answer(() => [
      row("111111111111", "arn:aws:iam::111111111111:user/a", "m1", 1, 50_000),
      row("222222222222", "arn:aws:iam::222222222222:user/b", "m1", 2, 20_000),
      row("222222222222", "arn:aws:iam::222222222222:user/c", "m2", 3, 30_000),
      row("333333333333", "arn:aws:iam::333333333333:user/d", "m1", 4, ""),
    ]);
    const { d, rec } = deps();
    const summary = await runDetection(config(), request, d);

    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(1);
    expect(summary).toMatchObject({
      findings: 2,
      accounts: ["222222222222", "333333333333"],
      alertsPublished: 2,
      queries: 1,
      fellBack: false,
      statistics: { bytesScanned: 5e6, recordsScanned: 1000, recordsMatched: 7 },
    });
    const sent = published();
    expect(sent.map((p) => p.Subject)).toEqual([
      "[MEDIUM] Bedrock DoS: account 222222222222, 5 heavy requests (bedrock-dos-detector, us-east-1)",
      "[LOW] Bedrock DoS: account 333333333333, 4 heavy requests (bedrock-dos-detector, us-east-1)",
    ]);
    expect(sent.every((p) => p.MessageStructure === "json" && p.TopicArn === TOPIC)).toBe(true);
    expect(JSON.parse(sent[0]?.Message ?? "{}").email).toContain("arn:aws:iam::222222222222:user/c");
    expect(rec.metrics).toEqual(
      expect.arrayContaining([
        { name: "BytesScanned", unit: "Bytes", value: 5e6 },
        { name: "AccountsFlagged", unit: "Count", value: 2 },
        { name: "AlertsPublished", unit: "Count", value: 2 },
      ]),
    );
  });

  it("empty results: no findings, nothing published", async () => {
    answer(() => []);
    const { d } = deps();
    const summary = await runDetection(config(), request, d);
    expect(summary).toMatchObject({ findings: 0, alertsPublished: 0, alertsPrepared: 0 });
    expect(published()).toEqual([]);
  });

  it("rows with missing values: usable ones count, broken ones are rejected and logged", async () => {
    answer(() => [
      row("222222222222", "arn:x", "m1", 2),
      { ...row("222222222222", "", "", 1), identityArn: "", model: "" },
      { ...row("", "arn:y", "m1", 5) },
      { ...row("444444444444", "arn:z", "m1", 9), requests: "" },
    ]);
    const { d, rec } = deps();
    const summary = await runDetection(config(), request, d);
    expect(summary).toMatchObject({ findings: 1, accounts: ["222222222222"], rowsRejected: 2 });
    expect(rec.lines.filter((l) => l.message === "result row rejected")).toHaveLength(2);
    expect(JSON.parse(published()[0]?.Message ?? "{}").email).toContain("(unknown)");
  });

  it("a value out of range costs only that value: the row and every other row stand, counted and logged without text", async () => {
    answer(() => [
      { ...row("222222222222", "arn:x", "m1", 1), huntMaxCachedInputTokensPlus1: "9007199254740993" },
      { ...row("222222222222", "arn:y", "m1", 1, 9500), huntMaxRequestSizePlus1: "1e400" },
    ]);
    const { d, rec } = deps();
    const summary = await runDetection(config(), request, d);
    expect(summary).toMatchObject({
      findings: 1,
      accounts: ["222222222222"],
      rowsRejected: 0,
      valuesRejected: 2,
    });
    const warnings = rec.lines.filter((l) => l.message === "result value rejected");
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).not.toMatch(/9007199254740993|1e400/);
    const alert = JSON.parse(published()[0]?.Message ?? "{}");
    expect(alert.email).toContain("9,500");
  });

  it("excluded accounts are filtered in the query, excluded identities in the merge", async () => {
    answer(() => [
      row("222222222222", "arn:aws:sts::222222222222:assumed-role/batch/nightly", "m1", 5),
      row("222222222222", "arn:aws:sts::222222222222:assumed-role/app/x", "m1", 1),
      row("333333333333", "arn:aws:sts::333333333333:assumed-role/app/y", "m1", 2),
    ]);
    const { d } = deps();
    const summary = await runDetection(
      config({
        [ENV.excludedAccountIds]: "999999999999",
        [ENV.excludedIdentityPatterns]: "arn:aws:sts::*:assumed-role/batch/*",
      }),
      request,
      d,
    );
    expect(logs).toHaveReceivedCommandWith(StartQueryCommand, {
      queryString: expect.stringContaining('filter account not in ["999999999999"]'),
    });
    expect(summary.accounts).toEqual(["333333333333"]);
  });

  it("dry run: findings and messages are logged, nothing is published", async () => {
    answer(() => [row("222222222222", "arn:x", "m1", 3)]);
    const { d, rec } = deps();
    const summary = await runDetection(config(), { ...request, dryRun: true }, d);
    expect(summary).toMatchObject({ dryRun: true, findings: 1, alertsPrepared: 1, alertsPublished: 0 });
    expect(published()).toEqual([]);
    expect(rec.lines.some((l) => l.message === "dry run: alert not published")).toBe(true);
  });

  it("an SNS failure part-way fails the run, and AlertsPublished still counts the alerts that went out", async () => {
    answer(() => [row("222222222222", "arn:x", "m1", 3), row("333333333333", "arn:y", "m1", 3)]);
    sns
      .on(PublishCommand)
      .resolvesOnce({ MessageId: "1" })
      .rejects(Object.assign(new Error("KMS key disabled"), { name: "KMSDisabledException" }));
    const { d, rec } = deps();
    const run = runDetection(config(), request, d);
    await expect(run).rejects.toThrow(PublishError);
    await expect(run).rejects.toMatchObject({
      published: 1,
      message: expect.stringContaining("publishing alert 2 of 2 failed (KMSDisabledException)"),
    });
    expect(rec.metrics.filter((m) => m.name === "AlertsPublished")).toEqual([
      { name: "AlertsPublished", unit: "Count", value: 1 },
    ]);
  });

  it("caps alerts per run and sends one summary for the rest", async () => {
    answer(() =>
      Array.from({ length: 5 }, (_, i) => row(String(200000000000 + i), "arn:x", "m1", 2, 9000 + i)),
    );
    const { d } = deps();
    const summary = await runDetection(config({ [ENV.maxAlertsPerRun]: "3" }), request, d);
    expect(summary).toMatchObject({ findings: 5, alertsPublished: 4 });
    expect(published()[3]?.Subject).toBe(
      "Bedrock DoS: 2 more flagged accounts (bedrock-dos-detector, us-east-1)",
    );
  });

  it("rows at the result limit: falls back to the account-level query, then evidence for flagged accounts only", async () => {
    const limit = 3;
    answer((q) => {
      if (q.includes("by account\n")) return [row("222222222222", "", "", 4), row("333333333333", "", "", 2)];
      if (q.includes('filter account in ["222222222222", "333333333333"]')) {
        return [
          row("222222222222", "arn:aws:iam::222222222222:user/a", "m1", 4),
          row("333333333333", "arn:c", "m2", 2),
        ];
      }
      // The first evidence query fills the limit: accounts may be missing.
      return [
        row("222222222222", "arn:a", "m1", 1),
        row("444444444444", "arn:d", "m1", 1),
        row("555555555555", "arn:e", "m1", 1),
      ];
    });
    const { d, rec } = deps({ rowLimit: limit });
    const summary = await runDetection(config(), request, d);
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(3);
    expect(summary).toMatchObject({ fellBack: true, queries: 3, accounts: ["222222222222", "333333333333"] });
    expect(JSON.parse(published()[0]?.Message ?? "{}").email).toMatch(
      /4\s+arn:aws:iam::222222222222:user\/a/,
    );
    expect(rec.metrics).toContainEqual({ name: "ResultLimitReached", unit: "Count", value: 1 });
  });

  it("never forwards prompt text: the queries select no body field, and caller text in rows reaches no alert or log", async () => {
    const phishing = "URGENT rotate keys at https://evil.example/login";
    answer(() => [
      { ...row("222222222222", phishing, "m1", 3), identityArnLast: "arn:aws:iam::222222222222:user/real" },
      { ...row("", phishing, "m1", 3) },
    ]);
    const { d, rec } = deps();
    await runDetection(config(), request, d);
    const q = logs.commandCalls(StartQueryCommand)[0]?.args[0].input.queryString ?? "";
    expect(q.split("\n").at(-3)).toMatch(/^\| stats /);
    // The body is only measured (strlen), never selected; stats then returns aggregates only.
    expect(q).toContain("strlen(coalesce(inputBody, ");
    expect(q.replaceAll(/strlen\(coalesce\([^)]*\)\)/g, "")).not.toMatch(
      /(display|fields)[^\n]*(inputBody\w*|@message)/,
    );
    const sent = JSON.stringify(published());
    expect(sent).toContain("arn:aws:iam::222222222222:user/real");
    expect(sent).not.toContain("evil.example");
    expect(rec.text()).not.toContain("evil.example");
  });
});

describe("runDetection fallback edges", () => {
  it("more flagged accounts than one query can filter on: alerts with account-level numbers, no failed run", async () => {
    const many = Array.from({ length: 450 }, (_, i) => row(String(300000000000 + i), "", "", 2));
    answer((q) => (q.includes("by account\n") ? many : many.slice(0, 2)));
    const { d, rec } = deps({ rowLimit: 2 });
    const summary = await runDetection(config({ [ENV.maxAlertsPerRun]: "5" }), request, d);
    expect(summary).toMatchObject({ fellBack: true, queries: 2, findings: 450, alertsPublished: 6 });
    expect(rec.lines.some((l) => l.message.startsWith("too many flagged accounts"))).toBe(true);
    // Each alert carries its account's numbers from the account-level rows.
    const email = JSON.parse(published()[0]?.Message ?? "{}").email as string;
    expect(email).toMatch(/Account: +300000000000/);
    expect(email).toMatch(/Requests: +2 over a threshold/);
  });

  it("account-level numbers say that they include excluded identities", async () => {
    const many = Array.from({ length: 450 }, (_, i) => row(String(300000000000 + i), "", "", 2));
    answer((q) => (q.includes("by account\n") ? many : many.slice(0, 2)));
    const { d } = deps({ rowLimit: 2 });
    const withExclusions = config({
      [ENV.maxAlertsPerRun]: "1",
      [ENV.excludedIdentityPatterns]: "arn:aws:sts::*:assumed-role/batch/*",
    });
    await runDetection(withExclusions, request, d);
    const email = JSON.parse(published()[0]?.Message ?? "{}").email as string;
    expect(email).toContain(ACCOUNT_LEVEL_CAVEAT);
  });

  it("flagged accounts whose ids cannot go into a query filter keep their account-level numbers", async () => {
    answer((q) =>
      q.includes("by account\n")
        ? [row("<redacted>", "", "", 3)]
        : [row("<redacted>", "arn:a", "m", 1), row("<redacted>", "arn:b", "m", 1)],
    );
    const { d, rec } = deps({ rowLimit: 2 });
    const summary = await runDetection(config(), request, d);
    expect(summary).toMatchObject({ fellBack: true, queries: 2, accounts: ["<redacted>"] });
    expect(rec.lines.filter((l) => l.level === "error")).toEqual([]);
    // 3 from the account-level row, not the 2 of the truncated evidence rows.
    expect(JSON.parse(published()[0]?.Message ?? "{}").email).toMatch(/Requests: +3 over a threshold/);
  });
});
