/** Shared set-up for tests at the AWS SDK boundary (aws-sdk-client-mock). */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { SNSClient } from "@aws-sdk/client-sns";
import { vi } from "vitest";
import type { DetectionDeps, Log, MetricSink } from "../../lambda/run-detection.js";

/** A fake clock: sleeping advances time instantly, so backoff and deadlines are tested without waiting. */
export function fakeClock(startMs = Date.parse("2026-11-20T00:10:00Z")) {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

/** Captures log lines and metrics as plain data. */
export function recorder() {
  const lines: { level: string; message: string; extra: Record<string, unknown>[] }[] = [];
  const metrics: { name: string; unit: string; value: number }[] = [];
  const at =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, extra });
  const log: Log = { info: at("info"), warn: at("warn"), error: at("error") };
  const sink: MetricSink = {
    addMetric: vi.fn((name: string, unit: string, value: number) => metrics.push({ name, unit, value })),
  };
  return { log, sink, lines, metrics, text: () => JSON.stringify(lines) };
}

/** Insights result rows in the SDK's shape. */
export function resultRows(rows: Record<string, string>[]) {
  return rows.map((r) => Object.entries(r).map(([field, value]) => ({ field, value })));
}

/** runDetection's dependencies with SDK clients (mock them with aws-sdk-client-mock), a fake clock and a recorder. */
export function detectionDeps(overrides: Partial<DetectionDeps> = {}, startMs?: number) {
  const clock = fakeClock(startMs);
  const rec = recorder();
  const deps: DetectionDeps = {
    logs: new CloudWatchLogsClient({ region: "us-east-1" }),
    sns: new SNSClient({ region: "us-east-1" }),
    log: rec.log,
    metrics: rec.sink,
    region: "us-east-1",
    now: clock.now,
    sleep: clock.sleep,
    remainingTimeMs: () => 600_000,
    ...overrides,
  };
  return { deps, rec, clock };
}
