/**
 * The two cases the hunt walks past (issue 16), on a day that also holds ordinary traffic: the scanner (the real
 * CLI process over a gzip file) flags exactly the cached-prompt leak and the flood, with their numbers in plain
 * words; the scheduled Lambda over stored periods and a manual Lambda run (Logs Insights emulated by
 * interpreting the query text) give the same findings.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { Finding } from "../../core/finding.js";
import { type InvocationRecord, readRecord } from "../../core/record-reader.js";
import { cellKey } from "../../core/slices.js";
import type { StoredSlice } from "../../lambda/adapters/slice-store.js";
import { runDetection } from "../../lambda/run-detection.js";
import { detectionDeps, detectorConfig } from "../helpers/aws.js";
import { CASES, DAY, detectionCorpus, FLOOD_ARN } from "../helpers/detection-cases.js";
import { emulateInsights } from "../helpers/insights-emulator.js";

const CLI = "dist/cli.mjs";
const insights = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);

const corpus = detectionCorpus();
const records: InvocationRecord[] = corpus.flatMap((l) => {
  const r = readRecord(l);
  return r.ok ? [r.record] : [];
});
const dir = mkdtempSync(join(tmpdir(), "bdd-detections-"));
writeFileSync(join(dir, "day.json.gz"), gzipSync(`${corpus.join("\n")}\n`));
const window = ["--start", new Date(DAY.startMs).toISOString(), "--end", new Date(DAY.endMs).toISOString()];

function scan(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, "scan", ...window, ...args, dir], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** What a finding says, engine-independent: account, detections and each one's numbers. */
const summary = (f: Finding) => ({
  accountId: f.accountId,
  detections: f.detections,
  requestCount: f.requestCount,
  cachedInputRequests: f.cachedInput?.requestCount ?? null,
  volumeTokens: f.tokenVolume?.totalTokens ?? null,
  peakHourTokens: f.peakHourTokens,
});

beforeEach(() => {
  insights.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

describe("a day with a cached-prompt leak, a flood under the per-request threshold and ordinary traffic", () => {
  it("holds what the issue describes", () => {
    expect(records).toHaveLength(corpus.length);
    const leak = records.filter((r) => r.accountId === CASES.cachedLeak);
    expect(leak.map((r) => [r.promptTokens, r.cacheReadTokens, r.requestSize])).toEqual(
      Array(6).fill([6, 180_000, null]),
    );
    const flood = records.filter((r) => r.accountId === CASES.flood);
    expect(flood).toHaveLength(3000);
    expect(flood.every((r) => r.promptTokens === 7900 && r.completionTokens === 7900)).toBe(true);
    expect((flood.at(-1)?.timestampMs ?? 0) - (flood[0]?.timestampMs ?? 0)).toBeLessThan(3_600_000);
  });

  it("the scanner flags exactly the leak and the flood, which the hunt alone does not", () => {
    const report = JSON.parse(scan("--format", "json")) as { findings: Finding[] };
    expect(report.findings.map(summary)).toEqual([
      {
        accountId: CASES.flood,
        // One day of records: the scraper is also a principal without history over anomaly's floor.
        detections: ["token-volume", "anomaly"],
        requestCount: null,
        cachedInputRequests: null,
        volumeTokens: 47_400_000,
        peakHourTokens: 47_400_000,
      },
      {
        accountId: CASES.cachedLeak,
        detections: ["cached-input"],
        requestCount: null,
        cachedInputRequests: 6,
        volumeTokens: null,
        peakHourTokens: 6 * (180_006 + 350),
      },
    ]);
    const flood = report.findings[0];
    expect(flood?.tokenVolume).toMatchObject({
      principal: FLOOD_ARN,
      requests: 3000,
      hourStart: "2026-11-19T14:00:00.000Z",
      hourEnd: "2026-11-19T15:00:00.000Z",
      exceeded: ["tokens"],
      hoursOver: 1,
    });
    expect(report.findings[1]?.cachedInput).toMatchObject({
      sumCachedInputTokens: 1_080_036,
      maxCachedInputTokens: 180_006,
    });
    // The hunt alone (the new detections switched off by thresholds nothing reaches) flags nobody.
    const huntOnly = JSON.parse(
      scan(
        "--format",
        "json",
        "--cached-input-tokens",
        "999999999999999",
        "--tokens-per-hour",
        "999999999999999",
        "--requests-per-hour",
        "1000000000",
        "--anomaly-floor-tokens",
        "999999999999999",
      ),
    ) as { findings: Finding[] };
    expect(huntOnly.findings).toEqual([]);
  });

  it("the table says it in plain words", () => {
    const table = scan("--format", "table", "--wide");
    expect(table).toContain("cached-input: 6 requests read 1.08 M cached prompt tokens");
    expect(table).toContain(`token-volume: 47.4 M tokens in one hour from ${FLOOD_ARN} (3,000 requests`);
    expect(table).toContain("2 account(s) flagged");
  });

  it("the scheduled Lambda over stored 15-minute periods (also halved at the row limit) and a manual run give the scanner's findings", async () => {
    const expected = (JSON.parse(scan("--format", "json")) as { findings: Finding[] }).findings;
    emulateInsights(insights, () => records);
    const config = detectorConfig({ SCHEDULE: "15m", LOOKBACK: "24h" });
    const stored = new Map<string, StoredSlice>();
    const slices = {
      read: async () => [...stored.values()],
      write: async (s: StoredSlice) => {
        stored.set(cellKey(s.window), s);
      },
    };
    const logged = async (trigger: "scheduled" | "manual", rowLimit?: number) => {
      stored.clear();
      const { deps, rec } = detectionDeps({ slices, rowLimit }, DAY.endMs + 600_000);
      const run = await runDetection(config, { trigger, dryRun: true, window: DAY }, deps);
      const findings = rec.lines
        .filter((l) => l.message === "finding")
        .map((l) => l.extra[0] as Record<string, unknown>);
      const accountLevel = rec.lines.some((l) => l.message.includes("using account-level rows"));
      return { run, findings, accountLevel };
    };
    const scheduled = await logged("scheduled");
    expect(scheduled.run.slices).toMatchObject({ periods: 96, queried: 96, pending: 0 });
    const manual = await logged("manual");
    expect(manual.run.queries).toBe(1);
    // Periods of 121 rows against a limit of 70: each is halved until its rows fit, and stays exact.
    const halved = await logged("scheduled", 70);
    expect(halved.run.fellBack).toBe(true);
    expect(halved.accountLevel).toBe(false);
    expect(halved.run.queries).toBeGreaterThan(96);
    for (const { findings } of [scheduled, manual, halved]) {
      expect(
        findings.map((f) => ({
          accountId: f.accountId,
          detections: f.detections,
          requestCount: f.requestCount,
          cachedInputRequests: f.cachedInputRequests,
          peakHourTokens: f.peakHourTokens,
        })),
      ).toEqual(
        expected.map((f) => ({
          accountId: f.accountId,
          detections: f.detections,
          requestCount: f.requestCount,
          cachedInputRequests: f.cachedInput?.requestCount ?? null,
          peakHourTokens: f.peakHourTokens,
        })),
      );
    }
  }, 120_000);
});
