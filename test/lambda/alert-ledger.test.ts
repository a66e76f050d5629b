/** Retry dedup and suppression against a real DynamoDB API (dynalite on loopback). */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { STATE } from "../../config/names.js";
import { HOUR_MS } from "../../core/rule.js";
import { AlertLedger } from "../../lambda/adapters/alert-ledger.js";
import { runDetection } from "../../lambda/run-detection.js";
import { decideAlert, identitiesToRemember, LEDGER_IDENTITY_BUDGET } from "../../lambda/suppression.js";
import { detectionDeps, detectorConfig, evidenceRow, resultRows } from "../helpers/aws.js";
import { startDynalite } from "../helpers/dynalite.js";

const logs = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
let db: Awaited<ReturnType<typeof startDynalite>>;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

const END = Date.parse("2026-11-20T12:00:00Z");
const windowEnding = (endMs: number) => ({
  trigger: "scheduled" as const,
  dryRun: false,
  window: { startMs: endMs - 24 * HOUR_MS, endMs },
});
const config = detectorConfig({ [ENV.suppressFor]: "24h" });

let counts: Record<string, number> = {};
function answerWithCounts() {
  logs.on(StartQueryCommand).resolves({ queryId: "q" });
  logs.on(GetQueryResultsCommand).callsFake(() => ({
    status: "Complete",
    results: resultRows(
      Object.entries(counts).map(([account, n]) => ({
        ...evidenceRow(account, "arn:x", "m", n, 9000),
        firstSeen: "2026-11-20 01:00:00.000",
        lastSeen: "2026-11-20 02:00:00.000",
      })),
    ),
  }));
}

async function run(endMs: number, ledger: AlertLedger) {
  return runDetection(config, windowEnding(endMs), detectionDeps({ ledger }, endMs).deps);
}

/** What each subject says about the account (severity, label and region aside). */
const sentSubjects = () =>
  sns
    .commandCalls(PublishCommand)
    .map((c) => /account \d+, [\d,]+ heavy requests/.exec(c.args[0].input.Subject ?? "")?.[0]);

/** A last alert for END with a count and the default maxima. */
const alerted = (requestCount: number) => ({
  windowEndMs: END,
  requestCount,
  maxPromptTokens: 9000,
  maxRequestSize: null,
  maxCompletionTokens: null,
  detections: ["heavy-requests" as const],
  cachedInputRequests: null,
  volumeTokens: null,
  anomalyTokens: null,
  identities: ["arn:x"],
  identitiesComplete: true,
});

describe("alert ledger (DynamoDB)", () => {
  let ledger: AlertLedger;
  let ledgerTable: string;
  beforeEach(async () => {
    logs.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    ledgerTable = await db.createTable();
    ledger = new AlertLedger(db.client, ledgerTable);
    counts = { "111111111111": 3, "222222222222": 5 };
    answerWithCounts();
  });

  it("stores and reads the last alert; an older window never overwrites a newer one", async () => {
    expect(await ledger.lastAlert("111111111111")).toBeNull();
    const alert = {
      ...alerted(3),
      detections: ["heavy-requests" as const, "anomaly" as const],
      anomalyTokens: 3_600_000,
      identities: ["arn:aws:iam::111111111111:user/a", "arn:x"],
    };
    await ledger.recordAlert("111111111111", alert, 48 * HOUR_MS, END);
    await ledger.recordAlert(
      "111111111111",
      { ...alerted(99), windowEndMs: END - HOUR_MS },
      48 * HOUR_MS,
      END,
    );
    expect(await ledger.lastAlert("111111111111")).toEqual(alert);
  });

  it("a backfill's item expires counting from now, not from its (old) window end", async () => {
    const now = END + 3 * 24 * HOUR_MS;
    await ledger.recordAlert("333333333333", alerted(3), 48 * HOUR_MS, now);
    const item = await db.client.send(
      new GetItemCommand({
        TableName: ledgerTable,
        Key: { [STATE.partitionKey]: { S: "alert#333333333333" }, [STATE.sortKey]: { S: "last" } },
      }),
    );
    expect(Number(item.Item?.[STATE.ttlAttribute]?.N)).toBe((now + 48 * HOUR_MS) / 1000);
  });

  it("a retried run for the same window sends nothing again", async () => {
    expect((await run(END, ledger)).alertsPublished).toBe(2);
    const retry = await run(END, ledger);
    expect(retry).toMatchObject({ findings: 2, alertsPublished: 0, alertsSuppressed: 2 });
    expect(sentSubjects()).toHaveLength(2);
  });

  it("a run that failed half-way is completed by its retry without duplicates", async () => {
    sns
      .on(PublishCommand)
      .resolvesOnce({ MessageId: "1" })
      .rejectsOnce(new Error("SNS down"))
      .resolves({ MessageId: "m" });
    await expect(run(END, ledger)).rejects.toThrow("publishing alert 2 of 2 failed");
    const retry = await run(END, ledger);
    expect(retry).toMatchObject({ alertsPublished: 1, alertsSuppressed: 1 });
    // Attempts: 111 sent, 222 failed; the retry sends 222 only.
    expect(sentSubjects()).toEqual([
      "account 111111111111, 3 heavy requests",
      "account 222222222222, 5 heavy requests",
      "account 222222222222, 5 heavy requests",
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
  });

  it("the next run is suppressed unless the account's count has doubled", async () => {
    await run(END, ledger);
    counts = { "111111111111": 6, "222222222222": 6 };
    const next = await run(END + HOUR_MS, ledger);
    expect(next).toMatchObject({ alertsPublished: 1, alertsSuppressed: 1 });
    expect(sentSubjects().at(-1)).toBe("account 111111111111, 6 heavy requests");
  });

  it("alerts again once the suppression period has passed", async () => {
    await run(END, ledger);
    const later = await run(END + 24 * HOUR_MS, ledger);
    expect(later).toMatchObject({ alertsPublished: 2, alertsSuppressed: 0 });
  });
});

describe("decideAlert", () => {
  const policy = { suppressForMs: HOUR_MS, countFactor: 2, maxFactor: 1.5 };
  const last = alerted(4);
  const finding = (requestCount: number, maxPromptTokens = 9000, maxRequestSize: number | null = null) => ({
    requestCount,
    maxPromptTokens,
    maxRequestSize,
    maxCompletionTokens: null,
    detections: ["heavy-requests" as const],
    cachedInput: null,
    tokenVolume: null,
    anomaly: null,
  });

  it("covers first, duplicate, suppressed, escalated and expired", () => {
    expect(decideAlert(finding(4), ["arn:x"], null, END, policy)).toMatchObject({
      send: true,
      kind: "first",
    });
    expect(decideAlert(finding(40), ["arn:x"], last, END, policy)).toMatchObject({
      send: false,
      kind: "already sent for this window",
    });
    expect(decideAlert(finding(7), ["arn:x"], last, END + 1, policy)).toMatchObject({
      send: false,
      kind: "suppressed",
      reason: `suppressed until ${new Date(END + HOUR_MS).toISOString()} unless it escalates`,
    });
    expect(decideAlert(finding(8), ["arn:x"], last, END + 1, policy)).toEqual({
      send: true,
      kind: "escalated",
      reason: "escalated: requests 4 → 8",
    });
    expect(decideAlert(finding(4), ["arn:x"], last, END + HOUR_MS, policy)).toMatchObject({
      send: true,
      kind: "suppression expired",
    });
  });

  it("escalates when a maximum grows by the factor, or a metric appears", () => {
    expect(decideAlert(finding(4, 13_499), ["arn:x"], last, END + 1, policy).send).toBe(false);
    expect(decideAlert(finding(4, 13_500), ["arn:x"], last, END + 1, policy)).toMatchObject({
      send: true,
      reason: "escalated: max prompt tokens 9,000 → 13,500",
    });
    expect(decideAlert(finding(4, 9000, 20_000), ["arn:x"], last, END + 1, policy)).toMatchObject({
      send: true,
      reason: "escalated: max request size none → 20,000",
    });
  });

  it("escalates when an identity that was not in the last alert has matching requests (a leaked key)", () => {
    const leaked = "arn:aws:iam::111111111111:user/leaked";
    expect(decideAlert(finding(5), ["arn:x", leaked], last, END + 1, policy)).toEqual({
      send: true,
      kind: "escalated",
      reason: `escalated: new identity ${leaked}`,
    });
    // The same identity again, after that alert: suppressed.
    const after = { ...last, requestCount: 5, identities: ["arn:x", leaked] };
    expect(decideAlert(finding(6), ["arn:x", leaked], after, END + 2, policy).send).toBe(false);
  });

  it("never calls an identity new against a list that was cut to fit the ledger", () => {
    const many = Array.from(
      { length: 3000 },
      (_, i) => `arn:aws:iam::111111111111:user/${"u".repeat(80)}${i}`,
    );
    const kept = identitiesToRemember(many);
    expect(kept.complete).toBe(false);
    expect(kept.identities.join("").length).toBeLessThanOrEqual(LEDGER_IDENTITY_BUDGET);
    const cut = { ...last, identities: kept.identities, identitiesComplete: false };
    expect(decideAlert(finding(5), [...many, "arn:new"], cut, END + 1, policy).send).toBe(false);
    expect(identitiesToRemember(["arn:a", "arn:b"])).toEqual({
      identities: ["arn:a", "arn:b"],
      complete: true,
    });
  });

  it("takes its factors from the settings", () => {
    const strict = { ...policy, countFactor: 1.25 };
    expect(decideAlert(finding(5), ["arn:x"], last, END + 1, strict)).toMatchObject({ send: true });
    expect(detectorConfig({ [ENV.escalationCountFactor]: "1.25" }).escalation.countFactor).toBe(1.25);
  });
});
