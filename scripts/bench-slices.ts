/**
 * What one day of scheduled runs queries, as a multiple of the day's log volume: the whole-window run model
 * (every run queries its 24-hour lookback) against stored slices, hourly and every 15 minutes. Logs Insights
 * is emulated at the SDK boundary (one byte per record), the slices kept in memory. Then what a stored period
 * holds (usage rows, compressed bytes) on a day of mixed traffic.
 *
 *   npx tsx scripts/bench-slices.ts [records per day, default 5000]
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { buildInsightsQuery } from "../core/insights-query.js";
import { parseUsageRows } from "../core/insights-rows.js";
import { type InvocationRecord, readRecord } from "../core/record-reader.js";
import { cellKey } from "../core/slices.js";
import { encodeParts, type StoredSlice } from "../lambda/adapters/slice-store.js";
import { runDetection } from "../lambda/run-detection.js";
import { toRunRequest } from "../lambda/run-request.js";
import { detectionDeps, detectorConfig } from "../test/helpers/aws.js";
import { detectionCorpus } from "../test/helpers/detection-cases.js";
import { emulateInsights, rowsFor } from "../test/helpers/insights-emulator.js";
import { rec } from "../test/helpers/records.js";

// The ratios do not depend on the volume; the emulator interprets the query text over every record of a window.
const perDay = Number(process.argv[2] ?? 5000);
const DAY_START = Date.parse("2026-11-19T00:00:00Z");
const DAY = 86_400_000;
// Three days of traffic: a warm-up day (slices start empty: its first run queries the day before once, as a
// fresh deployment does), then the measured day.
const records: InvocationRecord[] = Array.from({ length: 3 * perDay }, (_, i) => {
  const t = DAY_START - DAY + Math.floor((i * 3 * DAY) / (3 * perDay));
  return rec({
    accountId: String(100000000000 + (i % 50)),
    promptTokens: i % 97 === 0 ? 9000 : 100,
    timestamp: new Date(t).toISOString(),
  });
});

const insights = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
sns.on(PublishCommand).resolves({ MessageId: "m" });

async function day(schedule: "1h" | "15m", slices: boolean): Promise<number> {
  insights.reset();
  const config = detectorConfig({ SCHEDULE: schedule, LOOKBACK: "24h" });
  emulateInsights(insights, () => records);
  const stored = new Map<string, StoredSlice>();
  const store = {
    read: async () => [...stored.values()],
    write: async (s: StoredSlice) => {
      stored.set(cellKey(s.window), s);
    },
  };
  const period = schedule === "1h" ? 3_600_000 : 900_000;
  let bytes = 0;
  for (let t = DAY_START + 5 * 60_000; t < DAY_START + 2 * DAY; t += period) {
    const { deps } = detectionDeps(slices ? { slices: store } : {}, t);
    const request = toRunRequest({ scheduledTime: new Date(t).toISOString() }, config, t);
    const summary = await runDetection(config, request, deps);
    // The second day of runs only.
    if (t >= DAY_START + DAY) bytes += summary.statistics.bytesScanned;
  }
  return bytes;
}

console.log(`records per day: ${perDay} (1 byte each)`);
console.log("run model          cadence  bytes queried in the day  x day's volume");
for (const [name, slices] of [
  ["whole window", false],
  ["stored slices", true],
] as const) {
  for (const schedule of ["1h", "15m"] as const) {
    const bytes = await day(schedule, slices);
    console.log(
      `${name.padEnd(18)} ${schedule.padEnd(8)} ${String(bytes).padStart(24)}  ${(bytes / perDay).toFixed(2).padStart(14)}`,
    );
  }
}
console.log("(the second day of runs; on a fresh deployment the first run also queries its lookback once)");

// What a stored period holds on a day of mixed traffic (test/helpers/detection-cases.ts: 43 accounts, an hourly
// rotating role, a flood and a cached-prompt leak): usage rows and compressed bytes per 15-minute period.
{
  const corpus = detectionCorpus().flatMap((l) => {
    const r = readRecord(l);
    return r.ok ? [r.record] : [];
  });
  const config = detectorConfig({ SCHEDULE: "15m", LOOKBACK: "24h" });
  const rows: number[] = [];
  const bytes: number[] = [];
  for (let t = DAY_START; t < DAY_START + DAY; t += 900_000) {
    const cell = { startMs: t, endMs: t + 900_000 };
    const query = buildInsightsQuery(config.rule, cell, { shape: "usage" });
    const { groups } = parseUsageRows(rowsFor(corpus, query), cell);
    rows.push(groups.length);
    bytes.push(encodeParts(groups).reduce((n, p) => n + p.length, 0));
  }
  const stat = (xs: number[]) =>
    `min ${Math.min(...xs)}, mean ${Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)}, max ${Math.max(...xs)}`;
  console.log(`\nstored per 15-minute period, ${corpus.length} records in the day:`);
  console.log(`  usage rows:       ${stat(rows)}`);
  console.log(`  bytes (gzip):     ${stat(bytes)}; the day: ${bytes.reduce((a, b) => a + b, 0)}`);
}
