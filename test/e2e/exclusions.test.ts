/**
 * Exclusions belong to the rule: the scanner and the Lambda, given the same records and the same settings,
 * flag the same accounts with the same numbers. The Lambda side runs runDetection against Logs Insights
 * mocked at the SDK boundary, answering with the evidence rows Insights computes for those records, with
 * anomaly's history rolled up from the same records.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findLogFiles } from "../../cli/find-log-files.js";
import { readLogFile } from "../../cli/read-batches.js";
import { DEFAULT_SAMPLE_END, writeSampleData } from "../../cli/sample-data.js";
import { scanLogs } from "../../cli/scan.js";
import { ENV } from "../../config/environment.js";
import { inWindow, matches } from "../../core/evaluator.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import { DAY_MS, type Window } from "../../core/rule.js";
import { runDetection } from "../../lambda/run-detection.js";
import { detectionDeps, detectorConfig } from "../helpers/aws.js";
import { emulateInsights } from "../helpers/insights-emulator.js";
import { memoryState } from "../helpers/memory-state.js";

const insights = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
const END = Date.parse(DEFAULT_SAMPLE_END);
const WINDOW: Window = { startMs: END - 86_400_000, endMs: END };

let dir: string;
let matching: InvocationRecord[];
/** Every record, sorted by time: what Logs Insights holds (the usage query reads them all). */
let all: InvocationRecord[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bdd-exclusions-"));
  await writeSampleData(dir, { seed: 42, endMs: END });
  const { files } = await findLogFiles([dir]);
  matching = [];
  all = [];
  for (const f of files) {
    for await (const item of readLogFile(f.path)) {
      if (item.kind !== "record") continue;
      all.push(item.record);
      if (matches(item.record, detectorConfig().rule)) matching.push(item.record);
    }
  }
  matching.sort((a, b) => a.timestampMs - b.timestampMs);
  all.sort((a, b) => a.timestampMs - b.timestampMs);
});

beforeEach(() => {
  insights.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

/** What each engine flags: account, request count and maxima. */
type Flagged = { accountId: string; requestCount: number | null; maxima: (number | null)[] };

async function scannerFlags(exclusions: Record<string, string>): Promise<Flagged[]> {
  const rule = detectorConfig(exclusions).rule;
  const { findings } = await scanLogs([dir], rule, WINDOW);
  return findings.map((f) => ({
    accountId: f.accountId,
    requestCount: f.requestCount,
    maxima: [f.maxPromptTokens, f.maxRequestSize, f.maxCompletionTokens],
  }));
}

async function lambdaFlags(exclusions: Record<string, string>): Promise<Flagged[]> {
  emulateInsights(insights, () => all);
  // anomaly's history as the scheduled runs would have rolled it up for the week before (the sample holds one).
  const config = detectorConfig(exclusions);
  const state = memoryState();
  await state.rollUp(all, config.rule, { startMs: WINDOW.startMs - 7 * DAY_MS, endMs: WINDOW.startMs });
  const { deps, rec } = detectionDeps({ history: state.history });
  await runDetection(config, { trigger: "manual", dryRun: true, window: WINDOW }, deps);
  return rec.lines
    .filter((l) => l.message === "finding")
    .map((l) => {
      const f = l.extra[0] as Record<string, number | null> & { accountId: string };
      return {
        accountId: f.accountId,
        requestCount: f.requestCount === null ? null : Number(f.requestCount),
        maxima: [f.maxPromptTokens ?? null, f.maxRequestSize ?? null, f.maxCompletionTokens ?? null],
      };
    });
}

describe("scanner and Lambda agree under the same exclusions", () => {
  it.each<[string, Record<string, string>]>([
    ["no exclusions", {}],
    ["an excluded account", { [ENV.excludedAccountIds]: "987654321098" }],
    [
      "an excluded identity pattern (some of an account's identities)",
      { [ENV.excludedIdentityPatterns]: "arn:aws:sts::123456789012:assumed-role/ci-runner/build-2" },
    ],
    [
      "accounts and identities together",
      {
        [ENV.excludedAccountIds]: "555566667777",
        [ENV.excludedIdentityPatterns]: "arn:aws:sts::*:assumed-role/ci-runner/*",
      },
    ],
  ])("%s", async (_, exclusions) => {
    const scanned = await scannerFlags(exclusions);
    expect(await lambdaFlags(exclusions)).toEqual(scanned);
    expect(scanned.length).toBeGreaterThan(0);
  });

  it("exclusions change what is flagged, in both engines", async () => {
    const all = (await scannerFlags({})).map((f) => f.accountId);
    expect(all).toContain("123456789012");
    const withoutCi = {
      [ENV.excludedIdentityPatterns]: "arn:aws:sts::123456789012:assumed-role/ci-runner/*",
    };
    expect((await scannerFlags(withoutCi)).map((f) => f.accountId)).not.toContain("123456789012");
    expect((await lambdaFlags(withoutCi)).map((f) => f.accountId)).not.toContain("123456789012");
    // Excluding one of its identities lowers the account's count by exactly that identity's requests.
    const one = {
      [ENV.excludedIdentityPatterns]: "arn:aws:sts::123456789012:assumed-role/ci-runner/build-2",
    };
    const before = (await scannerFlags({})).find((f) => f.accountId === "123456789012");
    const after = (await scannerFlags(one)).find((f) => f.accountId === "123456789012");
    const build2 = matching.filter(
      (r) =>
        inWindow(r.timestampMs, WINDOW) &&
        r.identityArn === "arn:aws:sts::123456789012:assumed-role/ci-runner/build-2",
    ).length;
    expect(build2).toBeGreaterThan(0);
    expect(after?.requestCount).toBe((before?.requestCount ?? 0) - build2);
  });
});
