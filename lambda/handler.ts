/**
 * Lambda entry point: a thin shell that validates configuration at cold start, reads the event and wires the
 * SDK clients, Powertools Logger/Metrics and the clock into runDetection. A failed run fails the invocation
 * (so alarms, retries and the on-failure destination see it).
 */

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Context } from "aws-lambda";
import { AlertLedger } from "./adapters/alert-ledger.js";
import { type DetectorConfig, loadConfig } from "./config.js";
import { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME } from "./names.js";
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

// Built once per execution environment and reused across invocations.
const logs = new CloudWatchLogsClient({});
const sns = new SNSClient({});
const ledger = config?.alertStateTable
  ? new AlertLedger(new DynamoDBClient({}), config.alertStateTable)
  : undefined;

export async function handler(
  event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis">,
): Promise<RunSummary> {
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
      logs,
      sns,
      log: logger,
      metrics,
      region: process.env.AWS_REGION ?? "us-east-1",
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      ledger,
    });
    metrics.addMetric("RunSucceeded", MetricUnit.Count, 1);
    logger.info("run complete", { ...summary });
    return summary;
  } catch (err) {
    metrics.addMetric("RunFailed", MetricUnit.Count, 1);
    const e = err as Error;
    // One line with the reason; the error class tells configuration, event, query and publish failures apart.
    logger.error(`run failed: ${e.name}: ${e.message}`, { errorName: e.name });
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
