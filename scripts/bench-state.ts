/**
 * State-table traffic of one scheduled run in steady state, with anomaly's history in place, for N principals
 * (default 1,000 and 20,000): items and bytes read and written, as the run reports them (log line "state
 * table traffic", metrics StateItemsRead/StateBytesRead/StateItemsWritten/StateBytesWritten). The real adapters
 * run against a real DynamoDB API (dynalite); Logs Insights is emulated for the one new period.
 *
 * The set-up: a 24-hour lookback every 15 minutes, 7 baseline days. Every principal sends one request in every
 * period (the worst case: each is active every hour), a few (`hot`) heavy enough to be over anomaly's floor. The
 * window's periods are stored, the history index holds the 168 hours before, and the hot principals have their
 * roll-ups. Two runs are measured: one inside an hour (no hour ends) and one at an hour's end (that hour's
 * roll-ups are written, one item per principal).
 *
 *   npx tsx scripts/bench-state.ts [principals ...]
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { ENV } from "../config/environment.js";
import { withoutSession } from "../core/principal.js";
import { DAY_MS, HOUR_MS, hourOf } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import { HistoryStore } from "../lambda/adapters/history-store.js";
import { SliceStore } from "../lambda/adapters/slice-store.js";
import { StateUsage } from "../lambda/adapters/state-usage.js";
import { runDetection } from "../lambda/run-detection.js";
import { detectionDeps, detectorConfig } from "../test/helpers/aws.js";
import { startDynalite } from "../test/helpers/dynalite.js";
import { emulateInsights } from "../test/helpers/insights-emulator.js";
import { rec } from "../test/helpers/records.js";

const counts = process.argv.slice(2).map(Number);
const PRINCIPALS = counts.length > 0 ? counts : [1000, 20_000];
const PERIOD = 15 * 60_000;
const HOT = 10;
const config = detectorConfig({ [ENV.schedule]: "15m", [ENV.lookback]: "24h", [ENV.baselineDays]: "7" });

const account = (i: number) => String(100000000000 + (i % 200));
const identity = (i: number) => `arn:aws:sts::${account(i)}:assumed-role/service-${i}/session-1`;
/** Tokens of one principal's request in one period: hot ones 1 M (4 M an hour, over the 2 M floor). */
const tokensOf = (i: number) => (i < HOT ? 1_000_000 : 20_000);

function group(i: number, startMs: number): UsageGroup {
  const tokens = tokensOf(i);
  return {
    accountId: account(i),
    identityArn: identity(i),
    modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0",
    hourMs: hourOf(startMs),
    requests: 1,
    firstSeenMs: startMs + 1000,
    lastSeenMs: startMs + 1000,
    inputTokens: 7000,
    cacheReadTokens: tokens - 8000,
    cacheWriteTokens: 0,
    outputTokens: 1000,
    cachedInputRequests: 0,
    cachedInputTokens: 0,
    maxCachedInputTokens: tokens - 1000,
    hunt: null,
  };
}

const insights = mockClient(CloudWatchLogsClient);
const db = await startDynalite();
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
console.log(
  "principals  run        read: periods (items, bytes)  history (items, bytes)   written: items, bytes   run time",
);
for (const n of PRINCIPALS) {
  for (const at of ["mid-hour", "hour end"] as const) {
    const table = await db.createTable();
    const periodUsage = new StateUsage();
    const historyUsage = new StateUsage();
    const slices = new SliceStore(db.client, table, periodUsage);
    const history = new HistoryStore(db.client, table, historyUsage);
    // The run's window ends at 12:30 (inside an hour) or 13:00 (the 12:00 hour ends).
    const endMs = Date.parse(at === "mid-hour" ? "2026-11-20T12:30:00Z" : "2026-11-20T13:00:00Z");
    const rangeStart = hourOf(endMs - DAY_MS);
    // Every period of the window stored but the newest, which the run queries.
    for (let s = rangeStart; s < endMs - PERIOD; s += PERIOD) {
      const groups = Array.from({ length: n }, (_, i) => group(i, s));
      await slices.write(
        { window: { startMs: s, endMs: s + PERIOD }, groups, bytesScanned: 0, requeried: true },
        endMs + DAY_MS,
        1,
      );
    }
    // The history: every hour of the week before rolled up; the hot principals' roll-ups present.
    const hours = new Set<number>();
    for (let h = rangeStart - 7 * DAY_MS; h < rangeStart; h += HOUR_MS) hours.add(h);
    // The hour before the window's periods too, when it ends inside the range: as the runs before would have.
    for (let h = rangeStart; h + HOUR_MS <= endMs - PERIOD; h += HOUR_MS) hours.add(h);
    await history.writeIndex(hours);
    await history.writeHours(
      [...hours].flatMap((h) =>
        Array.from({ length: HOT }, (_, i) => ({
          accountId: account(i),
          principal: withoutSession(identity(i)),
          hourMs: h,
          tokens: 4 * tokensOf(i),
        })),
      ),
      () => endMs + DAY_MS,
    );
    // The newest period's requests, for the emulated Logs Insights.
    const newest = endMs - PERIOD;
    const records = Array.from({ length: n }, (_, i) =>
      rec({
        accountId: account(i),
        identityArn: identity(i),
        modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        // Under the hunt's thresholds: only the hot principals' volume (and cached input) stands out.
        promptTokens: 7000,
        cacheReadTokens: tokensOf(i) - 8000,
        completionTokens: 1000,
        timestamp: new Date(newest + Math.floor((i * PERIOD) / n)).toISOString(),
      }),
    );
    insights.reset();
    emulateInsights(insights, () => records);
    const before = { p: periodUsage.snapshot(), h: historyUsage.snapshot() };
    const { deps } = detectionDeps({ slices, history }, endMs + 5 * 60_000);
    const started = performance.now();
    const summary = await runDetection(
      { ...config, requeryPreviousSlice: false },
      { trigger: "scheduled", dryRun: true, window: { startMs: endMs - DAY_MS, endMs } },
      deps,
    );
    const wall = (performance.now() - started) / 1000;
    const p = periodUsage.snapshot();
    const h = historyUsage.snapshot();
    const col = (items: number, bytes: number) => `${items.toLocaleString("en-US")}, ${mb(bytes)}`.padEnd(22);
    console.log(
      `${String(n).padStart(10)}  ${at.padEnd(9)}  ${col(p.itemsRead - before.p.itemsRead, p.bytesRead - before.p.bytesRead)}  ` +
        `${col(h.itemsRead - before.h.itemsRead, h.bytesRead - before.h.bytesRead)}  ` +
        `${col(p.itemsWritten - before.p.itemsWritten + h.itemsWritten - before.h.itemsWritten, p.bytesWritten - before.p.bytesWritten + h.bytesWritten - before.h.bytesWritten)}  ` +
        `${wall.toFixed(1)} s  (roll-ups read for ${summary.slices?.historyPrincipals} principals; ${summary.findings} findings${summary.fellBack ? "; rows over the limit, halved" : ""})`,
    );
  }
}
await db.stop();
