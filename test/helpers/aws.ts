/** Shared set-up for tests at the AWS SDK boundary (aws-sdk-client-mock). */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { vi } from "vitest";
import { ENV } from "../../config/environment.js";
import { type DetectorConfig, loadConfig } from "../../lambda/config.js";
import type { DetectionDeps, Log, MetricSink } from "../../lambda/detection-deps.js";

export const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts";

/** The smallest valid function environment (what the construct writes, plus Lambda's AWS_REGION). */
export function detectorEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    [ENV.logGroupIdentifiers]: "/aws/bedrock/invocations",
    [ENV.alertTopicArn]: TOPIC,
    [ENV.region]: "us-east-1",
    ...extra,
  };
}

/** The function's configuration for that environment. */
export const detectorConfig = (extra: Record<string, string> = {}): DetectorConfig =>
  loadConfig(detectorEnv(extra));

/** A Lambda context for the handler (middy and Powertools read its fields). */
export function lambdaContext(remainingMs = 300_000) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "detector",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:detector",
    memoryLimitInMB: "512",
    awsRequestId: "req-1",
    logGroupName: "/aws/lambda/detector",
    logStreamName: "stream",
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The hunt's view of a group of matching requests, as the tests describe them. */
export interface HuntRowSpec {
  account: string;
  identityArn?: string;
  model?: string;
  requestCount: string;
  maxPromptTokens?: string;
  maxRequestSize?: string;
  maxCompletionTokens?: string;
  maxCacheInclusiveInputTokens?: string;
  /** Insights' time format, `2026-11-19 10:00:00.000`. */
  firstSeen: string;
  lastSeen: string;
}

const plus1 = (v: string | undefined) => (v === undefined || v === "" ? "" : String(Number(v) + 1));

/**
 * A usage row (the `usage` query shape: account, identity, model, hour) as Logs Insights returns it, every value
 * a string, for requests that all match the hunt with the given maxima. Without the hour and the hunt's own
 * first/last seen (those are relative to the queried window): the row's first seen gives the hour, and the
 * hunt's times are the row's.
 */
export function usageRow(spec: HuntRowSpec): Record<string, string> {
  const n = Number(spec.requestCount);
  const prompt = spec.maxPromptTokens ?? "";
  return {
    account: spec.account,
    ...(spec.identityArn === undefined ? {} : { identityArn: spec.identityArn }),
    ...(spec.model === undefined ? {} : { model: spec.model }),
    requests: spec.requestCount,
    firstSeen: spec.firstSeen,
    lastSeen: spec.lastSeen,
    sumInputTokens: prompt === "" || Number.isNaN(n) ? "0" : String(Number(prompt) * n),
    sumCacheReadTokens: "0",
    sumCacheWriteTokens: "0",
    sumOutputTokens: "0",
    cachedInputRequests: "0",
    cachedInputTokens: "0",
    maxCachedInputTokens: spec.maxCacheInclusiveInputTokens ?? prompt,
    huntRequests: spec.requestCount,
    huntMaxPromptTokensPlus1: plus1(spec.maxPromptTokens),
    huntMaxRequestSizePlus1: plus1(spec.maxRequestSize),
    huntMaxCompletionTokensPlus1: plus1(spec.maxCompletionTokens),
    huntMaxCachedInputTokensPlus1: plus1(spec.maxCacheInclusiveInputTokens ?? spec.maxPromptTokens),
  };
}

/** One usage row: `count` requests matching the hunt, max prompt tokens `prompt` ("" for none), completion 12. */
export function evidenceRow(
  account: string,
  identity: string,
  model: string,
  count: number,
  prompt: number | "" = 9000,
): Record<string, string> {
  return {
    ...usageRow({
      account,
      identityArn: identity,
      model,
      requestCount: String(count),
      maxPromptTokens: prompt === "" ? "" : String(prompt),
      maxCompletionTokens: "12",
      firstSeen: "2026-11-19 10:00:00.000",
      lastSeen: "2026-11-19 11:00:00.000",
    }),
    sumOutputTokens: String(12 * count),
  };
}

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

/** An EventBridge client that accepts every event (its own instance mock; tests that check events pass theirs). */
export function acceptingEventBridge(): EventBridgeClient {
  const client = new EventBridgeClient({ region: "us-east-1" });
  mockClient(client)
    .on(PutEventsCommand)
    .callsFake((input: { Entries?: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `event-${i}` })),
    }));
  return client;
}

/** runDetection's dependencies with SDK clients (mock them with aws-sdk-client-mock), a fake clock and a recorder. */
export function detectionDeps(overrides: Partial<DetectionDeps> = {}, startMs?: number) {
  const clock = fakeClock(startMs);
  const rec = recorder();
  const deps: DetectionDeps = {
    insights: new CloudWatchLogsClient({ region: "us-east-1" }),
    sns: new SNSClient({ region: "us-east-1" }),
    events: acceptingEventBridge(),
    logger: rec.log,
    metrics: rec.sink,
    now: clock.now,
    sleep: clock.sleep,
    remainingTimeMs: () => 600_000,
    ...overrides,
  };
  return { deps, rec, clock };
}
