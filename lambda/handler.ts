/**
 * Lambda entry point: a thin shell that validates configuration at cold start, reads the event and wires the
 * SDK clients, the clock, and Powertools Logger and Metrics (through their middy middlewares: Lambda context
 * and cold start in every log line, metrics flushed by the library) into runDetection. A failed run fails the
 * invocation, so alarms, retries and the on-failure destination see it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SNSClient } from "@aws-sdk/client-sns";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { ENV } from "../config/environment.js";
import {
  DETECTOR_DIMENSION,
  METRIC,
  POWERTOOLS_METRICS_NAMESPACE,
  POWERTOOLS_SERVICE_NAME,
} from "../config/names.js";
import { AlertLedger } from "./adapters/alert-ledger.js";
import { HistoryStore } from "./adapters/history-store.js";
import { SliceStore } from "./adapters/slice-store.js";
import { StateUsage } from "./adapters/state-usage.js";
import { DEFAULT_DETECTOR_LABEL, type DetectorConfig, loadConfig } from "./config.js";
import { type RunSummary, runDetection } from "./run-detection.js";
import { toRunRequest } from "./run-request.js";

const logger = new Logger({ serviceName: POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({
  serviceName: POWERTOOLS_SERVICE_NAME,
  namespace: POWERTOOLS_METRICS_NAMESPACE,
});

// Cold start: validate once; a bad value fails every invocation with one line naming the variable.
let config: DetectorConfig | undefined;
let configError: Error | undefined;
try {
  config = loadConfig(process.env);
} catch (err) {
  configError = err as Error;
}
// Every metric carries the detector's label, so each stack's health alarms watch only their own runs (even
// a run that failed on its configuration).
metrics.setDefaultDimensions({
  [DETECTOR_DIMENSION]:
    config?.detectorLabel ?? (process.env[ENV.detectorLabel]?.trim() || DEFAULT_DETECTOR_LABEL),
});

// Built once per execution environment and reused across invocations.
const insights = new CloudWatchLogsClient({});
const sns = new SNSClient({});
const events = new EventBridgeClient({});
const securityHub = config?.securityHubProductArn ? new SecurityHubClient({}) : undefined;
const dynamodb = new DynamoDBClient({});
const ledger = config?.stateTable ? new AlertLedger(dynamodb, config.stateTable) : undefined;
const stateUsage = new StateUsage();
const slices = config?.stateTable ? new SliceStore(dynamodb, config.stateTable, stateUsage) : undefined;
const history = config?.stateTable ? new HistoryStore(dynamodb, config.stateTable, stateUsage) : undefined;

async function run(event: unknown, context: Pick<Context, "getRemainingTimeInMillis">): Promise<RunSummary> {
  try {
    if (!config) throw configError ?? new Error("configuration missing");
    const request = toRunRequest(event, config, Date.now());
    logger.info("run started", {
      trigger: request.trigger,
      dryRun: request.dryRun,
      window: {
        start: new Date(request.window.startMs).toISOString(),
        end: new Date(request.window.endMs).toISOString(),
      },
    });
    const summary = await runDetection(config, request, {
      insights,
      sns,
      events,
      securityHub,
      logger,
      metrics,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      ledger,
      slices,
      history,
      stateUsage,
    });
    metrics.addMetric(METRIC.runSucceeded, MetricUnit.Count, 1);
    logger.info("run complete", { ...summary });
    return summary;
  } catch (err) {
    metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
    // A zero, not a gap: the "no successful run" alarm goes to ALARM on a failed run.
    metrics.addMetric(METRIC.runSucceeded, MetricUnit.Count, 0);
    const e = err as Error;
    // The reason in the message; the error itself (class, stack, cause) in the `error` field.
    logger.error(`run failed: ${e.name}: ${e.message}`, e);
    throw err;
  }
}

export const handler = middy(run)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
