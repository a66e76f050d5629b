/**
 * Each principal against its own history (issue 17), over eight days of four principals
 * (helpers/anomaly-cases.ts): the scanner (the real CLI over gzip files) flags the ETL role at 30x its usual
 * hour and the never-seen key, and neither the nightly batch nor the steady service; the scheduled Lambda,
 * deployed cold on a real DynamoDB API (dynalite) with Logs Insights emulated, catches its history up within a
 * few runs and then gives the scanner's findings; a manual run uses the history stored, and says when there
 * is none.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import type { Finding } from "../../core/finding.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { HOUR_MS, type Window } from "../../core/rule.js";
import { AlertLedger } from "../../lambda/adapters/alert-ledger.js";
import { HistoryStore } from "../../lambda/adapters/history-store.js";
import { SliceStore } from "../../lambda/adapters/slice-store.js";
import { StateUsage } from "../../lambda/adapters/state-usage.js";
import { findingLogFields, type RunSummary, runDetection } from "../../lambda/run-detection.js";
import { toRunRequest } from "../../lambda/run-request.js";
import {
  ANOMALY_CASES,
  ANOMALY_WINDOW,
  anomalyLines,
  anomalyRecords,
  ETL_ROLE,
  ETL_SPIKE,
  NEW_KEY,
  NEW_KEY_HOUR,
} from "../helpers/anomaly-cases.js";
import { detectionDeps, detectorConfig } from "../helpers/aws.js";
import { startDynalite } from "../helpers/dynalite.js";
import { emulateInsights } from "../helpers/insights-emulator.js";

const CLI = "dist/cli.mjs";
const insights = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);

const lines = anomalyLines();
const records = anomalyRecords(lines);
const before = lines.filter((l) => l.timestampMs < ANOMALY_WINDOW.startMs);
const inside = lines.filter((l) => l.timestampMs >= ANOMALY_WINDOW.startMs);
const dir = mkdtempSync(join(tmpdir(), "bdd-anomaly-"));
const dayOnly = mkdtempSync(join(tmpdir(), "bdd-anomaly-day-"));
const gz = (ls: typeof lines) => gzipSync(`${ls.map((l) => l.text).join("\n")}\n`);
writeFileSync(join(dir, "week.json.gz"), gz(before));
writeFileSync(join(dir, "day.json.gz"), gz(inside));
writeFileSync(join(dayOnly, "day.json.gz"), gz(inside));
const iso = (ms: number) => new Date(ms).toISOString();

function scan(path: string, ...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [CLI, "scan", "--start", iso(ANOMALY_WINDOW.startMs), "--end", iso(ANOMALY_WINDOW.endMs), ...args, path],
    { encoding: "utf8", timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

interface Report {
  findings: Finding[];
  history: { complete: boolean; foundDays: number; records: number; baselineDays: number };
}

/** What an anomaly finding says, engine-independent. */
const anomalyOf = (f: Pick<Finding, "accountId" | "detections" | "anomaly">) => ({
  accountId: f.accountId,
  detections: f.detections,
  principal: f.anomaly?.principal,
  hourStart: f.anomaly?.hourStart,
  totalTokens: f.anomaly?.totalTokens,
  baselineTokens: f.anomaly?.baselineTokens,
  historyHours: f.anomaly?.historyHours,
});

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});
beforeEach(() => {
  insights.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

describe("anomaly: each principal against its own history", () => {
  it("the corpus holds what the issue describes, under every other detection's thresholds", () => {
    const hourTokens = (account: string, hourMs: number) =>
      records
        .filter((r) => r.accountId === account && r.timestampMs >= hourMs && r.timestampMs < hourMs + HOUR_MS)
        .reduce(
          (n, r) => n + (r.promptTokens ?? 0) + (r.cacheReadTokens ?? 0) + (r.completionTokens ?? 0),
          0,
        );
    expect(hourTokens(ANOMALY_CASES.etl, ETL_SPIKE.hourMs)).toBe(ETL_SPIKE.tokens);
    expect(ETL_SPIKE.tokens / ETL_SPIKE.usual).toBe(30);
    expect(hourTokens(ANOMALY_CASES.newKey, NEW_KEY_HOUR.hourMs)).toBe(NEW_KEY_HOUR.tokens);
    expect(
      records
        .filter((r) => r.accountId === ANOMALY_CASES.newKey)
        .every((r) => r.timestampMs >= NEW_KEY_HOUR.hourMs),
    ).toBe(true);
    // Every night at 02:00 the batch is large; the service sends 0.5 M every hour.
    for (let day = 0; day < 8; day++) {
      const night = ANOMALY_WINDOW.startMs - (7 - day) * 24 * HOUR_MS + 2 * HOUR_MS;
      expect(hourTokens(ANOMALY_CASES.nightly, night)).toBe(5_040_000);
      expect(hourTokens(ANOMALY_CASES.steady, night)).toBe(500_000);
    }
    expect(records.every((r) => (r.promptTokens ?? 0) <= 8000 && (r.completionTokens ?? 0) <= 8000)).toBe(
      true,
    );
  });

  it("the scanner flags the ETL role's 30x hour and the never-seen key, not the nightly batch or the steady service", () => {
    const report = JSON.parse(scan(dir, "--format", "json")) as Report;
    expect(report.history).toMatchObject({ complete: true, foundDays: 7, baselineDays: 7 });
    expect(report.findings.map(anomalyOf)).toEqual([
      {
        accountId: ANOMALY_CASES.newKey,
        detections: ["anomaly"],
        principal: NEW_KEY,
        hourStart: iso(NEW_KEY_HOUR.hourMs),
        totalTokens: NEW_KEY_HOUR.tokens,
        baselineTokens: 0,
        historyHours: 168,
      },
      {
        accountId: ANOMALY_CASES.etl,
        detections: ["anomaly"],
        principal: ETL_ROLE,
        hourStart: iso(ETL_SPIKE.hourMs),
        totalTokens: ETL_SPIKE.tokens,
        baselineTokens: ETL_SPIKE.usual,
        historyHours: 168,
      },
    ]);
    expect(report.findings[1]?.anomaly).toMatchObject({ thresholdTokens: 2_000_000, activeHours: 70 });
    const table = scan(dir, "--format", "table", "--wide");
    expect(table).toContain(
      `anomaly: 3.6 M tokens in 14:00-15:00 UTC on 2026-11-19 from ${ETL_ROLE} (60 requests), 30x its usual busiest hour (0.12 M) over the last 7 days`,
    );
    expect(table).toContain(
      `anomaly: 4 M tokens in 09:00-10:00 UTC on 2026-11-19 from ${NEW_KEY} (50 requests), a principal with no requests in the last 7 days; over the floor of 2 M`,
    );
    expect(table).toMatch(/History +7 days before the window, from 2026-11-12 00:00Z: found, /);
  });

  it("with history shorter than asked, it computes on what there is and says so", () => {
    const report = JSON.parse(scan(dayOnly, "--format", "json")) as Report;
    expect(report.history).toMatchObject({ complete: false, foundDays: 0, records: 0 });
    // Without its nights before, the batch is a principal over the floor with no history.
    expect(report.findings.map((f) => f.accountId).sort()).toEqual(
      [ANOMALY_CASES.etl, ANOMALY_CASES.newKey, ANOMALY_CASES.nightly].sort(),
    );
    expect(scan(dayOnly, "--format", "table", "--wide")).toContain("SHORTER THAN ASKED");
    // --baseline-days 0: every principal against the floor alone, and nothing read before the window.
    const none = JSON.parse(scan(dir, "--format", "json", "--baseline-days", "0")) as Report;
    expect(none.history).toMatchObject({ baselineDays: 0, records: 0 });
  });

  it("the scheduled Lambda, deployed cold, catches its history up within a few runs and then gives the scanner's findings", async () => {
    emulateInsights(insights, () => records);
    const table = await db.createTable();
    const usage = new StateUsage();
    const stores = {
      ledger: new AlertLedger(db.client, table),
      slices: new SliceStore(db.client, table, usage),
      history: new HistoryStore(db.client, table, usage, async () => {}),
      stateUsage: usage,
    };
    const config = detectorConfig({ [ENV.schedule]: "15m", [ENV.lookback]: "24h" });
    const runs: { summary: RunSummary; findings: Record<string, unknown>[]; window: Window }[] = [];
    for (let k = 0; k < 6; k++) {
      const t = ANOMALY_WINDOW.endMs + k * 15 * 60_000 + 5 * 60_000;
      // About 100 queries fit in each run's time (each query takes a poll of the fake clock).
      const { deps, rec } = detectionDeps({ ...stores, remainingTimeMs: () => 200_000 }, t);
      const request = toRunRequest({ scheduledTime: iso(t) }, config, t);
      const summary = await runDetection(config, request, deps);
      runs.push({
        summary,
        window: request.window,
        findings: rec.lines
          .filter((l) => l.message === "finding")
          .map((l) => l.extra[0] as Record<string, unknown>),
      });
    }
    const pending = runs.map((r) => r.summary.slices?.historyPending);
    expect(pending[0]).toBe(168);
    expect(pending.indexOf(0)).toBeGreaterThan(0);
    expect(pending.indexOf(0)).toBeLessThanOrEqual(3);
    // While history was incomplete, the alerts said so.
    const first = JSON.parse(String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message))
      .email as string;
    expect(first).toContain("anomaly's history is incomplete");
    // Once caught up: the scanner's findings over the same records and window, every run.
    for (const run of runs.slice(pending.indexOf(0))) {
      const evaluator = new RuleEvaluator(config.rule, run.window);
      for (const r of records) evaluator.add(r);
      const expected = evaluator.findings().map(findingLogFields);
      expect(run.findings).toEqual(expected);
      expect(expected.map((f) => f.accountId)).toEqual([ANOMALY_CASES.newKey, ANOMALY_CASES.etl]);
    }
    // Steady state: each run queries one period and reads the window's periods, the index, and the roll-ups of
    // the three principals over the floor (the batch too: only its baseline clears it); it writes one period
    // (and an hour's roll-ups when an hour ends).
    const steady = runs.at(-1)?.summary;
    expect(steady?.slices).toMatchObject({ queried: 1, historyQueried: 0, historyPrincipals: 3 });
    expect(steady?.state?.itemsRead).toBeLessThan(400);

    // A manual run (a backfill of the eighth day) uses the history the scheduled runs stored...
    const manual = async (deps: Partial<Parameters<typeof detectionDeps>[0]>) => {
      const { deps: d, rec } = detectionDeps(deps, ANOMALY_WINDOW.endMs + 3 * HOUR_MS);
      await runDetection(config, { trigger: "manual", dryRun: true, window: ANOMALY_WINDOW }, d);
      return rec.lines
        .filter((l) => l.message === "finding")
        .map((l) => l.extra[0] as Record<string, unknown>);
    };
    const scanned = (JSON.parse(scan(dir, "--format", "json")) as Report).findings;
    const backfill = await manual({ history: stores.history });
    expect(
      backfill.map((f) => [
        f.accountId,
        f.detections,
        (f.anomaly as { baselineTokens: number }).baselineTokens,
      ]),
    ).toEqual(scanned.map((f) => [f.accountId, f.detections, f.anomaly?.baselineTokens]));
    // ...and where none is stored, says so on every finding.
    const fresh = new HistoryStore(db.client, await db.createTable(), new StateUsage());
    sns.reset();
    const { deps: d } = detectionDeps({ history: fresh }, ANOMALY_WINDOW.endMs + 3 * HOUR_MS);
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    await runDetection(config, { trigger: "manual", dryRun: false, window: ANOMALY_WINDOW }, d);
    const emails = sns
      .commandCalls(PublishCommand)
      .map((c) => JSON.parse(String(c.args[0].input.Message)).email as string);
    expect(emails.length).toBeGreaterThan(0);
    for (const e of emails)
      expect(e).toContain("anomaly: no history is stored for the 168 hours before this window");
  }, 120_000);
});
