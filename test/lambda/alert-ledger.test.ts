/** Retry dedup and suppression against a real DynamoDB API (dynalite on loopback). */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/settings.js";
import { HOUR_MS } from "../../core/rule.js";
import { AlertLedger } from "../../lambda/adapters/alert-ledger.js";
import { runDetection } from "../../lambda/run-detection.js";
import { decideAlert } from "../../lambda/suppression.js";
import { detectionDeps, detectorConfig, resultRows } from "../helpers/aws.js";
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
        account,
        identityArn: "arn:x",
        model: "m",
        requestCount: String(n),
        maxPromptTokens: "9000",
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

describe("alert ledger (DynamoDB)", () => {
  let ledger: AlertLedger;
  beforeEach(async () => {
    logs.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    ledger = new AlertLedger(db.client, await db.createTable());
    counts = { "111111111111": 3, "222222222222": 5 };
    answerWithCounts();
  });

  it("stores and reads the last alert; an older window never overwrites a newer one", async () => {
    expect(await ledger.lastAlert("111111111111")).toBeNull();
    await ledger.recordAlert("111111111111", { windowEndMs: END, requestCount: 3 }, 48 * HOUR_MS, END);
    await ledger.recordAlert(
      "111111111111",
      { windowEndMs: END - HOUR_MS, requestCount: 99 },
      48 * HOUR_MS,
      END,
    );
    expect(await ledger.lastAlert("111111111111")).toEqual({ windowEndMs: END, requestCount: 3 });
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

  it("the next hourly run is suppressed unless the account's count has doubled", async () => {
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
  it("covers first, duplicate, suppressed, escalated and expired", () => {
    const last = { windowEndMs: END, requestCount: 4 };
    expect(decideAlert({ requestCount: 4 }, null, END, HOUR_MS)).toEqual({ send: true, reason: "first" });
    expect(decideAlert({ requestCount: 40 }, last, END, HOUR_MS)).toEqual({
      send: false,
      reason: "already sent for this window",
    });
    expect(decideAlert({ requestCount: 7 }, last, END + 1, HOUR_MS)).toEqual({
      send: false,
      reason: "suppressed",
    });
    expect(decideAlert({ requestCount: 8 }, last, END + 1, HOUR_MS)).toEqual({
      send: true,
      reason: "escalated",
    });
    expect(decideAlert({ requestCount: 4 }, last, END + HOUR_MS, HOUR_MS)).toEqual({
      send: true,
      reason: "suppression expired",
    });
  });
});
