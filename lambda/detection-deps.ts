/**
 * What a detection run is given (run-detection.ts, and the evaluations and queries it runs): the AWS clients,
 * clock, logger, metrics and stores, so that tests pass their own.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecurityHubClient } from "@aws-sdk/client-securityhub";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { AlertLedger } from "./adapters/alert-ledger.js";
import type { SliceStore } from "./adapters/slice-store.js";
import type { StateUsage } from "./adapters/state-usage.js";
import type { HistoryDeps } from "./anomaly-history.js";

/** The slice of Powertools Logger used here. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The slice of Powertools Metrics used here (units as Powertools names them). */
export interface MetricSink {
  addMetric(name: string, unit: "Count" | "Bytes" | "Milliseconds", value: number): unknown;
}

export interface DetectionDeps {
  /** CloudWatch Logs, for the Insights queries. */
  readonly insights: CloudWatchLogsClient;
  readonly sns: SNSClient;
  /** EventBridge, for the finding events. */
  readonly events: EventBridgeClient;
  /** Security Hub, for the optional import (config.securityHubProductArn). */
  readonly securityHub?: SecurityHubClient;
  readonly logger: Log;
  readonly metrics: MetricSink;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Milliseconds left before the Lambda times out. */
  remainingTimeMs(): number;
  /** Row limit per query (tests lower it to exercise the fallbacks). */
  readonly rowLimit?: number;
  /** Remembers sent alerts (retry dedup and suppression); without it every flagged account is alerted. */
  readonly ledger?: Pick<AlertLedger, "lastAlert" | "recordAlert">;
  /** Stored slices; without it scheduled runs query their whole window. */
  readonly slices?: Pick<SliceStore, "read" | "write">;
  /** anomaly's hourly roll-ups per principal; without it anomaly compares with the window's own hours only. */
  readonly history?: HistoryDeps;
  /** Counts the state table's traffic (shared by the stores above), reported per run. */
  readonly stateUsage?: Pick<StateUsage, "snapshot">;
}
